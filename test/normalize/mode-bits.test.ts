// The mode field's file-type bits (S_IFREG 0100000, S_IFDIR 040000, S_IFLNK 0120000, ...): Go writers
// put them there (moby and containers/storage on purpose, so buildah does), GNU tar does not. A tar
// dialect difference: the same layer written both ways has other raw diff_ids, the same canonical
// diff_id, `layers[].applied` counts the entries under tar-dialect, and verify explains the mode
// differences with the tar-dialect cause, neutralized. With rule tar-dialect off the bits are kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchCause } from '../../src/causes/match.js';
import { layerRulesApplied } from '../../src/normalize/layer-applied.js';
import { normalizeLayer } from '../../src/normalize/layer.js';
import { defaultNormalizeOptions, type NormalizeOptions } from '../../src/normalize/options.js';
import { normalizeImage } from '../../src/app/normalize.js';
import type { Difference } from '../../src/diff/model.js';
import { verifyImages } from '../../src/app/verify.js';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { sha256Of } from '../helpers/digest.js';
import { buildTar, tarStream, type TestEntry } from '../helpers/tar.js';
import { headerBlocks, withGoModeBits } from '../helpers/tar-mutate.js';
import { PassThrough } from 'node:stream';

const T = { timeout: 30_000 };

const entries: TestEntry[] = [
  { name: 'dev/', type: 'directory' },
  { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
  { name: 'usr/', type: 'directory' },
  { name: 'usr/bin/', type: 'directory' },
  { name: 'usr/bin/app', content: '#!/bin/sh\necho app\n', mode: 0o4755 },
  { name: 'usr/bin/app-hard', type: 'link', linkname: 'usr/bin/app' },
  { name: 'usr/bin/app-link', type: 'symlink', linkname: 'app' },
  { name: 'var/', type: 'directory', mode: 0o1777 },
  { name: 'var/fifo', type: 'fifo', mode: 0o600 },
];

let plain: Buffer;
let go: Buffer;

beforeAll(async () => {
  plain = await buildTar(entries);
  go = withGoModeBits(plain);
});

/** The canonical tar's bytes and summary. */
async function canonical(tar: Buffer, options: NormalizeOptions = defaultNormalizeOptions) {
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (chunk: Buffer) => chunks.push(chunk));
  const summary = await normalizeLayer(tarStream(tar), { ...options, output });
  return { summary, bytes: Buffer.concat(chunks) };
}

/** The mode fields of a tar's entry headers, in order. */
function modes(tar: Buffer): number[] {
  return headerBlocks(tar)
    .filter((header) => header.typeflag !== 'x')
    .map((header) => Number.parseInt(tar.toString('latin1', header.offset + 100, header.offset + 107), 8));
}

describe('the same layer with and without the file-type bits', () => {
  it('differs raw: other bytes, so another diff_id', () => {
    expect(modes(go)).toEqual([0o40755, 0o20666, 0o40755, 0o40755, 0o104755, 0o100644, 0o120644, 0o41777, 0o10600]);
    expect(modes(plain)).toEqual([0o755, 0o666, 0o755, 0o755, 0o4755, 0o644, 0o644, 0o1777, 0o600]);
    expect(sha256Of(go)).not.toBe(sha256Of(plain));
  });

  it('is equal after normalization: the canonical tar holds the permission bits only', async () => {
    const a = await canonical(plain);
    const b = await canonical(go);
    expect(b.summary.canonicalDigest).toBe(a.summary.canonicalDigest);
    expect(b.bytes.equals(a.bytes)).toBe(true);
    expect(modes(b.bytes).every((mode) => mode <= 0o7777)).toBe(true);
    // The table keeps the input's mode, so a difference can be shown and explained.
    expect(b.summary.entries.find((entry) => entry.path === 'usr/bin/app')?.mode).toBe(0o104755);
  });

  it('counts the entries under tar-dialect in the applied rules; the plain layer has none', async () => {
    const a = await canonical(plain);
    const b = await canonical(go);
    expect(layerRulesApplied(a.summary, defaultNormalizeOptions).map((rule) => rule.rule)).not.toContain('tar-dialect');
    expect(layerRulesApplied(b.summary, defaultNormalizeOptions).find((rule) => rule.rule === 'tar-dialect')).toEqual({
      rule: 'tar-dialect',
      entries: entries.length,
      examples: ['dev/', 'dev/null', 'usr/'],
    });
  });

  it('keeps the bits with rule tar-dialect off', async () => {
    const off: NormalizeOptions = { ...defaultNormalizeOptions, disabledRules: new Set(['tar-dialect']) };
    const a = await canonical(plain, off);
    const b = await canonical(go, off);
    expect(b.summary.canonicalDigest).not.toBe(a.summary.canonicalDigest);
    // As the input, except the hardlink, which takes its carrier's mode (rule hardlinks).
    expect(modes(b.bytes)).toEqual(modes(go).map((mode, i) => (i === 5 ? 0o104755 : mode)));
    expect(layerRulesApplied(b.summary, off).map((rule) => rule.rule)).not.toContain('tar-dialect');
  });
});

describe('images', () => {
  let dir: TempDir;
  beforeAll(async () => {
    dir = await TempDir.create('oci-repro-mode-bits-');
  });
  afterAll(async () => {
    await dir.remove();
  });

  async function layout(name: string, tar: Buffer): Promise<string> {
    const image = buildImage({ layers: [{ tar, compression: 'gzip' }] });
    return dir.writeDirectory(name, singleImageLayout(image));
  }

  it('normalize: one canonical digest, tar-dialect applied to every entry of the Go-written layer', T, async () => {
    const a = await normalizeImage({ source: await layout('gnu', plain), normalize: defaultNormalizeOptions });
    const b = await normalizeImage({ source: await layout('go', go), normalize: defaultNormalizeOptions });
    expect(b.layers[0]!.diffId).not.toBe(a.layers[0]!.diffId);
    expect(b.canonicalDigest).toBe(a.canonicalDigest);
    expect(a.layers[0]!.applied.map((rule) => rule.rule)).not.toContain('tar-dialect');
    expect(b.layers[0]!.applied.find((rule) => rule.rule === 'tar-dialect')?.entries).toBe(entries.length);
  });

  it('verify: reproducible, every mode difference explained as tar-dialect and neutralized', T, async () => {
    const report = await verifyImages({ a: await layout('verify-gnu', plain), b: await layout('verify-go', go), normalize: defaultNormalizeOptions });
    expect(report.verdict).toBe('reproducible');
    const modeDifferences = report.differences.filter((difference) => difference.attribute === 'mode');
    expect(modeDifferences.map((difference) => difference.file).sort()).toEqual(
      ['dev/', 'dev/null', 'usr/', 'usr/bin/', 'usr/bin/app', 'usr/bin/app-hard', 'usr/bin/app-link', 'var/', 'var/fifo'].sort(),
    );
    for (const difference of modeDifferences) {
      expect(difference.neutralized).toBe(true);
      expect(difference.cause?.id).toBe('tar-dialect');
    }
    expect(modeDifferences.find((difference) => difference.file === 'usr/bin/app')).toMatchObject({ a: 0o4755, b: 0o104755 });
    expect(report.differences.filter((difference) => !difference.neutralized)).toEqual([]);
  });

  it('verify: a umask difference beside the bits stays a remaining umask-mode difference', T, async () => {
    const umask = withGoModeBits(await buildTar(entries.map((entry) => (entry.name === 'usr/bin/app' ? { ...entry, mode: 0o4775 } : entry))));
    const report = await verifyImages({ a: await layout('umask-gnu', plain), b: await layout('umask-go', umask), normalize: defaultNormalizeOptions });
    expect(report.verdict).toBe('not-reproducible');
    const app = report.differences.find((difference) => difference.file === 'usr/bin/app' && difference.attribute === 'mode');
    expect(app).toMatchObject({ a: 0o4755, b: 0o104775, neutralized: false });
    expect(app?.cause?.id).toBe('umask-mode');
  });
});

describe('the cause catalogue', () => {
  const modeDifference = (a: number, b: number): Difference => ({
    kind: 'file-attribute',
    path: 'layers/0/x#mode',
    file: 'x',
    attribute: 'mode',
    a,
    b,
    neutralized: true,
    cause: null,
  });

  it('names tar-dialect for the type bits alone, and not for a permission change', () => {
    expect(matchCause(modeDifference(0o644, 0o100644))?.id).toBe('tar-dialect');
    expect(matchCause(modeDifference(0o40755, 0o755))?.id).toBe('tar-dialect');
    expect(matchCause(modeDifference(0o644, 0o100755))?.id).not.toBe('tar-dialect');
    expect(matchCause(modeDifference(0o644, 0o755))?.id).toBeUndefined();
  });
});
