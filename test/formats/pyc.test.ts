// .pyc headers made by the real py_compile: a pair that differs in exactly what the header records.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparePyc, decodePyc, pythonOfMagic } from '../../src/formats/pyc.js';
import { thrownError } from '../helpers/errors.js';
import { makeTempDir, removeTempDir, runTool, skipWithoutTools } from '../helpers/real-tools.js';

const source = 'def greet(name):\n    return f"hello {name}"\n';

interface Job {
  mtime: number;
  mode: 'TIMESTAMP' | 'CHECKED_HASH' | 'UNCHECKED_HASH';
  text?: string;
}

// One python run compiles every variant (interpreter start-up is the slow part). The source path is
// the same for all, since the code object records it.
const compileScript = `
import json, os, py_compile, sys
src = os.path.join(sys.argv[1], 'module.py')
for i, job in enumerate(json.loads(sys.argv[2])):
    with open(src, 'w') as f: f.write(job['text'])
    os.utime(src, (job['mtime'], job['mtime']))
    py_compile.compile(src, cfile=os.path.join(sys.argv[1], '%d.pyc' % i), doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode[job['mode']])
print('%d.%d' % sys.version_info[:2])
`;

/** Compiles each job's source with py_compile; the pycs' bytes, in order, and the Python version. */
async function compileAll(dir: string, jobs: Job[]): Promise<{ pycs: Buffer[]; python: string }> {
  // SOURCE_DATE_EPOCH would force hash-based pycs; it is unset so each mode is the one asked for.
  const env = { ...process.env, SOURCE_DATE_EPOCH: undefined };
  const list = jobs.map((job) => ({ ...job, text: job.text ?? source }));
  const { stdout } = await runTool('python3', ['-c', compileScript, dir, JSON.stringify(list)], { env });
  const pycs = await Promise.all(jobs.map((_, i) => readFile(join(dir, `${i}.pyc`))));
  return { pycs, python: stdout.toString().trim() };
}

describe.skipIf(skipWithoutTools('python3'))('pyc headers from py_compile', () => {
  let dir: string;
  let python: string;
  let pycs: Buffer[];
  beforeAll(async () => {
    dir = await makeTempDir('oci-repro-pyc-');
    ({ pycs, python } = await compileAll(dir, [
      { mtime: 1_700_000_000, mode: 'TIMESTAMP' },
      { mtime: 1_700_086_400, mode: 'TIMESTAMP' },
      { mtime: 1_700_000_000, mode: 'CHECKED_HASH' },
      { mtime: 1_700_000_000, mode: 'UNCHECKED_HASH' },
      { mtime: 1_700_000_000, mode: 'TIMESTAMP', text: `${source}X = 1\n` },
    ]));
  });
  afterAll(() => removeTempDir(dir));

  it('two source mtimes: the pair differs only in the recorded source mtime, shown as dates', () => {
    const a = decodePyc(pycs[0]!);
    const b = decodePyc(pycs[1]!);
    expect(a.kind).toBe('timestamp');
    expect(a.python).toBe(python);
    expect(a.sourceSize).toBe(Buffer.byteLength(source));
    expect(comparePyc(a, b)).toEqual([
      expect.objectContaining({ where: 'header', field: 'source-mtime', a: '2023-11-14T22:13:20Z', b: '2023-11-15T22:13:20Z' }),
    ]);
    expect(comparePyc(a, a)).toEqual([]);
  });

  it('a timestamp pyc against a hash-based one (as SOURCE_DATE_EPOCH makes): invalidation and hash named', () => {
    const a = decodePyc(pycs[0]!);
    const b = decodePyc(pycs[2]!);
    expect(b).toMatchObject({ kind: 'checked-hash', flags: 3 });
    expect(b.sourceHash).toMatch(/^[0-9a-f]{16}$/);
    const fields = comparePyc(a, b).map((c) => c.field);
    expect(fields).toEqual(['invalidation', 'source-mtime', 'source-size', 'source-hash']);
    const unchecked = decodePyc(pycs[3]!);
    expect(unchecked.kind).toBe('unchecked-hash');
    expect(unchecked.sourceHash).toBe(b.sourceHash);
  });

  it('another source: the code object and the source size differ too', () => {
    const a = decodePyc(pycs[0]!);
    const b = decodePyc(pycs[4]!);
    expect(comparePyc(a, b).map((c) => `${c.where}.${c.field}`)).toEqual(['header.source-size', 'code.sha256']);
  });

  it('another magic is named with its Python version', () => {
    const a = decodePyc(pycs[0]!);
    const magic = comparePyc(a, { ...a, magic: 3413, python: pythonOfMagic(3413) }).find((c) => c.field === 'magic');
    expect(magic).toMatchObject({ a: `${a.magic} (Python ${python})`, b: '3413 (Python 3.8)' });
  });
});

describe('pyc headers built in code', () => {
  const header = (magic: number, words: number[]) => {
    const bytes = Buffer.alloc(4 + words.length * 4 + 4);
    bytes.writeUInt16LE(magic, 0);
    bytes.write('\r\n', 2, 'latin1');
    words.forEach((w, i) => bytes.writeUInt32LE(w, 4 + i * 4));
    return bytes;
  };

  it('reads the 3.3-3.6 layout (mtime, size) and the 2.7 one (mtime only)', () => {
    expect(decodePyc(header(3379, [1_600_000_000, 42]))).toMatchObject({ python: '3.6', kind: 'timestamp', sourceMtime: '2020-09-13T12:26:40Z', sourceSize: 42, headerSize: 12 });
    expect(decodePyc(header(62211, [1_600_000_000]))).toMatchObject({ python: '2.7', sourceSize: undefined, headerSize: 8 });
  });

  it('knows the release lines by magic', () => {
    expect([3394, 3413, 3425, 3439, 3495, 3531, 3571, 9999].map(pythonOfMagic)).toEqual(['3.7', '3.8', '3.9', '3.10', '3.11', '3.12', '3.13', undefined]);
  });

  it('refuses what is not a pyc, a truncated header and an input over the cap, in one line', () => {
    expect(thrownError(() => decodePyc(Buffer.from('#!/usr/bin/env python3\n'))).message).toBe('pyc: no magic number followed by \\r\\n in the first 4 bytes');
    const truncated = thrownError(() => decodePyc(header(3495, [0, 1]).subarray(0, 10)));
    expect(truncated).toMatchObject({ code: 'CORRUPT_ARCHIVE', exitCode: 3 });
    expect(truncated.line).toBe('pyc: header of 16 bytes truncated at 10 (hint: the file may be truncated)');
    expect(thrownError(() => decodePyc(Buffer.alloc(100, 0x0d), 64)).message).toBe('pyc: input of 100 bytes is larger than the 64-byte limit');
  });
});
