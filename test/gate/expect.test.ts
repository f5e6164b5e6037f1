import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, OciReproError } from '../../src/errors.js';
import { checkExpectation, parseExpectation } from '../../src/gate/expect.js';
import { renderReport } from '../../src/report/render.js';
import { buildFixedReport } from '../report/fixed-report.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oci-repro-expect-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;

async function failure(value: string): Promise<OciReproError> {
  const error = await parseExpectation(value).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(OciReproError);
  return error as OciReproError;
}

describe('parseExpectation', () => {
  it('takes a sha256 digest as is', async () => {
    expect(await parseExpectation(digest)).toEqual({ canonicalDigest: digest, source: 'argument' });
    expect(await parseExpectation(` ${digest}\n`)).toEqual({ canonicalDigest: digest, source: 'argument' });
  });

  it('takes A’s canonical digest from a verify report written by the JSON renderer', async () => {
    const report = buildFixedReport();
    const path = join(dir, 'report.json');
    await writeFile(path, renderReport(report, 'json', { color: false }));
    expect(await parseExpectation(path)).toEqual({ canonicalDigest: report.a.canonicalDigest, source: path });
  });

  it('takes canonicalDigest from normalize --json output, or a file holding only the digest', async () => {
    const normalized = join(dir, 'normalized.json');
    await writeFile(normalized, JSON.stringify({ canonicalDigest: digest, output: 'oci:out', applied: [] }));
    expect((await parseExpectation(normalized)).canonicalDigest).toBe(digest);
    const plain = join(dir, 'digest.txt');
    await writeFile(plain, `${digest}\n`);
    expect((await parseExpectation(plain)).canonicalDigest).toBe(digest);
  });

  it.each([
    ['sha256:abc', 'is not a sha256 digest'],
    [`sha256:${'A'.repeat(64)}`, 'is not a sha256 digest'],
    ['0123456789abcdef'.repeat(4), 'lacks the sha256: prefix'],
    [`sha512:${'ab'.repeat(64)}`, 'canonical digests are sha256'],
  ])('rejects %s with exit 2', async (value, fragment) => {
    const error = await failure(value);
    expect(error.exitCode).toBe(ExitCode.usage);
    expect(error.message).toContain(fragment);
  });

  it.each([
    ['not JSON', 'hello', 'not JSON'],
    ['a JSON list', '[1]', 'expected a JSON object'],
    ['some other JSON', '{"digest": "x"}', 'holds neither'],
    ['a report of another schema version', JSON.stringify({ schemaVersion: 2, a: { canonicalDigest: digest } }), 'schema version 2'],
    ['a report without A’s digest', JSON.stringify({ schemaVersion: 1, a: {} }), 'no a.canonicalDigest'],
    ['a bad digest in a report', JSON.stringify({ schemaVersion: 1, a: { canonicalDigest: 'sha256:xyz' } }), 'a.canonicalDigest'],
    ['a bad digest from normalize', JSON.stringify({ canonicalDigest: 'md5:abc' }), 'canonicalDigest'],
  ])('rejects a file holding %s with exit 2, naming it', async (_name, content, fragment) => {
    const path = join(dir, 'bad-expect.json');
    await writeFile(path, content);
    const error = await failure(path);
    expect(error.exitCode).toBe(ExitCode.usage);
    expect(error.message).toContain(path);
    expect(error.message).toContain(fragment);
  });

  it('is exit 4 for a missing file', async () => {
    const error = await failure(join(dir, 'no-such-report.json'));
    expect(error.exitCode).toBe(ExitCode.unavailable);
    expect(error.message).toContain('no-such-report.json');
  });
});

describe('checkExpectation', () => {
  it('says which image and where the expectation came from', () => {
    const expectation = { canonicalDigest: digest, source: 'golden/report.json' };
    expect(checkExpectation(expectation, { label: 'B', canonicalDigest: digest })).toEqual({
      passed: true,
      reason: `B has the expected canonical digest ${digest} (from golden/report.json)`,
    });
    const other = `sha256:${'f'.repeat(64)}`;
    const failed = checkExpectation(expectation, { label: 'B', canonicalDigest: other });
    expect(failed.passed).toBe(false);
    expect(failed.reason).toBe(`B has canonical digest ${other}, expected ${digest} (from golden/report.json)`);
  });
});
