// The view model every renderer reads (src/report/view.ts): groups and counts computed once, values
// as people read them, format-neutral strings; and the index and --expect views.
import { describe, expect, it } from 'vitest';
import { countBlockingByLayer, isBlocking } from '../../src/diff/count.js';
import type { Difference, EntryValue } from '../../src/diff/model.js';
import { buildExpectView, type ExpectReport, type IndexExpectReport } from '../../src/report/expect-model.js';
import { buildIndexView } from '../../src/report/index-view.js';
import type { IndexReport } from '../../src/report/index-model.js';
import type { Report } from '../../src/report/model.js';
import { renderReport } from '../../src/report/render.js';
import { describeChange } from '../../src/report/view-values.js';
import { buildReportView } from '../../src/report/view.js';
import { buildFixedReport, fakeDigest } from './fixed-report.js';

const entry: EntryValue = { type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, contentDigest: fakeDigest('x') };

/** The fixed report with file differences in a flattened comparison and on one side only added. */
function reportWith(extra: Difference[], changes: Partial<Report> = {}): Report {
  const report = buildFixedReport();
  return { ...report, ...changes, differences: [...report.differences, ...extra] };
}

const added = (file: string, fields: Partial<Difference> = {}): Difference =>
  ({ kind: 'file-added', path: `fs/${file}`, layer: 0, origin: { a: null, b: 0 }, file, a: null, b: entry, neutralized: false, cause: null, ...fields }) as Difference;

describe('buildReportView', () => {
  it('groups the config first, then layers by index, then the flattened filesystem, each difference once', () => {
    const report = reportWith([added('opt/new'), added('opt/a')]);
    const view = buildReportView(report);
    expect(view.groups.map((group) => group.scope)).toEqual(['config', 'layers/0', 'layers/1', 'fs']);
    expect(view.groups.map((group) => group.id)).toEqual(['config', 'layer 0', 'layer 1', 'filesystem']);
    const listed = view.groups.flatMap((group) => [...group.general, ...group.files.flatMap((file) => file.differences)]);
    expect(listed).toHaveLength(report.differences.length);
    expect(new Set(listed.map((item) => item.difference))).toEqual(new Set(report.differences));
    // Files sorted within their group.
    expect(view.filesystem?.files.map((file) => file.file)).toEqual(['opt/a', 'opt/new']);
    expect(view.config).toBe(view.groups[0]);
  });

  it('counts blocking, accepted and neutralized once, and the renderers show those numbers', () => {
    const report = reportWith([], { omitted: [{ scope: 'layers/1', cause: 'file-mtime', count: 7 }] });
    const view = buildReportView(report);
    const blocking = report.differences.filter(isBlocking).length;
    expect(view.groups.reduce((sum, group) => sum + group.blocking, 0)).toBe(blocking);
    expect(view.groups.reduce((sum, group) => sum + group.accepted, 0)).toBe(report.summary.accepted);
    expect(view.groups.reduce((sum, group) => sum + group.neutralized, 0)).toBe(report.differences.filter((d) => d.neutralized).length + 7);
    expect(view.omitted).toBe(7);
    expect(view.omittedNote).toBe('7 more neutralized differences not listed (use --all-differences)');
    const layer1 = view.layers.find((layer) => layer.index === 1)!;
    expect(layer1.blocking).toBe(countBlockingByLayer(report.differences).get(1));
    expect(layer1.group?.counts).toBe(`${layer1.group?.blocking} remaining, 1 accepted, ${layer1.group?.neutralized} neutralized`);
    expect(renderReport(report, 'text', { color: false })).toContain(layer1.group!.counts);
    expect(renderReport(report, 'markdown', { color: false })).toContain(`: ${layer1.group!.counts}</summary>`);
  });

  it('gives each layer its own group, whatever the group is titled', () => {
    const view = buildReportView(buildFixedReport());
    for (const layer of view.layers) expect(layer.group).toBe(view.groups.find((group) => group.scope === `layers/${layer.index}`));
    // The title carries the step; the layer view finds the group without it.
    expect(view.layers[1]?.group?.title).toMatch(/^layer 1: RUN /);
  });

  it('shows modes in octal, times as dates, and an added entry with its mode in octal', () => {
    const report = reportWith([added('opt/new')]);
    const view = buildReportView(report);
    const items = view.groups.flatMap((group) => [...group.general, ...group.files.flatMap((file) => file.differences)]);
    const mode = items.find((item) => item.difference.attribute === 'mode')!;
    expect(mode.values).toEqual(['0755', '0644']);
    expect(describeChange(mode)).toBe('0755 -> 0644');
    const mtime = items.find((item) => item.difference.attribute === 'mtime')!;
    expect(mtime.values[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const presence = items.find((item) => item.difference.kind === 'file-added')!;
    expect(presence.hasValues).toBe(false);
    expect(presence.origin).toBe('A: absent, B: layer 0');
    expect(JSON.parse(presence.values[1])).toMatchObject({ mode: '0644' });
  });

  it('cuts a change to the width asked, where the values differ', () => {
    const long = (tail: string) => `${'x'.repeat(200)}${tail}`;
    const view = buildReportView(reportWith([{ kind: 'config-field', path: '/config/Labels/a', a: long('A'), b: long('B'), neutralized: false, cause: null }]));
    const item = view.config!.general.find((entry) => entry.difference.path === '/config/Labels/a')!;
    const [a = '', b = ''] = describeChange(item, 40).split(' -> ');
    expect(a.length).toBeLessThanOrEqual(18);
    expect(a).toMatch(/^….*A"$/);
    expect(b).toMatch(/^….*B"$/);
  });

  it('is format neutral: no ANSI, no Markdown or XML escaping; control characters shown unless turned off', () => {
    const name = 'opt/a*b_[c]|<d>&\u001b[31m';
    const report = reportWith([added(name)], { reason: 'why *not* <b>' });
    const view = buildReportView(report);
    expect(view.filesystem?.files[0]?.file).toBe('opt/a*b_[c]|<d>&\\x1b[31m');
    expect(view.report.reason).toBe('why *not* <b>');
    expect(JSON.stringify(view)).not.toMatch(/\u001b/);
    const raw = buildReportView(report, { showControlCharacters: false });
    expect(raw.filesystem?.files[0]?.file).toBe(name);
    // The report itself is left alone.
    expect(report.differences.at(-1)?.file).toBe(name);
  });

  it('names the step that wrote each file, in the view and in every format', () => {
    const report = reportWith([added('opt/new'), added('opt/both', { origin: { a: 1, b: 0 }, a: entry } as Partial<Difference>)]);
    // B's layer 0 ran another step than A's: a flattened file from both says both.
    report.b.layers[0] = { ...report.b.layers[0]!, step: 'RUN ./fetch-base.sh' };
    const view = buildReportView(report);
    const stepA = (index: number) => report.a.layers[index]!.step!;
    const byFile = new Map(view.groups.flatMap((group) => group.files.flatMap((file) => file.differences.map((item) => [`${group.id} ${file.file}`, item] as const))));
    const layer1 = [...byFile].find(([key]) => key.startsWith('layer 1 '))!;
    expect(layer1[1].writtenBy).toBe(stepA(1));
    expect(byFile.get('filesystem opt/new')?.writtenBy).toBe('RUN ./fetch-base.sh');
    expect(byFile.get('filesystem opt/both')?.writtenBy).toBe(`A: ${stepA(1)}; B: RUN ./fetch-base.sh`);
    // Not about a file: no step.
    expect(view.config?.general.every((item) => item.writtenBy === null)).toBe(true);
    for (const format of ['text', 'markdown', 'junit', 'html'] as const) {
      const output = renderReport(report, format, { color: false });
      expect(output, format).toContain('written by');
      expect(output, format).toContain('RUN ./fetch-base.sh');
    }
    // JSON: the step as data on each file difference, both sides when they differ; none elsewhere.
    const json = JSON.parse(renderReport(report, 'json', { color: false })) as { differences: (Difference & { writtenBy?: unknown })[] };
    const layer1Json = json.differences.find((difference) => difference.file !== undefined && difference.layer === 1 && !difference.origin)!;
    expect(layer1Json.writtenBy).toBe(stepA(1));
    expect(json.differences.find((difference) => difference.file === 'opt/new')?.writtenBy).toBe('RUN ./fetch-base.sh');
    expect(json.differences.find((difference) => difference.file === 'opt/both')?.writtenBy).toEqual({ a: stepA(1), b: 'RUN ./fetch-base.sh' });
    expect(json.differences.filter((difference) => difference.file === undefined).every((difference) => !('writtenBy' in difference))).toBe(true);
  });

  it('says which link of the identity chain breaks', () => {
    const report = buildFixedReport();
    const view = buildReportView(report);
    expect(view.links.map((link) => [link.label, link.state, link.breaks])).toEqual([
      ['manifest digest', 'differs', false],
      ['image ID', 'differs', false],
      ['canonical digest', 'differs', true],
    ]);
    const legacy = buildReportView({ ...report, a: { ...report.a, manifestDigest: null } });
    expect(legacy.links[0]?.state).toBe('not-comparable');
  });
});

describe('buildIndexView', () => {
  it('counts platforms by verdict and side, and views each compared platform', () => {
    const report = buildFixedReport();
    const side = (reference: string) => ({
      reference,
      indexDigest: fakeDigest(`${reference}-index`),
      indexMediaType: 'application/vnd.oci.image.index.v1+json',
      canonicalDigest: fakeDigest(`${reference}-canonical`),
      manifests: [{ platform: 'linux/amd64', digest: fakeDigest('m'), mediaType: 'application/vnd.oci.image.manifest.v1+json', attestation: true }],
    });
    const index: IndexReport = {
      schemaVersion: 1,
      tool: report.tool,
      kind: 'index',
      verdict: 'not-reproducible',
      reason: 'r',
      passed: false,
      options: report.options,
      a: side('a'),
      b: side('b'),
      platforms: [
        { platform: 'linux/amd64', presence: 'both', verdict: report.verdict, passed: report.passed, reason: report.reason, canonicalDigest: { a: report.a.canonicalDigest, b: report.b.canonicalDigest }, report },
        { platform: 'linux/arm64', presence: 'a', verdict: 'not-reproducible', passed: false, reason: 'only in A', canonicalDigest: { a: fakeDigest('x'), b: null }, report: null },
      ],
    };
    const view = buildIndexView(index);
    expect(view.platformCounts).toBe('1 platform compared: 1 not reproducible; 1 only in A');
    expect(view.platforms.map((platform) => [platform.verdict, platform.same, platform.view === null])).toEqual([
      ['not reproducible, fails', false, false],
      ['only in A', false, true],
    ]);
    expect(view.attestations).toEqual({ a: 1, b: 1 });
    expect(view.platforms[0]?.view?.groups.length).toBe(buildReportView(report).groups.length);
  });
});

describe('buildExpectView', () => {
  const outcome = {
    schemaVersion: 1,
    tool: { name: 'oci-repro', version: '0' },
    kind: 'expect',
    verdict: 'differs',
    passed: false,
    reason: 'r',
    expected: { canonicalDigest: fakeDigest('e'), source: 'argument' },
  } as const;

  it('reads one image: its canonical digest and image ID', () => {
    const side = buildFixedReport().a;
    const image = { ...side, canonicalDigest: side.canonicalDigest ?? fakeDigest('c') };
    const view = buildExpectView({ ...outcome, image } satisfies ExpectReport);
    expect(view).toMatchObject({ index: false, subject: 'canonical digest', actual: image.canonicalDigest, identity: image.imageId, reference: image.reference });
  });

  it('reads an index: its canonical index digest, index digest and platforms', () => {
    const index = { reference: 'oci:x', indexDigest: fakeDigest('i'), indexMediaType: 'm', canonicalDigest: fakeDigest('c'), platforms: [{ platform: 'linux/amd64', manifestDigest: fakeDigest('m'), canonicalDigest: fakeDigest('p') }] };
    const view = buildExpectView({ ...outcome, index } satisfies IndexExpectReport);
    expect(view).toMatchObject({ index: true, subject: 'canonical index digest', actual: index.canonicalDigest, identity: index.indexDigest, reference: 'oci:x' });
    expect(view.platforms).toEqual([{ platform: 'linux/amd64', canonicalDigest: fakeDigest('p') }]);
  });
});
