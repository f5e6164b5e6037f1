/**
 * A report lists at most 20 neutralized differences per scope and cause and counts the rest
 * (`Report.omitted`), so two builds of 100,000 files that differ in every mtime do not make a 100 MB
 * report. Checked on code-built pairs of 3000 files through the library: the counts add up, listing
 * everything gives the same summary and gate, and every format says what it left out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultNeutralizedLimit } from '../../src/compare/collect.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import type { Report } from '../../src/report/model.js';
import { renderReport } from '../../src/report/render.js';
import { countOmitted, differenceScope } from '../../src/diff/count.js';
import { verifyImages, type VerifyRequest } from '../../src/app/verify.js';
import { TempDir } from '../helpers/images.js';
import { validateReport } from '../helpers/report-schema.js';
import { writeManyMtimesPair, type ImagePair } from './fixtures.js';

const files = 3000;
/** Every file and directory (`srv/` and one per hundred files) has another mtime in B. */
const mtimes = files + 1 + Math.ceil(files / 100);
/** Text wraps at 100 columns. */
const oneLine = (text: string) => text.replace(/\s+/g, ' ');
let dir: TempDir;
let reproducible: ImagePair;
let changed: ImagePair;

/** The pair's references with absolute paths (the fixtures give them relative to `dir`). */
const absolute = (pair: ImagePair): ImagePair => ({
  a: pair.a.replace(':', `:${dir.path}/`),
  b: pair.b.replace(':', `:${dir.path}/`),
});

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-neutralized-limit-');
  reproducible = absolute(await writeManyMtimesPair(dir, files, [], 'mtimes'));
  changed = absolute(await writeManyMtimesPair(dir, files, [5, 2500], 'changed'));
}, 60_000);
afterAll(async () => dir?.remove());

function verify(pair: ImagePair, fields: Partial<VerifyRequest> = {}): Promise<Report> {
  return verifyImages({ ...pair, normalize: defaultNormalizeOptions, ...fields });
}

/** Listed neutralized differences per `scope cause`. */
function listedNeutralized(report: Report): Map<string, number> {
  const counts = new Map<string, number>();
  for (const difference of report.differences) {
    if (!difference.neutralized) continue;
    const key = `${differenceScope(difference)} ${difference.cause?.id ?? 'unknown'}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

describe(`verify of ${files} files differing in mtime and order`, () => {
  let capped: Report;
  let all: Report;
  beforeAll(async () => {
    [capped, all] = await Promise.all([verify(reproducible), verify(reproducible, { neutralizedLimit: Infinity })]);
  }, 60_000);

  it('lists at most the cap per scope and cause and counts the rest', () => {
    expect(capped.verdict).toBe('reproducible');
    for (const [key, count] of listedNeutralized(capped)) expect(count, key).toBeLessThanOrEqual(defaultNeutralizedLimit);
    expect(capped.omitted).toEqual([{ scope: 'layers/1', cause: 'file-mtime', count: mtimes - defaultNeutralizedLimit }]);
    const listed = capped.differences.filter((difference) => difference.cause?.id === 'file-mtime');
    expect(listed).toHaveLength(defaultNeutralizedLimit);
    // The first ones in path order.
    expect(listed.map((difference) => difference.file)).toEqual(all.differences.filter((d) => d.cause?.id === 'file-mtime').slice(0, defaultNeutralizedLimit).map((d) => d.file));
  });

  it('counts add up: listed plus omitted is what listing everything gives', () => {
    expect(all.omitted).toBeUndefined();
    expect(all.differences.filter((difference) => difference.cause?.id === 'file-mtime')).toHaveLength(mtimes);
    expect(capped.differences.length + countOmitted(capped.omitted)).toBe(all.differences.length);
    expect(capped.summary).toEqual(all.summary);
    expect(capped.summary.neutralized).toBe(all.differences.length);
    expect(capped.summary.byCause.find((count) => count.cause === 'file-mtime')).toMatchObject({ count: mtimes, neutralized: mtimes });
    // Everything else is the same report.
    const { differences: _d, omitted: _o, ...restCapped } = capped;
    const { differences: _e, omitted: _p, ...restAll } = all;
    expect(restCapped).toEqual(restAll);
  });

  it('the gate decides the same, with the full count in its reason; strict too', async () => {
    expect(capped.passed).toBe(true);
    expect(capped.reason).toBe(all.reason);
    expect(capped.reason).toContain(`(${all.differences.length} neutralized differences)`);
    const [strictCapped, strictAll] = await Promise.all([verify(reproducible, { strict: true }), verify(reproducible, { strict: true, neutralizedLimit: Infinity })]);
    expect(strictCapped.passed).toBe(false);
    expect(strictCapped.reason).toBe(strictAll.reason);
  });

  it('both reports validate against schema/report.schema.json', () => {
    for (const report of [capped, all]) expect(validateReport(JSON.parse(renderReport(report, 'json', { color: false })))).toEqual([]);
  });

  it('every format says how many are not listed and how to list them', () => {
    const left = mtimes - defaultNeutralizedLimit;
    const counts = `(${left} of them not listed: use --all-differences)`;
    expect(oneLine(renderReport(capped, 'text', { color: false }))).toContain(counts);
    expect(renderReport(capped, 'markdown', { color: false })).toContain(counts);
    const verbose = renderReport(capped, 'text', { color: false, verbose: true });
    expect(verbose).toContain(`${left} more neutralized differences not listed (use --all-differences)`);
    expect(renderReport(capped, 'junit', { color: false })).toContain(`${left} more neutralized differences not listed (use --all-differences)`);
    // The layer's count is the whole count, not the listed part.
    expect(renderReport(capped, 'text', { color: false })).toContain(`neutralized: file-mtime ${mtimes},`);
    for (const format of ['text', 'markdown', 'junit'] as const) {
      expect(renderReport(all, format, { color: false, verbose: true })).not.toContain('not listed');
    }
  });
});

describe(`verify of ${files} files with two real changes among the mtimes`, () => {
  it('lists every remaining difference, caps the neutralized ones, and fails the gate the same way', async () => {
    const [capped, all] = await Promise.all([verify(changed), verify(changed, { neutralizedLimit: Infinity })]);
    expect(capped.verdict).toBe('not-reproducible');
    const remaining = (report: Report) => report.differences.filter((difference) => !difference.neutralized);
    expect(remaining(capped)).toEqual(remaining(all));
    expect(remaining(capped).map((difference) => difference.path)).toEqual([
      '/rootfs/diff_ids/1',
      'layers/1/srv/00/page-00005.html#content',
      'layers/1/srv/00/page-00005.html#size',
      'layers/1/srv/25/page-02500.html#content',
      'layers/1/srv/25/page-02500.html#size',
    ]);
    expect(capped.summary).toEqual(all.summary);
    expect([capped.passed, capped.reason]).toEqual([all.passed, all.reason]);
    expect(capped.passed).toBe(false);
    expect(capped.omitted).toEqual([{ scope: 'layers/1', cause: 'file-mtime', count: mtimes - defaultNeutralizedLimit }]);
  }, 60_000);
});
