// `oci-repro normalize` through the real binary (bin/run.js over dist/): what it prints, what it writes,
// and its exit codes. What the printed digests are is checked against skopeo reading the written image.
import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/image/digest.js';
import { loadImage } from '../../src/sources/index.js';
import { buildImage, legacyDockerArchiveFiles, singleImageLayout, TempDir, type BuiltImage } from '../helpers/images.js';
import { skipWithoutTools, skopeoInspectConfig, skopeoInspectRaw } from '../helpers/real-tools.js';
import { buildTar, readTar, shuffled, withOwnerNames, type TestEntry } from '../helpers/tar.js';
import { runCli, type CliRun } from '../helpers/cli.js';

// Every test spawns the binary, several at once; a loaded shared machine takes several times the usual.
const T = { timeout: 60_000 };

/** The sha256 printed after `label` at the start of a line. */
function printed(stdout: string, label: string): string {
  const match = new RegExp(`^${label}\\s+(sha256:[a-f0-9]{64})`, 'm').exec(stdout);
  if (!match) throw new Error(`no "${label}" line in:\n${stdout}`);
  return match[1]!;
}

/** The canonical diff_ids of the `layer N diff_id` lines, in order. */
function printedLayers(stdout: string): string[] {
  return [...stdout.matchAll(/^layer (\d+) diff_id\s+(sha256:[a-f0-9]{64})/gm)].map((match, i) => {
    expect(Number(match[1])).toBe(i);
    return match[2]!;
  });
}

/** Names and sizes of everything under `path`, recursively: enough to see that nothing was written. */
async function listing(path: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, prefix: string) => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(dir, entry.name);
      out.push(`${prefix}${entry.name}${entry.isDirectory() ? '/' : ` ${(await stat(full)).size}`}`);
      if (entry.isDirectory()) await walk(full, `${prefix}${entry.name}/`);
    }
  };
  await walk(path, '');
  return out;
}

const lower: TestEntry[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/motd', content: 'hello\n' },
  { name: 'usr/', type: 'directory' },
  { name: 'usr/bin/', type: 'directory' },
  { name: 'usr/bin/tool', content: '#!/bin/sh\n', mode: 0o755 },
];
const upper: TestEntry[] = [
  { name: 'srv/', type: 'directory', uid: 1000, gid: 1000 },
  { name: 'srv/data', content: 'x'.repeat(5000), uid: 1000, gid: 1000 },
];

let dir: TempDir;
let image: BuiltImage;
/** An OCI layout with build noise (owner names, entry order, dates). */
let layout: string;
/** The same image as a legacy docker save. */
let archive: string;
/** The layout with its second layer's blob corrupted (one byte flipped: the digest no longer matches). */
let corrupt: string;
let counter = 0;
/** A fresh empty directory to write into. */
async function freshDir(name: string): Promise<string> {
  const path = dir.join(`${counter++}-${name}`);
  await mkdir(path);
  return path;
}

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-cli-normalize-');
  image = buildImage({
    layers: [{ tar: await buildTar(shuffled(withOwnerNames(lower), 3)) }, { tar: await buildTar(withOwnerNames(upper)) }],
    config: { container: '0123456789ab', config: { Env: ['PATH=/usr/bin'], Hostname: '0123456789ab' } },
  });
  layout = await dir.writeDirectory('layout', singleImageLayout(image));
  archive = await dir.writeArchive('image.tar', legacyDockerArchiveFiles(image));
  corrupt = await dir.writeDirectory('corrupt', singleImageLayout(image));
  const victim = join(corrupt, 'blobs', 'sha256', image.layers[1].digest.slice('sha256:'.length));
  const bytes = await readFile(victim);
  bytes[bytes.length - 10] ^= 0x01;
  await writeFile(victim, bytes);
});
afterAll(async () => dir?.remove());

interface NormalizeJson {
  canonicalDigest: string;
  imageId: string;
  manifestDigest: string | null;
  layers: { index: number; diffId: string; canonicalDiffId: string; entries: number; applied: { rule: string; entries: number; examples: string[] }[] }[];
  applied: { rule: string; paths: string[] }[];
  output: unknown;
  options: { epoch: number; timestampMode: string; disabledRules: string[] };
}

/** normalize of the layout without --output, in text and JSON: every other test compares with these. */
let digestOnly: CliRun;
let digestOnlyJson: NormalizeJson;

describe('normalize without --output', () => {
  let cwd: string;
  let tmp: string;
  let layoutBefore: string[];
  beforeAll(async () => {
    [cwd, tmp] = [await freshDir('cwd'), await freshDir('tmp')];
    layoutBefore = await listing(layout);
    let json: CliRun;
    [digestOnly, json] = await Promise.all([
      runCli(['normalize', `oci:${layout}`], { cwd, env: { TMPDIR: tmp } }),
      runCli(['normalize', archive, '--json']),
    ]);
    expect(json.code, json.stderr).toBe(0);
    digestOnlyJson = JSON.parse(json.stdout) as NormalizeJson;
  }, 60_000);

  it('prints the canonical digest and each layer canonical diff_id, and writes nothing (cwd and TMPDIR stay empty)', T, async () => {
    expect(digestOnly.stderr).toBe('');
    expect(digestOnly.code).toBe(0);
    expect(printed(digestOnly.stdout, 'input image ID')).toBe(image.config.digest);
    expect(printed(digestOnly.stdout, 'input manifest')).toBe(image.manifest.digest);
    expect(printed(digestOnly.stdout, 'canonical digest')).not.toBe(image.config.digest);
    expect(printedLayers(digestOnly.stdout)).toHaveLength(2);
    expect(digestOnly.stdout).toMatch(/^written +nothing/m);
    expect(digestOnly.stdout).not.toMatch(/^manifest digest/m);
    expect(await readdir(cwd)).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
    expect(await listing(layout)).toEqual(layoutBefore);
  });

  it('--json gives the same as data (here of the legacy docker-archive form of the same image)', () => {
    const data = digestOnlyJson;
    expect(data.canonicalDigest).toBe(printed(digestOnly.stdout, 'canonical digest'));
    expect(data.imageId).toBe(image.config.digest);
    expect(data.manifestDigest).toBeNull();
    expect(data.layers.map((layer) => layer.canonicalDiffId)).toEqual(printedLayers(digestOnly.stdout));
    expect(data.layers.map((layer) => layer.diffId)).toEqual(image.layers.map((layer) => layer.diffId));
    expect(data.output).toBeNull();
    expect(data.options).toEqual({ epoch: 0, timestampMode: 'set', disabledRules: [] });
  });

  it('lists the config rules and, per layer, the layer rules that changed something, with entry counts', () => {
    // The fixture: owner names on every entry, layer 0 shuffled, mtimes not at the epoch.
    const layers = digestOnlyJson.layers;
    expect(layers.map((layer) => layer.entries)).toEqual([lower.length, upper.length]);
    expect(layers.map((layer) => layer.applied.map((rule) => rule.rule))).toEqual([
      ['entry-order', 'mtime', 'owner-names'],
      ['mtime', 'owner-names'],
    ]);
    for (const layer of layers) {
      expect(layer.applied.find((rule) => rule.rule === 'owner-names')!.entries).toBe(layer.entries);
      expect(layer.applied.find((rule) => rule.rule === 'mtime')!.entries).toBe(layer.entries);
    }
    expect(layers[1]!.applied.find((rule) => rule.rule === 'owner-names')!.examples).toEqual(['srv/', 'srv/data']);
    const moved = layers[0]!.applied.find((rule) => rule.rule === 'entry-order')!;
    expect(moved.entries).toBeGreaterThan(0);
    expect(moved.entries).toBeLessThan(lower.length);

    const total = lower.length + upper.length;
    const line = /^layer rules +(.*)$/m.exec(digestOnly.stdout)?.[1];
    expect(line).toBe(`entry-order (${moved.entries} ${moved.entries === 1 ? 'entry' : 'entries'} in layer 0), mtime (${total} entries in 2 layers), owner-names (${total} entries in 2 layers)`);
    const config = digestOnlyJson.applied.map((rule) => `${rule.rule} (${rule.paths.length})`).join(', ');
    expect(digestOnly.stdout).toMatch(new RegExp(`^config rules +${config.replace(/[()]/g, '\\$&')}$`, 'm'));
  });
});

// Every format and every compression is covered by test/app/normalize-output.test.ts; here each compression once.
const outputs = [
  { name: 'oci', compression: 'zstd', dest: (d: string) => `oci:${join(d, 'layout')}:v1`, skopeo: (d: string) => `oci:${join(d, 'layout')}:v1`, manifest: true },
  {
    name: 'oci-archive',
    compression: 'gzip',
    dest: (d: string) => `oci-archive:${join(d, 'out.tar')}:v1`,
    skopeo: (d: string) => `oci-archive:${join(d, 'out.tar')}:v1`,
    manifest: true,
  },
  { name: 'bare .tar (oci-archive)', compression: 'none', dest: (d: string) => join(d, 'out.tar'), skopeo: (d: string) => `oci-archive:${join(d, 'out.tar')}`, manifest: true },
  {
    name: 'docker-archive',
    compression: 'gzip',
    dest: (d: string) => `docker-archive:${join(d, 'out.tar')}:app:1`,
    skopeo: (d: string) => `docker-archive:${join(d, 'out.tar')}`,
    manifest: false,
  },
] as const;
const layerType = { gzip: 'tar+gzip', zstd: 'tar+zstd', none: 'tar' } as const;

describe.skipIf(skipWithoutTools('skopeo'))('normalize --output: the printed digests are those of the written image', () => {
  const runs: { out: string; run: CliRun }[] = [];
  beforeAll(async () => {
    const outs = await Promise.all(outputs.map(() => freshDir('out')));
    const done = await Promise.all(
      outputs.map((output, i) => runCli(['normalize', `oci:${layout}`, '-o', output.dest(outs[i]!), '--compression', output.compression])),
    );
    done.forEach((run, i) => runs.push({ out: outs[i]!, run }));
  }, 60_000);

  outputs.forEach((output, i) => {
    it(`${output.name}, --compression ${output.compression}`, T, async () => {
      const { out, run } = runs[i]!;
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const canonical = printed(run.stdout, 'canonical digest');
      expect(canonical).toBe(digestOnlyJson.canonicalDigest);
      expect(printedLayers(run.stdout)).toEqual(digestOnlyJson.layers.map((layer) => layer.canonicalDiffId));
      expect(printed(run.stdout, 'config digest')).toBe(canonical);
      expect(run.stdout).toMatch(new RegExp(`^written +\\S*${join(out, '')}\\S* \\(\\S+, ${output.compression}\\)$`, 'm'));

      const config = await skopeoInspectConfig(output.skopeo(out));
      expect(sha256(config.bytes)).toBe(canonical);
      expect(config.json.rootfs?.diff_ids).toEqual(printedLayers(run.stdout));
      const raw = await skopeoInspectRaw(output.skopeo(out));
      if (output.manifest) {
        expect(sha256(raw.bytes)).toBe(printed(run.stdout, 'manifest digest'));
        const mediaType = `application/vnd.oci.image.layer.v1.${layerType[output.compression]}`;
        expect(raw.json.layers?.map((layer) => layer.mediaType)).toEqual([mediaType, mediaType]);
      } else {
        expect(raw.json.config?.digest).toBe(canonical);
      }
      // Nothing but the destination is left in its directory (no temp file or spool dir beside it).
      expect((await readdir(out)).length).toBe(1);
    });
  });
});

describe('usage errors: exit 2, one line on stderr, nothing written', () => {
  const cases: { name: string; args: (out: string) => string[]; pattern: RegExp; json?: true }[] = [
    { name: 'an --epoch that is no date', args: (out) => ['--epoch', 'yesterday', '-o', join(out, 'x.tar')], pattern: /--epoch: "yesterday" is neither/, json: true },
    { name: 'an unknown rule in --disable', args: (out) => ['--disable', 'no-such-rule', '-o', join(out, 'x.tar')], pattern: /unknown rule "no-such-rule"/ },
    { name: 'a bogus --compression', args: (out) => ['--compression', 'bogus', '-o', join(out, 'x.tar')], pattern: /compression/ },
    { name: 'an output to the docker daemon', args: () => ['-o', 'docker-daemon:app:latest'], pattern: /writing to docker-daemon is not supported/ },
    { name: 'a compressed archive output', args: (out) => ['-o', join(out, 'x.tar.gz')], pattern: /compressed archives are not written/ },
    { name: 'an output in a directory that does not exist', args: (out) => ['-o', join(out, 'missing', 'x.tar')], pattern: /parent directory .* does not exist/ },
  ];
  const results: { out: string; text: CliRun; json?: CliRun }[] = [];
  beforeAll(async () => {
    const outs = await Promise.all(cases.map(() => freshDir('usage')));
    const runs = await Promise.all(
      cases.map(async (c, i) => {
        const args = ['normalize', `oci:${layout}`, ...c.args(outs[i]!)];
        const [text, json] = await Promise.all([runCli(args), c.json ? runCli([...args, '--json']) : undefined]);
        return { out: outs[i]!, text, json };
      }),
    );
    results.push(...runs);
  }, 60_000);

  cases.forEach((c, i) => {
    it(c.name, async () => {
      const { out, text, json } = results[i]!;
      expect(text.code, text.stderr).toBe(2);
      expect(text.stdout).toBe('');
      expect(text.stderr.trim().split('\n'), text.stderr).toHaveLength(1);
      expect(text.stderr).toMatch(c.pattern);
      if (json) {
        expect(json.code).toBe(2);
        expect(JSON.parse(json.stdout).error).toMatchObject({ exitCode: 2 });
      }
      expect(await readdir(out)).toEqual([]);
    });
  });

  it('a bad SOURCE_DATE_EPOCH is a usage error too (the epoch test shows --epoch overrides it)', T, async () => {
    const bad = await runCli(['normalize', `oci:${layout}`], { env: { SOURCE_DATE_EPOCH: 'last tuesday' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/SOURCE_DATE_EPOCH: "last tuesday"/);
  });
});

describe('bad input: exit 3, and nothing at the destination or beside it', () => {
  it('a layer blob whose bytes do not match its digest (found while writing), and a file that is no image', T, async () => {
    const garbage = dir.join('garbage.tar');
    await writeFile(garbage, Buffer.alloc(4096, 7));
    const cases = [
      { source: `oci:${corrupt}`, dest: (out: string) => join(out, 'x.tar') },
      { source: garbage, dest: (out: string) => join(out, 'x.tar') },
    ];
    const outs = await Promise.all(cases.map(() => freshDir('bad-input')));
    const runs = await Promise.all(cases.map((c, i) => runCli(['normalize', c.source, '-o', c.dest(outs[i]!)])));
    for (const [i, run] of runs.entries()) {
      expect(run.code, run.stderr).toBe(3);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      // The temp directory beside the destination (layer blobs are spooled there) is gone too.
      expect(await readdir(outs[i]!)).toEqual([]);
    }
    expect(runs[0]!.stderr).toContain(image.layers[1].digest);
    expect(runs[1]!.stderr).toContain(garbage);
  });
});

describe('an existing destination', () => {
  it('is refused without --overwrite (exit 2), before any layer is read, and left intact; --overwrite replaces it', T, async () => {
    const out = await freshDir('existing');
    const file = join(out, 'image.tar');
    await writeFile(file, 'precious');
    const layoutDest = join(out, 'layout');
    await cp(layout, layoutDest, { recursive: true });
    const layoutBefore = await listing(layoutDest);

    const [toFile, toLayout, corruptToFile] = await Promise.all([
      runCli(['normalize', `oci:${layout}`, '-o', file]),
      runCli(['normalize', `oci:${layout}`, '-o', `oci:${layoutDest}`, '--compression', 'none']),
      // Refused before any layer is read: the corrupt layer is never reached.
      runCli(['normalize', `oci:${corrupt}`, '-o', file]),
    ]);
    for (const run of [toFile, toLayout, corruptToFile]) {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/destination exists .*hint: .*--overwrite/);
    }
    expect(await readFile(file, 'utf8')).toBe('precious');
    expect(await listing(layoutDest)).toEqual(layoutBefore);
    expect((await readdir(out)).sort()).toEqual(['image.tar', 'layout']);

    const fileReplaced = await runCli(['normalize', `oci:${layout}`, '-o', file, '--overwrite']);
    expect(fileReplaced.code).toBe(0);
    const loaded = await loadImage(file);
    expect(loaded.config.digest).toBe(printed(fileReplaced.stdout, 'canonical digest'));
    await loaded.close();
    expect((await readdir(out)).sort()).toEqual(['image.tar', 'layout']);
  });
});

describe('the epoch: SOURCE_DATE_EPOCH is honoured, --epoch wins, seconds and RFC 3339 mean the same', () => {
  /** The written image's config dates and every layer entry's mtime, read back from the archive. */
  async function datesOf(path: string): Promise<{ created: string; mtimes: Set<number> }> {
    const loaded = await loadImage(path);
    try {
      const mtimes = new Set<number>();
      for (const layer of loaded.layers) {
        const chunks: Buffer[] = [];
        for await (const chunk of await layer.openTar()) chunks.push(chunk as Buffer);
        for (const entry of await readTar(Buffer.concat(chunks))) mtimes.add(entry.mtime);
      }
      return { created: String(loaded.config.parsed.created), mtimes };
    } finally {
      await loaded.close();
    }
  }

  it('dates and mtimes follow the epoch chosen', T, async () => {
    const out = await freshDir('epoch');
    const sourceDate = { SOURCE_DATE_EPOCH: '1700000000' };
    const [fromEnv, rfc, seconds] = await Promise.all([
      runCli(['normalize', `oci:${layout}`, '-o', join(out, 'env.tar'), '--json'], { env: sourceDate }),
      runCli(['normalize', `oci:${layout}`, '-o', join(out, 'rfc.tar'), '--epoch', '2024-01-01T00:00:00Z', '--json'], { env: sourceDate }),
      // --epoch wins over SOURCE_DATE_EPOCH, even one that would be an error on its own.
      runCli(['normalize', `oci:${layout}`, '-o', join(out, 'seconds.tar'), '--epoch', '1704067200', '--json'], {
        env: { SOURCE_DATE_EPOCH: 'last tuesday' },
      }),
    ]);
    const parse = (run: CliRun) => {
      expect(run.code, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as { canonicalDigest: string; options: { epoch: number } };
    };
    const [env, rfcData, secondsData, zero] = [parse(fromEnv), parse(rfc), parse(seconds), digestOnlyJson];
    expect(env.options.epoch).toBe(1_700_000_000);
    expect(rfcData.options.epoch).toBe(1_704_067_200);
    expect(secondsData.options.epoch).toBe(1_704_067_200);
    expect(zero.options.epoch).toBe(0);
    expect(rfcData.canonicalDigest).toBe(secondsData.canonicalDigest);
    expect(new Set([env.canonicalDigest, rfcData.canonicalDigest, zero.canonicalDigest]).size).toBe(3);
    expect(await readFile(join(out, 'rfc.tar'))).toEqual(await readFile(join(out, 'seconds.tar')));

    const envDates = await datesOf(join(out, 'env.tar'));
    expect(envDates.created).toBe('2023-11-14T22:13:20Z');
    expect([...envDates.mtimes]).toEqual([1_700_000_000]);
    const flagDates = await datesOf(join(out, 'rfc.tar'));
    expect(flagDates.created).toBe('2024-01-01T00:00:00Z');
    expect([...flagDates.mtimes]).toEqual([1_704_067_200]);
  });
});
