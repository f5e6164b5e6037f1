// ELF files linked by gcc (and a Go build-id note added by objcopy): pairs that differ in exactly the
// sections and build ids the decoder reports; readelf is the oracle for the section table.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareElf, decodeElf, type ElfDecoding } from '../../src/formats/elf.js';
import { bufferSource, type FieldChange, openFileSource } from '../../src/formats/model.js';
import { caughtError } from '../helpers/errors.js';
import { findTool, makeTempDir, removeTempDir, runTool, skipWithoutTools } from '../helpers/real-tools.js';

const brief = (changes: FieldChange[]) => changes.map(({ where, field }) => `${where}.${field}`);
const idA = '0123456789abcdef0123456789abcdef01234567';
const idB = 'fedcba9876543210fedcba9876543210fedcba98';

async function decodeFile(path: string): Promise<ElfDecoding> {
  const source = await openFileSource(path);
  try {
    return await decodeElf(source);
  } finally {
    await source.close();
  }
}

/** A Go build-id note as Go's linker writes it: name "Go\0\0", type 4, the id string as descriptor. */
function goNote(id: string): Buffer {
  const desc = Buffer.from(id, 'latin1');
  const head = Buffer.alloc(12);
  head.writeUInt32LE(4, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(4, 8);
  return Buffer.concat([head, Buffer.from('Go\0\0', 'latin1'), desc, Buffer.alloc((4 - (desc.length % 4)) % 4)]);
}

describe.skipIf(skipWithoutTools('gcc', 'objcopy', 'readelf'))('ELF from gcc, objcopy and readelf', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('oci-repro-elf-');
    await writeFile(join(dir, 'main.c'), 'int main(void) { return 0; }\n');
    await writeFile(join(dir, 'other.c'), 'int main(void) { return 1; }\n');
    const link = (source: string, id: string, out: string) => runTool('gcc', ['-O1', '-o', out, `-Wl,--build-id=0x${id}`, source], { cwd: dir });
    await Promise.all([link('main.c', idA, 'a'), link('main.c', idB, 'b'), link('other.c', idA, 'c')]);
    const withNote = async (from: string, id: string, out: string) => {
      await writeFile(join(dir, `${out}.note`), goNote(id));
      await runTool('objcopy', ['--add-section', `.note.go.buildid=${out}.note`, '--set-section-flags', '.note.go.buildid=alloc,readonly', from, out], { cwd: dir });
    };
    await withNote('a', 'abcdEFGH/ijklMNOP/qrstUVWX/yz012345', 'goA');
    await withNote('a', 'abcdEFGH/ijklMNOP/qrstUVWX/yz099999', 'goB');
  });
  afterAll(() => removeTempDir(dir));

  it('reads the section table as readelf does, and the GNU build-id', async () => {
    const a = await decodeFile(join(dir, 'a'));
    const { stdout } = await runTool('readelf', ['-SW', join(dir, 'a')]);
    const names = [...stdout.toString().matchAll(/^\s*\[\s*(\d+)\]\s+(\S+)/gm)].filter((m) => m[1] !== '0').map((m) => m[2]);
    expect(a.sections.map((s) => s.name)).toEqual(names);
    expect(a).toMatchObject({ bits: 64, endian: 'little', gnuBuildId: idA, goBuildId: undefined });
    expect(a.sections.find((s) => s.name === '.bss')?.sha256).toBe('');
  });

  it('two --build-id values: only the build-id note differs', async () => {
    const changes = compareElf(await decodeFile(join(dir, 'a')), await decodeFile(join(dir, 'b')));
    expect(brief(changes)).toEqual(['notes.gnu-build-id', '.note.gnu.build-id.sha256']);
    expect(changes[0]).toMatchObject({ a: idA, b: idB });
  });

  it('another source, same build-id: the code sections differ, the note does not', async () => {
    const changes = brief(compareElf(await decodeFile(join(dir, 'a')), await decodeFile(join(dir, 'c'))));
    expect(changes).toContain('.text.sha256');
    expect(changes.some((c) => c.startsWith('notes.') || c.startsWith('.note'))).toBe(false);
  });

  it('two Go build ids: the Go note and its section differ, nothing else', async () => {
    const a = await decodeFile(join(dir, 'goA'));
    const b = await decodeFile(join(dir, 'goB'));
    expect(a.goBuildId).toBe('abcdEFGH/ijklMNOP/qrstUVWX/yz012345');
    const changes = compareElf(a, b);
    expect(brief(changes)).toEqual(['notes.go-build-id', '.note.go.buildid.sha256']);
    expect(changes[0]!.b).toBe('abcdEFGH/ijklMNOP/qrstUVWX/yz099999');
  });

  it('bad input: not ELF, truncated, a section past the end: one line, exit 3', async () => {
    const bytes = await readFile(join(dir, 'a'));
    const notElf = await caughtError(decodeElf(bufferSource(Buffer.from('#!/bin/sh\necho hi\n'))));
    expect(notElf).toMatchObject({ code: 'CORRUPT_ARCHIVE', exitCode: 3 });
    expect(notElf.line).toBe('elf: no ELF magic (7f 45 4c 46) at byte 0 (hint: not an ELF file)');
    expect((await caughtError(decodeElf(bufferSource(bytes.subarray(0, 40))))).message).toBe('elf: header truncated at 40 bytes');
    const half = await caughtError(decodeElf(bufferSource(bytes.subarray(0, bytes.length >> 1))));
    expect(half.line).toMatch(/^elf: truncated section header \d+: needs bytes \d+\.\.\d+, the file has \d+ \(hint: the file may be truncated\)$/);
    // Point .text past the end of the file.
    const shoff = Number(bytes.readBigUInt64LE(40));
    const damaged = Buffer.from(bytes);
    const textIndex = (await decodeElf(bufferSource(bytes))).sections.findIndex((s) => s.name === '.text') + 1;
    damaged.writeBigUInt64LE(BigInt(bytes.length), shoff + textIndex * 64 + 24);
    expect((await caughtError(decodeElf(bufferSource(damaged)))).message).toMatch(/^elf: section \.text \(bytes \d+\.\.\d+\) lies past the end of the \d+-byte file$/);
  });
});

describe.skipIf(skipWithoutTools('umoci', 'readelf'))('a real Go binary (umoci, which CI installs)', () => {
  it('has the Go build id readelf shows, and a GNU build-id', async () => {
    const umoci = findTool('umoci')!;
    const decoded = await decodeFile(umoci);
    const notes = (await runTool('readelf', ['-nW', umoci])).stdout.toString();
    const goBlock = notes.slice(notes.indexOf('.note.go.buildid'));
    const hex = /description data: ([0-9a-f ]+)/.exec(goBlock)?.[1]?.replace(/ /g, '');
    expect(hex).toBeDefined();
    expect(decoded.goBuildId).toBe(Buffer.from(hex!, 'hex').toString('latin1'));
    expect(decoded.goBuildId).toMatch(/^[\w-]+(\/[\w-]+)+$/);
    expect(notes).toContain(`Build ID: ${decoded.gnuBuildId}`);
  });
});

