/**
 * Markdown within a pull-request comment: GitHub refuses comments over 65,536 characters. A report of
 * thousands of differences is trimmed with counts ("… and 1,234 more differences"), between whole
 * table rows and list items, never inside a table, a code fence or a <details> block.
 */
import { describe, expect, it } from 'vitest';
import type { Difference } from '../../src/diff/model.js';
import type { Report } from '../../src/report/model.js';
import { defaultMarkdownMaxBytes, renderMarkdown } from '../../src/report/render-markdown.js';
import { buildReportView } from '../../src/report/view.js';
import { findCutMarkdown } from '../helpers/markdown.js';
import { buildFixedReport, fakeDigest } from './fixed-report.js';

const githubCommentLimit = 65536;

/** `count` changed files over layers 0 and 1, each with a diff, a hexdump or a decoded field, and `fields` changed config fields. */
function manyDifferences(count: number, fields: number): Difference[] {
  const differences: Difference[] = [];
  for (let index = 0; index < fields; index++) {
    differences.push({ kind: 'config-field', path: `/config/Labels/build.${index}`, a: `value a ${index} |`, b: `value b ${index} |`, neutralized: false, cause: null });
  }
  for (let index = 0; index < count; index++) {
    const file = `srv/data/${String(index).padStart(5, '0')}/file.bin`;
    const detail: Difference['detail'] =
      index % 3 === 0
        ? { format: 'unified', diff: `--- a/${file}\n+++ b/${file}\n@@ -1,2 +1,2 @@\n-line ${index} | a\n+line ${index} | b\n \`\`\`\n` }
        : index % 3 === 1
          ? { format: 'binary', sizeA: 64, sizeB: 64, digestA: fakeDigest(`ca${index}`), digestB: fakeDigest(`cb${index}`), differingBytes: 1, ranges: [{ start: 8, end: 9, hexA: ['00000000  01 01'], hexB: ['00000000  02 02'] }], moreRanges: 0 }
          : undefined;
    differences.push({
      kind: 'file-attribute',
      path: `layers/${index % 2}/${file}#content`,
      layer: index % 2,
      file,
      attribute: 'content',
      a: fakeDigest(`a${index}`),
      b: fakeDigest(`b${index}`),
      neutralized: false,
      cause: null,
      ...(detail ? { detail } : {}),
    });
  }
  return differences;
}

/** The fixed report with `extra` more layers, each with a long step. */
function withLayers(report: Report, extra: number): Report {
  for (let index = 2; index < 2 + extra; index++) {
    const side = { ...(report.b.layers[1] as Report['b']['layers'][number]), index, step: `RUN ./step-${index}.sh --with a | long list of arguments ${'x'.repeat(60)}` };
    report.a.layers.push(side);
    report.b.layers.push(side);
    report.layers.push({ index, status: 'identical', step: side.step, a: side, b: side, counts: { added: 0, removed: 0, changed: 0 } });
  }
  return report;
}

function render(report: Report, maxBytes?: number): string {
  return renderMarkdown(buildReportView(report), maxBytes === undefined ? {} : { maxBytes });
}

describe('markdown within a pull-request comment', () => {
  it('trims 5,000 differing files and 1,500 config fields with counts, tables whole', () => {
    const markdown = render(buildFixedReport(manyDifferences(5000, 1500)));
    expect(markdown.length).toBeLessThan(githubCommentLimit);
    expect(Buffer.byteLength(markdown)).toBeLessThanOrEqual(defaultMarkdownMaxBytes);
    expect(findCutMarkdown(markdown)).toEqual([]);
    // The config table is cut between rows, with its count inside the block, and the rest counted at the end.
    const shownFields = markdown.match(/^\| `\/config\/Labels\/build\.\d+` \|/gm)?.length ?? 0;
    expect(shownFields).toBeGreaterThan(100);
    expect(shownFields).toBeLessThan(1500);
    const inConfig = /_… and ([\d,]+) more differences in config, not shown to fit a pull-request comment\._/.exec(markdown);
    expect(inConfig).not.toBeNull();
    const total = /_Cut to fit 60 KB: … and ([\d,]+) more differences not shown \(part of config, layer 0, layer 1\)/.exec(markdown);
    expect(total).not.toBeNull();
    const number = (text: string | undefined) => Number((text ?? '').replaceAll(',', ''));
    // Every remaining difference is either shown or counted: the config fields and the files.
    const shownFiles = markdown.match(/^- `srv\/data\//gm)?.length ?? 0;
    expect(shownFields + shownFiles + number(total?.[1])).toBe(1500 + 5000);
    expect(number(inConfig?.[1])).toBe(1500 - shownFields);
    expect(total?.[1]).toMatch(/^\d{1,3}(,\d{3})+$/);
  });

  it('keeps the layer table whole and counts the layers it cannot show', () => {
    const markdown = render(withLayers(buildFixedReport(manyDifferences(50, 0)), 1200));
    expect(Buffer.byteLength(markdown)).toBeLessThanOrEqual(defaultMarkdownMaxBytes);
    expect(findCutMarkdown(markdown)).toEqual([]);
    const shown = markdown.match(/^\| \d+ \| `RUN \.\/step-/gm)?.length ?? 0;
    expect(shown).toBeGreaterThan(10);
    expect(markdown).toContain(`_… and ${(1200 - shown).toLocaleString('en-US')} more layers not shown; the JSON report has them._`);
    // The layer table leaves room for the differences.
    expect(markdown.match(/^- `srv\/data\//gm)?.length ?? 0).toBeGreaterThan(0);
  });

  it('fits any cap, cutting only between whole blocks', () => {
    const report = withLayers(buildFixedReport(manyDifferences(800, 200)), 40);
    for (const maxBytes of [1500, 2500, 4000, 8000, 16_000, 32_000]) {
      const markdown = render(report, maxBytes);
      expect(Buffer.byteLength(markdown), `cap ${maxBytes}`).toBeLessThanOrEqual(maxBytes);
      expect(findCutMarkdown(markdown), `cap ${maxBytes}`).toEqual([]);
      expect(markdown.startsWith('## oci-repro: not reproducible, gate failed')).toBe(true);
      expect(markdown).toMatch(/Cut to fit|more layers not shown/);
    }
  });

  it('the checker finds a table or a fence cut in the middle', () => {
    const whole = render(buildFixedReport(manyDifferences(30, 3)));
    expect(findCutMarkdown(whole)).toEqual([]);
    const tableRow = whole.indexOf('| `/config/Labels/build.1`');
    expect(findCutMarkdown(`${whole.slice(0, tableRow + 10)}\nafter`).length).toBeGreaterThan(0);
    const fence = whole.indexOf('```diff');
    expect(findCutMarkdown(whole.slice(0, fence + 30))).toContain('a code fence is not closed');
  });
});
