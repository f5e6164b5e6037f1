import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/model.js';
import { renderReport } from '../../src/report/render.js';
import { buildFixedReport, repoRoot } from './fixed-report.js';
import { createAjv, reportSchema as schema, schemas, validateReport as validate } from '../helpers/report-schema.js';

const fixed = (): Report => JSON.parse(renderReport(buildFixedReport(), 'json', { color: false })) as Report;

describe('schema/report.schema.json', () => {
  it('is draft 2020-12 with schemaVersion const 1, for image and index reports', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const defs = schema.$defs as Record<string, { properties: Record<string, unknown> }>;
    expect(defs.imageReport!.properties.schemaVersion).toEqual({ const: 1 });
    expect(defs.indexReport!.properties.schemaVersion).toEqual({ const: 1 });
  });

  it('every schema under schema/ compiles in strict mode (a misused or unknown keyword fails here)', () => {
    expect(Object.keys(schemas)).toContain('report.schema.json');
    for (const [name, each] of Object.entries(schemas)) expect(() => createAjv().compile(each), name).not.toThrow();
    // The same check fails on a schema with a misspelt keyword.
    expect(() => createAjv().compile({ ...schema, requird: ['verdict'] })).toThrow(/unknown keyword/);
  });

  it('accepts the fixed report', () => {
    expect(validate(fixed())).toEqual([]);
  });

  it('accepts counts of omitted neutralized differences for the config, a layer and the flattened filesystem', () => {
    const report = { ...fixed(), omitted: [{ scope: 'config', cause: 'history-created', count: 4 }, { scope: 'layers/10', cause: 'file-mtime', count: 99980 }, { scope: 'fs', cause: 'unknown', count: 1 }] };
    expect(validate(report)).toEqual([]);
  });

  // golden/reports: the fixed report; golden/verify: real image pairs through the CLI.
  it.for(['reports', 'verify'])('accepts the JSON goldens in golden/%s', (folder) => {
    const dir = join(repoRoot, 'golden', folder);
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((name) => name.endsWith('.json'));
    } catch {
      // No goldens yet: the golden tests report that.
    }
    for (const name of files) expect(validate(JSON.parse(readFileSync(join(dir, name), 'utf8'))), name).toEqual([]);
  });

  it('holds modes as octal strings: the model carries numbers, the JSON report spells them as people write them', () => {
    const report = fixed() as unknown as { differences: Record<string, unknown>[] };
    const index = report.differences.findIndex((difference) => difference.attribute === 'mode');
    expect(report.differences[index]).toMatchObject({ a: '0755', b: '0644' });
    expect(validate(report)).toEqual([]);
    report.differences[index]!.a = 0o755;
    expect(validate(report).join('\n')).toContain(`/differences/${index}/a: must be string`);
  });

  it('holds the step that wrote a file: one string, or each side when they differ; rejects an empty one', () => {
    const report = fixed() as unknown as { differences: Record<string, unknown>[] };
    const index = report.differences.findIndex((difference) => difference.file !== undefined && typeof difference.writtenBy === 'string');
    expect(index).toBeGreaterThanOrEqual(0);
    report.differences[index]!.writtenBy = { a: 'RUN a', b: 'RUN b' };
    expect(validate(report)).toEqual([]);
    report.differences[index]!.writtenBy = { a: 'RUN a' };
    expect(validate(report).join('\n')).toContain(`/differences/${index}/writtenBy`);
    report.differences[index]!.writtenBy = '';
    expect(validate(report).join('\n')).toContain(`/differences/${index}/writtenBy`);
  });

  it('holds the inside-file details: decoded fields, timestamps-only text, binary ranges; and rejects a malformed one', () => {
    const report = fixed() as unknown as { differences: Record<string, unknown>[] };
    const index = report.differences.findIndex((difference) => difference.attribute === 'content');
    const digest = `sha256:${'1'.repeat(64)}`;
    const details = [
      { format: 'decoded', decoder: 'gzip', sizeA: 30, sizeB: 30, digestA: digest, digestB: digest, changes: [{ where: 'member 0', field: 'mtime', a: '2026-12-05T10:55:42Z', b: null, records: 'when' }] },
      { format: 'timestamps', lines: 2, kinds: ['iso-8601'], example: { a: '2026-12-05 x', b: '2026-12-06 x' } },
      { format: 'binary', sizeA: 6, sizeB: 7, digestA: digest, digestB: digest, differingBytes: 2, ranges: [{ start: 5, end: 7, hexA: ['00000000  7f'], hexB: ['00000000  7f'] }], moreRanges: 0 },
    ];
    for (const detail of details) {
      report.differences[index]!.detail = detail;
      expect(validate(report), detail.format).toEqual([]);
    }
    report.differences[index]!.detail = { format: 'timestamps', lines: 0, kinds: [], example: { a: 'x' } };
    expect(validate(report).join('\n')).toContain(`/differences/${index}/detail`);
    report.differences[index]!.detail = { ...details[0], changes: [] };
    expect(validate(report).join('\n')).toContain(`/differences/${index}/detail`);
    // Members inside an archive: the chain and the outer!/inner path; a note may stand alone.
    const member = { where: 'x.txt', field: 'mtime', a: 1, b: 2, records: 'when', member: ['inner.zip', 'x.txt'], path: 'o.tar.gz!/inner.zip!/x.txt' };
    report.differences[index]!.detail = { ...details[0], decoder: 'tar.gz', changes: [member], notes: ['o.tar.gz!/deep.tar: not opened'] };
    expect(validate(report)).toEqual([]);
    report.differences[index]!.detail = { ...details[0], changes: [], notes: ['o.tar.gz: not read past 1 inflated bytes'] };
    expect(validate(report)).toEqual([]);
    report.differences[index]!.detail = { ...details[0], changes: [{ ...member, member: [] }] };
    expect(validate(report).join('\n')).toContain(`/differences/${index}/detail`);
  });

  it('holds the mode of an added or removed entry as an octal string', () => {
    const report = fixed() as unknown as { differences: Record<string, unknown>[] };
    const entry = { type: 'file', mode: '04755', uid: 0, gid: 0, size: 3 };
    report.differences.push({ kind: 'file-added', path: 'layers/1/x', layer: 1, file: 'x', a: null, b: entry, neutralized: false, cause: null });
    expect(validate(report)).toEqual([]);
    entry.mode = 'rwxr-xr-x';
    expect(validate(report).join('\n')).toContain(`/differences/${report.differences.length - 1}/b`);
  });

  it('accepts --expect reports of an image and of an index, and rejects one of neither or a bad verdict', () => {
    const image = fixed().a;
    const outcome = {
      schemaVersion: 1,
      tool: { name: 'oci-repro', version: '0.1.0' },
      kind: 'expect',
      verdict: 'differs',
      passed: false,
      reason: 'oci:a has canonical digest x, expected y',
      expected: { canonicalDigest: image.canonicalDigest, source: 'argument' },
    };
    const digest = image.imageId;
    const index = { reference: 'oci:i', indexDigest: digest, indexMediaType: 'application/vnd.oci.image.index.v1+json', canonicalDigest: digest, platforms: [{ platform: 'linux/amd64', manifestDigest: digest, canonicalDigest: digest }] };
    expect(validate({ ...outcome, image })).toEqual([]);
    expect(validate({ ...outcome, index })).toEqual([]);
    expect(validate(outcome).join('\n')).toContain('must match exactly one schema in oneOf');
    expect(validate({ ...outcome, image, verdict: 'reproducible' }).join('\n')).toContain('/verdict: must be equal to one of the allowed values');
    expect(validate({ ...outcome, image, expected: { canonicalDigest: 'sha256:abc', source: 'argument' } }).join('\n')).toContain('/expected/canonicalDigest');
  });

  it.each<[string, (report: Record<string, any>) => void, string]>([
    ['another schema version', (report) => (report.schemaVersion = 2), '/schemaVersion: must be equal to constant'],
    ['a missing verdict', (report) => delete report.verdict, ": must have required property 'verdict'"],
    ['an unknown verdict', (report) => (report.verdict = 'maybe'), '/verdict: must be equal to one of the allowed values'],
    ['an unknown field', (report) => (report.extra = true), ': must NOT have additional properties (extra)'],
    ['a short canonical digest', (report) => (report.a.canonicalDigest = 'sha256:abc'), '/a/canonicalDigest: must match pattern'],
    ['a file attribute without its file', (report) => delete report.differences[6].file, "/differences/6: must have required property 'file'"],
    ['an unknown difference kind', (report) => (report.differences[0].kind = 'file-changed'), '/differences/0/kind: must be equal to one of the allowed values'],
    ['a cause without a title', (report) => delete report.differences[0].cause.title, '/differences/0/cause: must match a schema in anyOf'],
    ['a binary detail without sizes', (report) => delete report.differences[6].detail.sizeA, '/differences/6/detail: must match exactly one schema in oneOf'],
    ['a negative count', (report) => (report.summary.remaining = -1), '/summary/remaining: must be >= 0'],
    ['a bad accept rule name', (report) => (report.differences[6].accepted.rule = 'rule 1'), '/differences/6/accepted/rule: must match pattern'],
    ['an omitted count of 0', (report) => (report.omitted = [{ scope: 'layers/1', cause: 'file-mtime', count: 0 }]), '/omitted/0/count: must be >= 1'],
    ['an omitted scope that names no layer', (report) => (report.omitted = [{ scope: 'layer 1', cause: 'file-mtime', count: 3 }]), '/omitted/0/scope: must match pattern'],
    ['an omitted item without its cause', (report) => (report.omitted = [{ scope: 'fs', count: 3 }]), "/omitted/0: must have required property 'cause'"],
  ])('rejects %s', (_name, breakIt, error) => {
    const report = fixed() as unknown as Record<string, any>;
    expect(validate(report)).toEqual([]);
    breakIt(report);
    expect(validate(report).join('\n')).toContain(error);
  });
});
