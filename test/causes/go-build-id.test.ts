/**
 * The go-build-id cause: a Go binary whose ELF differs only in Go's build id (the note
 * `.note.go.buildid`, as Go's linker writes it) is named, with the fix (-trimpath, -buildvcs=false,
 * -ldflags=-buildid=); a binary that also differs in its code, or only in the GNU build-id, is not.
 * ELF files linked by gcc with the Go note added by objcopy, so no Go compiler is needed; end to end
 * through verify on image pairs built in code, and on the decoded detail alone.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCauseEntry } from '../../src/causes/catalogue.js';
import { matchCause } from '../../src/causes/match.js';
import type { Difference } from '../../src/diff/model.js';
import { compareElf, decodeElf } from '../../src/formats/elf.js';
import { bufferSource } from '../../src/formats/model.js';
import { verifyImages } from '../../src/app/verify.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import { TempDir } from '../helpers/images.js';
import { buildFixture, writeInForm } from '../helpers/noise.js';
import { makeTempDir, removeTempDir, runTool, skipWithoutTools } from '../helpers/real-tools.js';

const mtime = new Date('2024-01-15T08:00:00Z');
const binary = 'usr/local/bin/server';

/** A Go build-id note as Go's linker writes it: name "Go\0\0", type 4, the id string as descriptor. */
function goNote(id: string): Buffer {
  const desc = Buffer.from(id, 'latin1');
  const head = Buffer.alloc(12);
  head.writeUInt32LE(4, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(4, 8);
  return Buffer.concat([head, Buffer.from('Go\0\0', 'latin1'), desc, Buffer.alloc((4 - (desc.length % 4)) % 4)]);
}

const idA = 'Xq3bR0sZkP1yW8vN4mTa/h7Lc2Jd9Ue5Gf6Ko0Mp/Yt1Ru3Sw5Vx7Zb9Nd2/Qa4Ce6Eg8Gi0Ik2Mo';
const idB = 'Xq3bR0sZkP1yW8vN4mTa/h7Lc2Jd9Ue5Gf6Ko0Mp/Yt1Ru3Sw5Vx7Zb9Nd2/Pz3Bd5Df7Fh9Hj1Jl';

describe.skipIf(skipWithoutTools('gcc', 'objcopy'))('go-build-id: a Go binary that differs only in its build id', () => {
  let tools: string;
  let dir: TempDir;
  const elf: Record<string, Buffer> = {};

  beforeAll(async () => {
    tools = await makeTempDir('oci-repro-go-build-id-');
    dir = await TempDir.create('oci-repro-go-build-id-images-');
    await writeFile(join(tools, 'main.c'), 'int main(void) { return 0; }\n');
    await writeFile(join(tools, 'other.c'), 'int main(void) { return 1; }\n');
    // One GNU build-id for all, so only what each pair is about differs.
    const link = (source: string, out: string, gnuId = '0123456789abcdef0123456789abcdef01234567') =>
      runTool('gcc', ['-O1', '-o', out, `-Wl,--build-id=0x${gnuId}`, source], { cwd: tools });
    await Promise.all([link('main.c', 'main'), link('other.c', 'other'), link('main.c', 'main-gnu', 'fedcba9876543210fedcba9876543210fedcba98')]);
    const withNote = async (from: string, id: string, out: string) => {
      await writeFile(join(tools, `${out}.note`), goNote(id));
      await runTool('objcopy', ['--add-section', `.note.go.buildid=${out}.note`, '--set-section-flags', '.note.go.buildid=alloc,readonly', from, out], { cwd: tools });
      elf[out] = await readFile(join(tools, out));
    };
    await Promise.all([
      withNote('main', idA, 'go-a'),
      withNote('main', idB, 'go-b'),
      withNote('other', idB, 'go-other-code'),
      withNote('main-gnu', idA, 'go-a-gnu'),
    ]);
  });
  afterAll(async () => {
    await removeTempDir(tools);
    await dir?.remove();
  });

  /** Verifies a pair of one-binary images and returns the remaining differences of the binary. */
  async function verifyPair(name: string, a: Buffer, b: Buffer): Promise<Difference[]> {
    const image = (content: Buffer) =>
      buildFixture({
        layers: [
          { entries: [{ name: 'etc/os-release', content: 'ID=example\n', mtime }], createdBy: '/bin/sh -c #(nop) ADD file:0a1b2c3d4e5f6a7b in / ' },
          { entries: [{ name: binary, content, mode: 0o755, mtime }], createdBy: '/bin/sh -c go build -o /usr/local/bin/server ./cmd/server' },
        ],
      });
    const refA = await writeInForm(dir, `${name}-a`, await image(a), 'oci-archive');
    const refB = await writeInForm(dir, `${name}-b`, await image(b), 'oci-archive');
    const report = await verifyImages({ a: refA, b: refB, normalize: defaultNormalizeOptions });
    expect(report.verdict).toBe('not-reproducible');
    return report.differences.filter((difference) => difference.file === binary && !difference.neutralized);
  }

  it('only the Go build id differs: named go-build-id, with its fix, through verify', async () => {
    const [content] = await verifyPair('only-id', elf['go-a']!, elf['go-b']!);
    expect(content).toMatchObject({ attribute: 'content', detail: { format: 'decoded', decoder: 'elf' } });
    const entry = findCauseEntry('go-build-id')!;
    expect(content!.cause).toEqual({ id: 'go-build-id', title: entry.title });
    expect(content!.hint).toBe(entry.fix);
    expect(entry.fix).toContain('-trimpath');
    expect(entry.fix).toContain('-buildvcs=false');
  });

  it('the code differs as well: not go-build-id (no known cause)', async () => {
    const [content] = await verifyPair('other-code', elf['go-a']!, elf['go-other-code']!);
    expect(content?.detail?.format).toBe('decoded');
    expect(content!.cause).toBeNull();
  });

  it('on the decoded detail alone: the Go id, not the GNU build-id nor the code', async () => {
    const decoded = async (x: string, y: string): Promise<Difference> => ({
      kind: 'file-attribute',
      path: `layers/1/${binary}#content`,
      layer: 1,
      file: binary,
      attribute: 'content',
      a: 'sha256:a',
      b: 'sha256:b',
      neutralized: false,
      cause: null,
      detail: {
        format: 'decoded',
        decoder: 'elf',
        sizeA: elf[x]!.length,
        sizeB: elf[y]!.length,
        digestA: 'sha256:a',
        digestB: 'sha256:b',
        changes: compareElf(await decodeElf(bufferSource(elf[x]!)), await decodeElf(bufferSource(elf[y]!))),
      },
    });
    expect(matchCause(await decoded('go-a', 'go-b'))?.id).toBe('go-build-id');
    // Same Go id, other GNU build-id: something else than Go's id differs.
    expect(matchCause(await decoded('go-a', 'go-a-gnu'))?.id).toBeUndefined();
    // Both the Go id and the GNU build-id: the GNU id is not Go's to explain.
    expect(matchCause(await decoded('go-b', 'go-a-gnu'))?.id).toBeUndefined();
    expect(matchCause(await decoded('go-a', 'go-other-code'))?.id).toBeUndefined();
    // The same change on a non-ELF detail is not an ELF's.
    const notElf = await decoded('go-a', 'go-b');
    if (notElf.detail?.format === 'decoded') notElf.detail.decoder = 'zip';
    expect(matchCause(notElf)).toBeNull();
  });
});
