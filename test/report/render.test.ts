import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { OciReproError } from '../../src/errors.js';
import type { Report } from '../../src/report/model.js';
import type { Difference } from '../../src/diff/model.js';
import { type ReportFormat, renderReport, reportFormats } from '../../src/report/render.js';
import { escapeXml } from '../../src/report/render-junit.js';
import { code, defaultMarkdownMaxBytes } from '../../src/report/render-markdown.js';
import { summarize } from '../../src/report/summary.js';
import { buildFixedReport, checkGolden, fakeDigest, rawDifferences } from './fixed-report.js';

const goldenNames: Record<ReportFormat, string> = {
  text: 'fixed.txt',
  json: 'fixed.json',
  markdown: 'fixed.md',
  junit: 'fixed.xml',
  html: 'fixed.html',
};
const ansi = /\u001b\[/;

/** The fixed report made identical: same digests both sides, no differences. */
function identicalReport(): Report {
  const report = buildFixedReport([]);
  const b = structuredClone(report.a);
  b.reference = 'oci-archive:build-b.tar';
  return {
    ...report,
    verdict: 'identical',
    reason: 'the images are identical',
    passed: true,
    b,
    layers: report.layers.map((layer, index) => ({ ...layer, status: 'identical', a: report.a.layers[index] ?? null, b: b.layers[index] ?? null })),
  };
}

/** Strings that break naive XML, Markdown and terminals, and a layer present in B only. */
function hostileReport(): Report {
  const nasty = 'a|b <c> & "d" \'e\' ]]> `f` ``g`` \u0001\u0007 \ud83d\ude00 \ud800 *h* _i_ [j](k)';
  const differences: Difference[] = [
    ...rawDifferences(),
    {
      kind: 'file-attribute',
      path: 'layers/1/opt/app/notes.md#content',
      layer: 1,
      file: `opt/app/${nasty}.md`,
      attribute: 'content',
      a: fakeDigest('x'),
      b: fakeDigest('y'),
      neutralized: false,
      cause: null,
      // A context line of ``` could close a ``` fence: the fence must be longer.
      detail: { format: 'unified', diff: `--- a\n+++ b\n@@ -1,2 +1,2 @@\n-${nasty}\n+done\n \`\`\`\n` },
    },
    { kind: 'config-field', path: '/config/Env/3', a: `X=${nasty}`, b: null, neutralized: false, cause: null },
  ];
  const report = buildFixedReport(differences);
  const extra = { ...(report.b.layers[1] as Report['b']['layers'][number]), index: 2, step: `RUN echo "${nasty}" | tee /x` };
  report.b.layers.push(extra);
  report.layers.push({ index: 2, status: 'missing', step: extra.step, a: null, b: extra, counts: { added: 1, removed: 0, changed: 0 } });
  report.reason = `hostile: ${nasty}`;
  return report;
}

describe('renderers', () => {
  it.for(reportFormats)('%s matches its golden', async (format, context) => {
    const actual = renderReport(buildFixedReport(), format, { color: false });
    const golden = await checkGolden(goldenNames[format], actual, (note) => context.skip(note));
    expect(actual).toBe(golden);
  });

  it('json is the report itself, with full digests and modes spelled in octal', () => {
    const report = buildFixedReport();
    const json = renderReport(report, 'json', { color: false });
    const modes = (differences: readonly { attribute?: string; a: unknown; b: unknown }[]) =>
      differences.filter((difference) => difference.attribute === 'mode').map(({ a, b }) => [a, b]);
    expect(modes(report.differences)).toEqual([[0o755, 0o644]]);
    expect(modes((JSON.parse(json) as Report).differences)).toEqual([['0755', '0644']]);
    // Everything else as it is, but for the step that wrote each file (view.test.ts checks it).
    const withoutModes = (value: { differences: { attribute?: string; writtenBy?: unknown }[] }) => ({
      ...value,
      differences: value.differences.filter((difference) => difference.attribute !== 'mode').map(({ writtenBy: _step, ...difference }) => difference),
    });
    expect((JSON.parse(json) as { differences: { writtenBy?: unknown }[] }).differences.some((difference) => typeof difference.writtenBy === 'string')).toBe(true);
    expect(withoutModes(JSON.parse(json) as Report)).toEqual(withoutModes(JSON.parse(JSON.stringify(report)) as Report));
    expect(json).toContain(report.a.layers[1]?.canonicalDiffId);
  });

  it('colours text only when asked, and never other formats', () => {
    const report = buildFixedReport();
    expect(renderReport(report, 'text', { color: false })).not.toMatch(ansi);
    expect(renderReport(report, 'text', { color: true })).toMatch(ansi);
    for (const format of ['json', 'markdown', 'junit'] as const) {
      expect(renderReport(report, format, { color: true })).not.toMatch(ansi);
    }
  });

  it('text shows the summary first, then the chain, then details', () => {
    const text = renderReport(buildFixedReport(), 'text', { color: false });
    const order = ['NOT REPRODUCIBLE, gate FAILED', 'Summary', 'apt-logs: apt and dpkg logs', 'fix: delete them', 'Identity chain', 'Details'];
    const positions = order.map((needle) => text.indexOf(needle));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((x, y) => x - y)).toEqual(positions);
    // Where both sides show, digests are short; where they are equal, the one digest is full.
    const report = buildFixedReport();
    expect(text).toMatch(/canonical diff_id\s+sha256:[0-9a-f]{12} {2}sha256:[0-9a-f]{12} {2}differs {2}<- the chain breaks here/);
    expect(text).toContain(`${report.a.layers[0]?.diffId}  same`);
  });

  it('text fits 100 columns outside file contents', () => {
    for (const report of [buildFixedReport(), hostileReport(), identicalReport()]) {
      const contentLines = new Set(
        report.differences.flatMap((difference) =>
          difference.detail?.format === 'unified' ? difference.detail.diff.split('\n').map((line) => line.trim()) : [],
        ),
      );
      const text = renderReport(report, 'text', { color: false });
      for (const line of text.split('\n')) {
        if (contentLines.has(line.trim()) || line.includes('opt/app/a|b')) continue;
        expect([...line].length, line).toBeLessThanOrEqual(100);
      }
    }
  });

  it('text and markdown show control characters from the images as visible escapes', () => {
    for (const format of ['text', 'markdown'] as const) {
      const output = renderReport(hostileReport(), format, { color: false });
      expect(output).toContain('\\x01\\x07');
      expect(output).not.toMatch(/[\u0001\u0007]/);
      expect(output).toContain('only in B');
    }
  });

  it('text lists neutralized differences only when verbose', () => {
    const report = buildFixedReport();
    const normal = renderReport(report, 'text', { color: false });
    const verbose = renderReport(report, 'text', { color: false, verbose: true });
    expect(normal).not.toContain('/history/1/created');
    expect(normal).toContain('+ 4 neutralized: config-created 1, created-label 1, history-created 1, host-fields 1');
    expect(verbose).toContain('/history/1/created');
    expect(verbose).toContain('[neutralized]');
  });

  it('renders an identical report in every format', () => {
    const report = identicalReport();
    expect(renderReport(report, 'text', { color: false })).toContain('IDENTICAL, gate passed');
    expect(renderReport(report, 'markdown', { color: false })).toContain('## oci-repro: identical, gate passed');
    const junit = renderReport(report, 'junit', { color: false });
    expect(junit).toContain('failures="0"');
    checkWellFormedXml(junit);
  });

  it('rejects an unknown format as a usage error', () => {
    expect(() => renderReport(buildFixedReport(), 'sarif' as ReportFormat, { color: false })).toThrow(OciReproError);
  });
});

describe('markdown', () => {
  it('escapes table cells and picks fences longer than the content', () => {
    const markdown = renderReport(hostileReport(), 'markdown', { color: false });
    // The pipe of `| tee` must not split the layer table's cell.
    const row = markdown.split('\n').find((line) => line.startsWith('| 2 |')) ?? '';
    expect(row).toContain('\\| tee');
    expect(row.split(/(?<!\\)\|/).length).toBe(9);
    expect(row).toContain('only in B');
    // The diff holds a ``` context line, so its fence is longer.
    expect(markdown).toContain('  ````diff');
    // Outside code, HTML is escaped.
    expect(stripCode(markdown)).not.toContain('<c>');
    expect(stripCode(markdown)).toContain('&lt;c&gt;');
    expect(code('a`b')).toBe('``a`b``');
    expect(code('`x`')).toBe('`` `x` ``');
    expect(code('a|b')).toBe('`a\\|b`');
    expect(code('a|b', false)).toBe('`a|b`');
  });

  it('caps its size and says what was cut', () => {
    const big = 'x'.repeat(2000);
    const differences: Difference[] = Array.from({ length: 80 }, (_, index) => ({
      kind: 'file-attribute',
      path: `layers/1/srv/file${index}#content`,
      layer: index % 2,
      file: `srv/file${index}`,
      attribute: 'content',
      a: fakeDigest(`a${index}`),
      b: fakeDigest(`b${index}`),
      neutralized: false,
      cause: null,
      detail: { format: 'unified', diff: `@@ -1 +1 @@\n-${big}\n+${big}y\n` },
    }));
    const report = buildFixedReport(differences);
    const full = renderReport(report, 'markdown', { color: false });
    expect(Buffer.byteLength(full)).toBeLessThanOrEqual(defaultMarkdownMaxBytes);
    expect(full).toMatch(/_Cut to fit 60 KB: … and \d+ more differences not shown \(part of layer 0, layer 1\); the JSON report/);
    expect(full).toContain('srv/file0');
    expect(full.match(/<details>/g)?.length).toBe(full.match(/<\/details>/g)?.length);

    const tiny = renderReport(report, 'markdown', { color: false, maxBytes: 2000 });
    expect(Buffer.byteLength(tiny)).toBeLessThanOrEqual(2000);
    expect(tiny).toContain('Cut to fit');
    expect(tiny.startsWith('## oci-repro: not reproducible, gate failed')).toBe(true);
  });

  it('shows the fix where something still blocks', () => {
    const markdown = renderReport(buildFixedReport(), 'markdown', { color: false });
    expect(markdown).toContain('`rm -f /var/cache/ldconfig/aux-cache`');
    expect(markdown).toMatch(/\| apt and dpkg logs \(`apt-logs`\) \| 1 \| 0 \| 0 \| \*\*1\*\* \| delete them/);
  });
});

describe('junit', () => {
  it('is well-formed, with failures only for remaining differences not accepted', () => {
    const xml = renderReport(buildFixedReport(), 'junit', { color: false });
    checkWellFormedXml(xml);
    expect(xml).toContain('<testsuites name="oci-repro" tests="4" failures="3" errors="0">');
    expect(xml).toMatch(/<testcase classname="oci-repro.layers" name="layer 0: [^"]*">\n\s*<system-out>/);
    // The accepted .pyc is listed, not failed.
    const layer1 = xml.slice(xml.indexOf('name="layer 1'));
    expect(layer1.slice(0, layer1.indexOf('<system-out>'))).not.toContain('ssl.cpython-311.pyc');
    expect(layer1).toContain('accepted by accept[0] (bytecode caches are rebuilt on first import)');
  });

  it('escapes anything a file name or diff can hold', () => {
    const xml = renderReport(hostileReport(), 'junit', { color: false });
    checkWellFormedXml(xml);
    expect(xml).toContain('\\u0001\\u0007');
    expect(xml).toContain('\ud83d\ude00');
    expect(xml).toContain('\\ud800');
    expect(xml).toContain('name="layer 2: RUN echo &quot;a|b &lt;c&gt; &amp;');
    expect(escapeXml('a\nb')).toBe('a&#10;b');
    expect(escapeXml('a\nb', false)).toBe('a\nb');
  });

  it('passes xmllint when it is installed', (context) => {
    if (spawnSync('xmllint', ['--version']).error) context.skip('xmllint not installed (Debian: libxml2-utils)');
    for (const report of [buildFixedReport(), hostileReport()]) {
      execFileSync('xmllint', ['--noout', '-'], { input: renderReport(report, 'junit', { color: false }) });
    }
  });
});

describe('summary fields the renderers rely on', () => {
  it('are recomputed the same way', () => {
    const report = buildFixedReport();
    expect(summarize(report.differences, report.layers)).toEqual(report.summary);
  });
});

/** Markdown without its fenced blocks and code spans. */
function stripCode(markdown: string): string {
  let fence: string | null = null;
  const kept: string[] = [];
  for (const line of markdown.split('\n')) {
    const marker = /^\s*(`{3,})/.exec(line)?.[1];
    if (fence === null && marker) fence = marker;
    else if (fence !== null && marker === fence) fence = null;
    else if (fence === null) kept.push(line.replace(/(`+)[^`][\s\S]*?[^`]?\1(?!`)/g, ''));
  }
  return kept.join('\n');
}

/**
 * A small XML 1.0 well-formedness check for what the JUnit renderer writes: one root, balanced
 * tags, quoted unique attributes, known entities only, no raw `<` or `&`, only valid characters.
 */
function checkWellFormedXml(xml: string): void {
  const fail = (what: string, at: number) => {
    throw new Error(`not well-formed XML: ${what} at ${at}: ${JSON.stringify(xml.slice(at, at + 60))}`);
  };
  const invalidChar = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  const entity = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;
  const checkText = (text: string, at: number, inAttribute: boolean) => {
    if (invalidChar.test(text)) fail('invalid character', at);
    for (let index = text.indexOf('&'); index >= 0; index = text.indexOf('&', index + 1)) {
      if (!entity.test(text.slice(index))) fail('bad entity', at + index);
    }
    if (inAttribute && text.includes('<')) fail('< in attribute', at);
  };
  if (!xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>')) fail('no XML declaration', 0);
  let position = xml.indexOf('?>') + 2;
  const stack: string[] = [];
  let roots = 0;
  const name = '[A-Za-z_][A-Za-z0-9_.-]*';
  const openTag = new RegExp(`^<(${name})((?:\\s+${name}="[^"]*")*)\\s*(/?)>`);
  const closeTag = new RegExp(`^</(${name})\\s*>`);
  while (position < xml.length) {
    const next = xml.indexOf('<', position);
    const text = xml.slice(position, next < 0 ? xml.length : next);
    checkText(text, position, false);
    if (stack.length === 0 && text.trim() !== '') fail('text outside the root', position);
    if (next < 0) break;
    const rest = xml.slice(next);
    const close = closeTag.exec(rest);
    if (close) {
      if (stack.pop() !== close[1]) fail(`mismatched </${close[1]}>`, next);
      position = next + close[0].length;
      continue;
    }
    const open = openTag.exec(rest);
    if (!open) fail('bad tag', next);
    const [whole, tag = '', attributes = '', selfClosing] = open as RegExpExecArray;
    const names = new Set<string>();
    for (const attribute of attributes.matchAll(new RegExp(`(${name})="([^"]*)"`, 'g'))) {
      if (names.has(attribute[1] ?? '')) fail(`duplicate attribute ${attribute[1]}`, next);
      names.add(attribute[1] ?? '');
      checkText(attribute[2] ?? '', next, true);
    }
    if (stack.length === 0) roots += 1;
    if (!selfClosing) stack.push(tag);
    position = next + whole.length;
  }
  if (stack.length > 0) fail(`unclosed <${stack.at(-1)}>`, xml.length);
  if (roots !== 1) fail(`${roots} root elements`, 0);
}

describe('reports that read right', () => {
  /** The fixed report with every remaining difference accepted by a rule with a long reason. */
  function allAcceptedReport(): Report {
    const report = buildFixedReport();
    const reason = 'accepted until the platform team ships base image 2024.06, which rebuilds these files at start-up (JIRA PLAT-1234)';
    const differences = report.differences.map((difference) =>
      difference.neutralized ? difference : { ...difference, accepted: { rule: 'accept[12]', reason } },
    );
    return { ...report, passed: true, differences, summary: summarize(differences, report.layers) };
  }

  it('text: a long policy reason keeps the 100-column rule, and every accepted difference still says so', () => {
    const report = allAcceptedReport();
    const text = renderReport(report, 'text', { color: false });
    const contentLines = new Set(report.differences.flatMap((d) => (d.detail?.format === 'unified' ? d.detail.diff.split('\n') : [])));
    for (const line of text.split('\n')) {
      if (contentLines.has(line.trimStart()) || contentLines.has(line.slice(8))) continue;
      expect([...line].length, line).toBeLessThanOrEqual(100);
    }
    // Each mark whole once the wrapping is undone.
    const marks = text.replace(/\n +/g, ' ').match(/\[accepted by accept\[12\]: accepted until [^\]]+\]/g) ?? [];
    expect(marks).toHaveLength(report.differences.filter((d) => !d.neutralized).length);
  });

  it('text and markdown: accepted differences are not remaining, in the words, the table and the lists', () => {
    const report = allAcceptedReport();
    const text = renderReport(report, 'text', { color: false });
    const unwrap = (output: string) => output.replace(/\n +/g, ' ');
    expect(unwrap(text)).toContain('13 differences: 8 neutralized by normalization, 5 accepted by policy, 0 remaining');
    expect(text).not.toMatch(/\d+ remaining \(\d+ accepted/);
    // The table's remaining column is 0 everywhere, as the words say.
    const rows = text.split('\n').filter((line) => /^ {2,}\d+ {2,}\d+ {2,}\d+ {2,}\d+ {2}\S/.test(line));
    expect(rows.length).toBeGreaterThan(3);
    for (const row of rows) expect(row.trim().split(/\s+/)[0], row).toBe('0');
    expect(text).not.toContain('Layers with remaining differences');
    expect(text).not.toContain('Files with remaining differences');
    expect(text).toMatch(/^layer 1: RUN apt-get .*… {2}0 remaining, 4 accepted, 3 neutralized$/m);
    const markdown = renderReport(report, 'markdown', { color: false });
    expect(markdown).toContain('13 differences: 8 neutralized by normalization, 5 accepted by policy, 0 remaining.');
    expect(markdown).toMatch(/^\| 1 \| .* \| 0 \|$/m);
    // Accepted differences keep their details.
    expect(markdown).toContain('0 remaining, 4 accepted, 3 neutralized</summary>');

    // Some accepted: the lists hold only what still blocks.
    const fixed = renderReport(buildFixedReport(), 'text', { color: false });
    expect(unwrap(fixed)).toContain('13 differences: 8 neutralized by normalization, 1 accepted by policy, 4 remaining (1 with no known cause)');
    const files = fixed.slice(fixed.indexOf('Files with remaining differences'), fixed.indexOf('Identity chain'));
    expect(files).toContain('var/log/apt/history.log');
    expect(files).not.toContain('ssl.cpython-311.pyc');
    expect(fixed).toMatch(/layer 1 +3 remaining/);
  });

  /** Two images without and with a manifest (legacy docker-archive vs oci-archive), the same otherwise. */
  function legacyReport(bothLegacy: boolean): Report {
    const report = identicalReport();
    return {
      ...report,
      a: { ...report.a, manifestDigest: bothLegacy ? null : report.a.manifestDigest, manifestMediaType: null },
      b: { ...report.b, manifestDigest: null, manifestMediaType: null },
    };
  }

  it.each([
    ['an oci-archive and a legacy docker-archive', false],
    ['two legacy docker-archives', true],
  ])('a missing manifest digest is not comparable: %s', (_name, bothLegacy) => {
    const report = legacyReport(bothLegacy);
    const text = renderReport(report, 'text', { color: false });
    const manifestLine = text.split('\n').find((line) => line.startsWith('  manifest digest')) ?? '';
    expect(manifestLine).toMatch(/not comparable$/);
    expect(manifestLine).not.toMatch(/same|differs/);
    expect(text).not.toContain('the chain breaks here');
    const markdown = renderReport(report, 'markdown', { color: false });
    const row = markdown.split('\n').find((line) => line.startsWith('| manifest digest')) ?? '';
    expect(row).toMatch(/\| not comparable \|$/);
    expect(markdown).not.toContain('the chain breaks here');
  });

  /** Two layers in A, squashed into one in B; the changed file came from A's layer 1 and B's layer 0. */
  function flattenedReport(): Report {
    const changed: Difference = {
      kind: 'file-attribute',
      path: 'fs/opt/app/app.conf#content',
      layer: 1,
      origin: { a: 1, b: 0 },
      file: 'opt/app/app.conf',
      attribute: 'content',
      a: fakeDigest('conf-a'),
      b: fakeDigest('conf-b'),
      neutralized: false,
      cause: null,
    };
    const differences = [{ kind: 'layer-count', path: 'layers', a: 2, b: 1, neutralized: false, cause: null } satisfies Difference, changed];
    const flat = buildFixedReport(differences);
    const layers = flat.layers.map((layer) => (layer.index === 0 ? { ...layer, status: 'content' as const } : { ...layer, status: 'missing' as const, b: null }));
    return { ...flat, flattened: true, layers, summary: summarize(flat.differences, layers) };
  }

  it('flattened: a different layer count has a known cause, and each layer counts the files it holds on either side', () => {
    const report = flattenedReport();
    expect(report.differences.find((d) => d.kind === 'layer-count')?.cause?.id).toBe('layer-count');
    const markdown = renderReport(report, 'markdown', { color: false });
    expect(markdown).toMatch(/^\| 0 \| .* \| content differs \| .* \| 1 \|$/m);
    expect(markdown).toMatch(/^\| 1 \| .* \| only in A \| .* \| 1 \|$/m);
    expect(markdown).toContain('`opt/app/app.conf` (A: layer 1, B: layer 0) **content**');
    expect(markdown).toContain('<details><summary>flattened filesystem: 1 remaining</summary>');
    const text = renderReport(report, 'text', { color: false });
    expect(text).toMatch(/layer 0 +1 remaining/);
    expect(text).toMatch(/layer 1 +1 remaining/);
    expect(text).toContain('  opt/app/app.conf  (A: layer 1, B: layer 0)');
    expect(text).toMatch(/fs +opt\/app\/app\.conf {2}content/);
  });

  it('markdown: a binary change is a paragraph of its list item, one arrow style, and diffs keep blank context lines', () => {
    const markdown = renderReport(buildFixedReport(), 'markdown', { color: false });
    const lines = markdown.split('\n');
    const binary = lines.findIndex((line) => line.startsWith('  binary: '));
    expect(binary).toBeGreaterThan(0);
    expect(lines[binary - 1]).toBe('');
    expect(lines[binary]).toMatch(/^ {2}binary: 64218 bytes `sha256:[0-9a-f]{12}` -> 64218 bytes `sha256:[0-9a-f]{12}`$/);
    expect(markdown).not.toContain('→');
    // The history.log diff's first context line is one space (an empty line of the file), after the indent.
    const hunk = lines.findIndex((line) => line === '  @@ -1,5 +1,5 @@');
    expect(lines[hunk + 1]).toBe('   ');
    const text = renderReport(buildFixedReport(), 'text', { color: false }).split('\n');
    const textHunk = text.findIndex((line) => line.trim() === '@@ -1,5 +1,5 @@');
    expect(text[textHunk + 1]).toBe(`${' '.repeat(8)} `);
  });
});

describe('neutralized differences counted but not listed (Report.omitted)', () => {
  /** The fixed report as verify makes it when layer 0 had 1000 more mtimes and the config 5 more history dates. */
  function foldedReport(): Report {
    const report = buildFixedReport();
    const omitted: Report['omitted'] = [
      { scope: 'config', cause: 'history-created', count: 5 },
      { scope: 'layers/0', cause: 'file-mtime', count: 1000 },
    ];
    return { ...report, omitted, summary: summarize(report.differences, report.layers, {}, omitted) };
  }

  it('text: counted in the counts line, in each group and its causes; verbose says how many are not listed', () => {
    const text = renderReport(foldedReport(), 'text', { color: false });
    expect(text.replace(/\s+/g, ' ')).toContain('1018 differences: 1013 neutralized by normalization (1005 of them not listed: use --all-differences)');
    expect(text).toMatch(/layer 0: .*0 remaining, 1001 neutralized\n {2}\+ 1001 neutralized: file-mtime 1000, layer-compression 1\n/);
    expect(text).toMatch(/\+ \d+ neutralized: history-created \d+/);
    expect(text).not.toContain('more neutralized differences not listed');
    const verbose = renderReport(foldedReport(), 'text', { color: false, verbose: true });
    expect(verbose).toMatch(/\[layer-compression\]\n {2}1000 more neutralized differences not listed \(use --all-differences\)\n/);
    expect(verbose).toContain('  5 more neutralized differences not listed (use --all-differences)');
  });

  it('markdown and junit: the same counts, and where the rest went', () => {
    const markdown = renderReport(foldedReport(), 'markdown', { color: false });
    expect(markdown).toContain('(1005 of them not listed: use --all-differences)');
    expect(markdown).toMatch(/\| file modification times differ \(`file-mtime`\) \| 1002 \| 1002 \| 0 \| 0 \|/);
    const junit = renderReport(foldedReport(), 'junit', { color: false });
    expect(junit).toContain('1005 more neutralized differences not listed (use --all-differences)');
    expect(junit).toContain('1001 neutralized by normalization: file-mtime 1000, layer-compression 1');
  });

  it('a scope with only omitted differences still gets its group', () => {
    const report = buildFixedReport();
    const omitted: Report['omitted'] = [{ scope: 'fs', cause: 'file-mtime', count: 3 }];
    const text = renderReport({ ...report, omitted, summary: summarize(report.differences, report.layers, {}, omitted) }, 'text', { color: false });
    expect(text).toContain('flattened filesystem  0 remaining, 3 neutralized\n  + 3 neutralized: file-mtime 3\n');
  });
});
