/**
 * The Node versions CI tests on (scripts/node-versions.sh): pinned and checked builds, a skip list that
 * names real files, `npm test` running them, and zstd-napi optional (the build must not need it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/golden.js';
import { inCi } from './helpers/real-tools.js';

const script = () => readFile(join(repoRoot, 'scripts', 'node-versions.sh'), 'utf8');
const nodeRoot = process.env.OCI_REPRO_NODE_ROOT ?? '/opt/oci-repro-node';

async function pins(): Promise<Array<{ version: string; integrity: string }>> {
  const text = await script();
  const block = /NODE_PINS=\(\n([\s\S]*?)\n\)/.exec(text)?.[1] ?? '';
  return [...block.matchAll(/^\s*"(\S+) (\S+)"$/gm)].map((m) => ({ version: m[1]!, integrity: m[2]! }));
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

describe('Node 22 and 24 in CI', () => {
  it('pins one 22 (with zstd in zlib: 22.15 or later) and one 24, each with a sha512 integrity', async () => {
    const pinned = await pins();
    expect(pinned.map((p) => p.version.split('.')[0])).toEqual(['22', '24']);
    for (const { version, integrity } of pinned) {
      expect(version).toMatch(/^\d+\.\d+\.\d+$/);
      expect(integrity, version).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    }
    expect(Number(pinned[0]!.version.split('.')[1])).toBeGreaterThanOrEqual(15);
  });

  it('the skip list names test files that exist, once each', async () => {
    const text = await readFile(join(repoRoot, 'scripts', 'node-versions-skip.txt'), 'utf8');
    const paths = text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')).map((line) => line.split(/\s+/)[0]!);
    expect(paths.length).toBeGreaterThan(0);
    expect(new Set(paths).size).toBe(paths.length);
    for (const path of paths) {
      expect(path).toMatch(/^test\/.+\.test\.ts$/);
      expect(existsSync(join(repoRoot, path)), path).toBe(true);
    }
  });

  it('npm test ends with the run on the other Node versions', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).toMatch(/&& vitest run && bash scripts\/node-versions\.sh test$/);
  });

  it.skipIf(!inCi && !existsSync(nodeRoot))('the pinned builds are installed and run (CI: .ci/run installs them)', async () => {
    for (const { version } of await pins()) {
      const node = join(nodeRoot, version, 'bin', 'node');
      expect(existsSync(node), node).toBe(true);
      expect(execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${version}`);
    }
  });
});

describe('zstd-napi is optional', () => {
  it('is an optional dependency, and no source file imports it by name (the build must not need it)', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    expect(pkg.dependencies?.['zstd-napi']).toBeUndefined();
    expect(pkg.optionalDependencies?.['zstd-napi']).toBeDefined();
    const importers: string[] = [];
    for (const file of await sourceFiles(join(repoRoot, 'src'))) {
      if (/from 'zstd-napi'|import\('zstd-napi'\)/.test(await readFile(file, 'utf8'))) importers.push(relative(repoRoot, file));
    }
    expect(importers).toEqual([]);
  });
});
