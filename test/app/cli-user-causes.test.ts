// A policy's own causes end to end: the real binary over dist/ (which must find the built-in catalogue
// file it ships), the not-reproducible pair, and the gate's exit codes.
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/model.js';
import type { Difference } from '../../src/diff/model.js';
import { TempDir } from '../helpers/images.js';
import { writeImagePairs, type ImagePair } from './fixtures.js';
import { runCli } from '../helpers/cli.js';

let dir: TempDir;
let pair: ImagePair;

const causes = `version: 1
causes:
  - id: app-release
    title: the application release changes on purpose
    fix: nothing to fix; both builds are of one release only if their versions match
    selectors:
      - paths: ['opt/app/**']
        kinds: [file-attribute, file-added, file-removed]
      - pointers: ['/config/Env/*', '/build_number']
  - id: our-apt-history
    title: the apt history our base image keeps
    fix: the next base image drops it
    selectors:
      - paths: ['var/log/apt/history.log']
`;

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-user-causes-');
  pair = (await writeImagePairs(dir))['not-reproducible'];
  await writeFile(dir.join('causes.yaml'), `${causes}accept: []\n`);
  await writeFile(
    dir.join('accept-causes.yaml'),
    `${causes}accept:\n  - causes: [app-release, our-apt-history, machine-id, pyc-header, ldconfig-aux-cache, layer-diff-ids]\n    reason: known and accepted\n`,
  );
  await writeFile(dir.join('bad-cause.yaml'), 'version: 1\ncauses:\n  - id: app-release\n    title: t\n    fix: f\n    selectors: [{ paths: [opt/app/**], kinds: [file-changed] }]\naccept: []\n');
}, 60_000);
afterAll(async () => dir?.remove());

const verify = async (...args: string[]) => runCli(['verify', pair.a, pair.b, ...args], { cwd: dir.path });
const byFile = (report: Report, file: string) => report.differences.find((difference: Difference) => difference.file === file && !difference.neutralized);

describe('verify --policy with causes of its own', () => {
  it('names differences that had no known cause, and wins over a built-in cause where both match', async () => {
    const [plain, withCauses] = await Promise.all([verify('--json'), verify('--json', '--policy', 'causes.yaml')]);
    expect(plain.code).toBe(1);
    expect(withCauses.code).toBe(1);
    const before = JSON.parse(plain.stdout) as Report;
    const after = JSON.parse(withCauses.stdout) as Report;
    expect(byFile(before, 'opt/app/app.conf')?.cause).toBeNull();
    expect(byFile(after, 'opt/app/app.conf')).toMatchObject({ cause: { id: 'app-release' }, hint: expect.stringContaining('nothing to fix') });
    expect(byFile(before, 'var/log/apt/history.log')?.cause?.id).toBe('apt-logs');
    expect(byFile(after, 'var/log/apt/history.log')?.cause?.id).toBe('our-apt-history');
    // Built-in causes still name what the policy's do not.
    expect(byFile(after, 'etc/machine-id')?.cause?.id).toBe('machine-id');
    expect(before.summary.unexplained).toBeGreaterThan(0);
    expect(after.summary.unexplained).toBe(0);
    expect(after.summary.byCause.map((count) => count.cause)).toContain('app-release');
  });

  it('accepting them passes the gate (exit 0)', async () => {
    const run = await verify('--json', '--policy', 'accept-causes.yaml');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as Report;
    expect(report).toMatchObject({ verdict: 'not-reproducible', passed: true });
    expect(byFile(report, 'opt/app/app.conf')?.accepted).toEqual({ reason: 'known and accepted', rule: 'accept[0]' });
  });

  it('a bad cause entry is exit 2, one line naming the file and the entry', async () => {
    const run = await verify('--policy', 'bad-cause.yaml');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^oci-repro: error: [^\n]+\n$/);
    expect(run.stderr).toContain('policy bad-cause.yaml: causes[0].selectors[0].kinds[0]: unknown kind "file-changed"');
  });
});
