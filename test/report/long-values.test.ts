// Two long values that differ near their end must render differently in every format that cuts them:
// before elide.ts, text, markdown and junit each showed both sides as the same cut prefix.
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/model.js';
import type { Difference } from '../../src/diff/model.js';
import { renderReport } from '../../src/report/render.js';
import { buildFixedReport, rawDifferences } from './fixed-report.js';

const packages = 'libssl-dev libffi-dev zlib1g-dev '.repeat(8);
const runA = `/bin/sh -c apt-get update && apt-get install -y --no-install-recommends ${packages}python3=3.11.2-6`;
const runB = `/bin/sh -c apt-get update && apt-get install -y --no-install-recommends ${packages}python3=3.11.2-7`;
const stepA = runA.replace('/bin/sh -c ', 'RUN ');
const stepB = runB.replace('/bin/sh -c ', 'RUN ');

/** The fixed report, with layer 1 made by a RUN line that differs in its last character. */
function longRunReport(): Report {
  const createdBy: Difference = { kind: 'config-field', path: '/history/1/created_by', a: runA, b: runB, neutralized: false, cause: null };
  const report = buildFixedReport([...rawDifferences(), createdBy]);
  const [a, b] = [report.a.layers[1], report.b.layers[1]];
  if (!a || !b) throw new Error('the fixed report has two layers');
  a.step = stepA;
  b.step = stepB;
  const layer = report.layers[1];
  if (layer) Object.assign(layer, { step: stepA, a, b });
  return report;
}

/** The two sides of `A -> B`; the arrow is escaped as `-&gt;` in XML. */
function sides(change: string): [string, string] {
  const parts = change.split(/ -(?:>|&gt;) /);
  expect(parts, change).toHaveLength(2);
  return [parts[0] ?? '', parts[1] ?? ''];
}

/** Each side shows its own end of the line (the only place they differ), and the sides differ. */
function expectDifferentEnds([a, b]: [string, string]): void {
  expect(a).not.toBe(b);
  expect(a).toContain('python3=3.11.2-6');
  expect(b).toContain('python3=3.11.2-7');
  // Cut: the common prefix is elided, not shown whole.
  expect(a).toContain('…');
  expect(a).not.toContain('apt-get update');
}

describe('long RUN lines that differ near the end', () => {
  it('are 300 characters long and differ in one character', () => {
    expect(runA.length).toBeGreaterThanOrEqual(300);
    expect([...runA].filter((char, index) => char !== runB[index])).toHaveLength(1);
  });

  it('text: the created_by change and the layer steps show where they differ', () => {
    const text = renderReport(longRunReport(), 'text', { color: false });
    const line = text.split('\n').find((entry) => entry.trimStart().startsWith('/history/1/created_by'));
    expect(line).toBeDefined();
    expectDifferentEnds(sides((line ?? '').trim().replace(/^\/history\/1\/created_by\s+/, '')));
    const stepA = text.split('\n').find((entry) => entry.trimStart().startsWith('step in A'));
    const stepB = text.split('\n').find((entry) => entry.trimStart().startsWith('step in B'));
    expectDifferentEnds([stepA ?? '', stepB ?? ''].map((entry) => entry.replace(/^\s*step in [AB]\s+/, '')) as [string, string]);
    for (const entry of [line, stepA, stepB]) expect(entry?.length, entry).toBeLessThanOrEqual(100);
  });

  it('markdown: the change cell and the layer table', () => {
    const markdown = renderReport(longRunReport(), 'markdown', { color: false });
    const row = markdown.split('\n').find((entry) => entry.startsWith('| `/history/1/created_by` |'));
    expect(row).toBeDefined();
    const cell = /^\| `[^`]+` \| `([^`]+)` \|/.exec(row ?? '')?.[1] ?? '';
    expectDifferentEnds(sides(cell));
    const layerRow = markdown.split('\n').find((entry) => entry.startsWith('| 1 | A: '));
    expect(layerRow).toBeDefined();
    const steps = /^\| 1 \| A: `([^`]+)`<br>B: `([^`]+)` \|/.exec(layerRow ?? '');
    expectDifferentEnds([steps?.[1] ?? '', steps?.[2] ?? '']);
  });

  it('junit: the failure line and the layer steps', () => {
    const xml = renderReport(longRunReport(), 'junit', { color: false });
    const line = xml.split('\n').find((entry) => entry.startsWith('/history/1/created_by: '));
    expect(line).toBeDefined();
    const change = (line ?? '').replace('/history/1/created_by: ', '').replace(/ \(cause: .*$/, '').replaceAll('&quot;', '"');
    expectDifferentEnds(sides(change));
    expect(line).toContain('[dockerfile-changed]');
    const stepA = /^step in A: (.*)$/m.exec(xml)?.[1] ?? '';
    const stepB = /^step in B: (.*)$/m.exec(xml)?.[1] ?? '';
    // Cut to 200 graphemes where they differ: the common start goes.
    expect(stepA).not.toBe(stepB);
    expect(stepA.startsWith('…')).toBe(true);
    expect(stepA.endsWith('python3=3.11.2-6')).toBe(true);
    expect(stepB.endsWith('python3=3.11.2-7')).toBe(true);
    expect([...stepA].length).toBeLessThanOrEqual(200);
  });
});
