/**
 * The inside-file details (decoded fields, timestamps-only text, binary ranges) in every format: each
 * renderer shows them, and the JSON report keeps them as data.
 */
import { describe, expect, it } from 'vitest';
import type { Difference } from '../../src/diff/model.js';
import { renderReport } from '../../src/report/render.js';
import { checkGolden } from '../helpers/golden.js';
import { buildFixedReport, fakeDigest, rawDifferences } from './fixed-report.js';
import { nestedFile, nestedMember, nestedReport } from './nested-report.js';

const hexA = ['00000010  00 11 22 33 44 55 66 77  88 99 aa bb cc dd ee ff  |.."3DUfw........|'];
const hexB = ['00000010  00 11 22 33 44 55 66 77  88 99 aa bb cc dd ee 00  |.."3DUfw........|'];

/** The fixed report with the pyc decoded, aux-cache's byte ranges read and the apt log timestamps-only. */
function insideReport() {
  const differences = rawDifferences().map((difference): Difference => {
    if (difference.kind !== 'file-attribute' || difference.attribute !== 'content') return difference;
    const facts = { sizeA: 64218, sizeB: 64218, digestA: fakeDigest('a'), digestB: fakeDigest('b') };
    if (difference.file.endsWith('.pyc')) {
      const records = 'the source file mtime the .pyc was compiled from';
      return { ...difference, detail: { format: 'decoded' as const, decoder: 'pyc', ...facts, changes: [{ where: 'header', field: 'source-mtime', a: '2026-12-05T10:55:42Z', b: '2026-12-05T11:00:01Z', records }] } };
    }
    if (difference.file.endsWith('aux-cache')) {
      return { ...difference, detail: { format: 'binary' as const, ...facts, differingBytes: 3, ranges: [{ start: 0x1f, end: 0x22, hexA, hexB }], moreRanges: 2 } };
    }
    if (difference.file.endsWith('history.log')) {
      return { ...difference, detail: { format: 'timestamps' as const, lines: 4, kinds: ['iso-8601'], example: { a: 'Start-Date: 2024-05-01  10:03:22', b: 'Start-Date: 2024-05-01  10:09:58' } } };
    }
    return difference;
  });
  return buildFixedReport(differences);
}

describe('inside-file details', () => {
  it('text: decoded fields with what they record, byte ranges as aligned hexdumps, one timestamps line and an example', () => {
    const text = renderReport(insideReport(), 'text', { color: false });
    expect(text).toContain('pyc, decoded: 1 field differs');
    expect(text).toContain('header source-mtime: 2026-12-05T10:55:42Z -> 2026-12-05T11:00:01Z');
    expect(text).toContain('the source file mtime the .pyc was compiled from');
    expect(text).toContain('3 bytes differ');
    expect(text).toContain('bytes 0x1f..0x22');
    const rowA = text.split('\n').find((line) => line.includes(`A ${hexA[0]}`));
    const rowB = text.split('\n').find((line) => line.includes(`B ${hexB[0]}`));
    expect(rowA?.indexOf('A ')).toBe(rowB?.indexOf('B '));
    expect(text).toContain('... 2 more ranges');
    expect(text).toContain('only timestamps differ (4 lines: iso-8601), for example:');
    expect(text).toContain('-Start-Date: 2024-05-01  10:03:22');
  });

  it('text: a decoded field of a long member name keeps the 100-column rule', () => {
    const report = insideReport();
    const pyc = report.differences.find((difference) => difference.detail?.format === 'decoded')!;
    const where = `lib/${'deeply/nested/'.repeat(10)}Member.class`;
    if (pyc.detail?.format === 'decoded') pyc.detail.changes[0]!.where = where;
    const text = renderReport(report, 'text', { color: false });
    const line = text.split('\n').find((each) => each.includes('lib/deeply/nested/'));
    expect(line).toBeDefined();
    expect(line!.length).toBeLessThanOrEqual(100);
    expect(JSON.stringify(JSON.parse(renderReport(report, 'json', { color: false })))).toContain(where);
  });

  it('markdown, junit and html show the same facts', () => {
    const report = insideReport();
    const markdown = renderReport(report, 'markdown', { color: false });
    expect(markdown).toContain('pyc, decoded:');
    expect(markdown).toMatch(/`header` \*\*source-mtime\*\*: `2026-12-05T10:55:42Z` -> `2026-12-05T11:00:01Z`/);
    expect(markdown).toContain(`A ${hexA[0]}`);
    expect(markdown).toContain('only timestamps differ (4 lines: iso-8601)');
    const junit = renderReport(report, 'junit', { color: false });
    // The pyc change is accepted (not a failure): junit's failures show the other two.
    expect(junit).toContain('3 bytes differ, first at 0x1f..0x22');
    expect(junit).toContain('only timestamps differ (4 lines)');
    const html = renderReport(report, 'html', { color: false });
    expect(html).toMatch(/<table class="decoded"><caption>pyc, decoded<\/caption>.*<td>source-mtime<\/td>/);
    expect(html).toContain(`<pre class="hexdump">bytes 0x1f..0x22\nA ${hexA[0]!.replace(/"/g, '&quot;')}`);
    expect(html).toContain('<pre class="timestamps">-Start-Date: 2024-05-01  10:03:22\n+Start-Date: 2024-05-01  10:09:58</pre>');
  });

  it('json keeps the details as data', () => {
    const json = JSON.parse(renderReport(insideReport(), 'json', { color: false })) as { differences: { file?: string; detail?: unknown }[] };
    const detailOf = (suffix: string) => json.differences.find((difference) => difference.file?.endsWith(suffix))?.detail;
    expect(detailOf('.pyc')).toMatchObject({ format: 'decoded', decoder: 'pyc', changes: [{ field: 'source-mtime', b: '2026-12-05T11:00:01Z' }] });
    expect(detailOf('aux-cache')).toMatchObject({ format: 'binary', differingBytes: 3, ranges: [{ start: 0x1f, end: 0x22, hexA }] });
    expect(detailOf('history.log')).toMatchObject({ format: 'timestamps', lines: 4 });
  });

  it('a member inside an archive inside a file: outer!/inner in every format, a tree of <details> in HTML', () => {
    const report = nestedReport();
    const file = nestedFile;
    const inner = nestedMember;
    const text = renderReport(report, 'text', { color: false });
    expect(text).toContain('tar.gz, decoded: 3 fields differ (2 members)');
    // The member path on its own line, its field under it.
    const lines = text.split('\n');
    const at = lines.findIndex((line) => line.trim() === inner);
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]!.trim()).toBe('dos-time: 2024-05-01 10:03:12 -> 2024-05-01 10:09:46');
    expect(text).toContain(`note: ${file}!/lib/inner.zip!/deep.tar`);
    for (const format of ['markdown', 'junit', 'json'] as const) expect(renderReport(report, format, { color: false }), format).toContain(inner);
    expect(renderReport(report, 'markdown', { color: false })).toContain('note: ');
    const html = renderReport(report, 'html', { color: false });
    // inner.zip's <details> holds x.txt's: the tree nests, and needs no script.
    expect(html).toMatch(new RegExp(`<details class="member" open><summary><code>${escapeRegExp(`${file}!/lib/inner.zip`)}</code>.*?<details class="member" open><summary><code>${escapeRegExp(inner)}</code>`));
    expect(html).not.toContain('<script');
  });

  it('an archive of many differing members: text, Markdown and JUnit list the first fields and count the rest; JSON keeps all', () => {
    const report = nestedReport();
    const bundle = report.differences.find((d) => d.file === nestedFile)!;
    if (bundle.detail?.format !== 'decoded') throw new Error('the nested report lost its detail');
    const records = 'when';
    bundle.detail.changes = Array.from({ length: 300 }, (_, i) => ({ where: `m${i}.class`, field: 'dos-time', a: '1', b: '2', records, member: [`m${i}.class`], path: `${nestedFile}!/m${i}.class` }));
    const text = renderReport(report, 'text', { color: false });
    expect(text).toContain(`${nestedFile}!/m59.class`);
    expect(text).not.toContain(`${nestedFile}!/m60.class`);
    expect(text).toContain('... 240 more fields (--format json has them all)');
    const markdown = renderReport(report, 'markdown', { color: false });
    expect(markdown).toContain('... 260 more fields');
    expect(markdown).not.toContain(`${nestedFile}!/m40.class`);
    const junit = renderReport(report, 'junit', { color: false });
    expect(junit).toContain('... 280 more fields');
    expect(renderReport(report, 'json', { color: false })).toContain(`${nestedFile}!/m299.class`);
  });

  it.for(['text', 'markdown', 'junit', 'json', 'html'] as const)('%s of the nested report matches golden/reports/nested', async (format, context) => {
    const extension = { text: 'txt', markdown: 'md', junit: 'xml', json: 'json', html: 'html' }[format];
    const actual = renderReport(nestedReport(), format, { color: false });
    expect(actual).toBe(await checkGolden(`reports/nested.${extension}`, actual, (note) => context.skip(note)));
  });
});

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
