// A fleet on worker threads, through the real binary: --jobs 3 (threads) gives the report --jobs 1 (this
// thread) gives, byte for byte apart from timings, in every format; a thread that crashes is its pair's
// error and the rest finish; SIGINT ends the threads with the process and leaves nothing in TMPDIR.
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyFleet } from '../../src/fleet/verify-fleet.js';
import { loadPairsFile } from '../../src/fleet/pairs-file.js';
import { defaultNormalizeOptions } from '../../src/normalize/options.js';
import type { FleetReport } from '../../src/report/fleet-model.js';
import { binPath, cliEnv, runCli, type CliRun } from '../helpers/cli.js';
import { TempDir } from '../helpers/images.js';
import { writeImagePairs, type ImagePair, type PairName } from '../app/fixtures.js';

let dir: TempDir;
let pairs: Record<PairName, ImagePair>;
let runs: Record<'one' | 'three' | 'oneText' | 'threeText' | 'threeJunit' | 'crashed', CliRun>;

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: dir.path, env });
const fleetArgs = (jobs: number, format: string) => ['verify', '--pairs', 'pairs.yaml', '--jobs', String(jobs), '--format', format];
/** The output with its wall times zeroed: JSON `durationMs`, text `1.2 s`, JUnit `time="…"`. */
const timeless = (text: string) => text.replace(/"durationMs": \d+/g, '"durationMs": 0').replace(/\b\d+\.\d s\b/g, '0.0 s').replace(/time="[\d.]+"/g, 'time="0"');
const parse = (run: CliRun) => JSON.parse(run.stdout) as FleetReport;
const withoutTimes = (report: FleetReport) => ({ ...report, durationMs: 0, pairs: report.pairs.map((pair) => ({ ...pair, durationMs: 0 })) });

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-fleet-threads-');
  pairs = await writeImagePairs(dir);
  await writeFile(dir.join('corrupt.tar'), 'this is not an image archive\n');
  await writeFile(dir.join('accept.yaml'), 'version: 1\naccept:\n  - kinds: [file-attribute]\n    reason: tested\n');
  const entries = [
    { name: 'identical', ...pairs.identical },
    { name: 'reproducible', ...pairs.reproducible },
    { name: 'not-reproducible', ...pairs['not-reproducible'] },
    { name: 'corrupt', a: 'corrupt.tar', b: pairs.reproducible.b },
    { name: 'missing', a: 'missing.tar', b: pairs.reproducible.b },
    { name: 'with-policy', ...pairs['not-reproducible'], policy: 'accept.yaml' },
    { name: 'policy-missing', ...pairs.reproducible, policy: 'no-such-policy.yaml' },
    { name: 'expected', a: pairs.reproducible.a, expect: `sha256:${'0'.repeat(64)}` },
    { name: 'layer-count', ...pairs['layer-count'] },
  ];
  await writeFile(dir.join('pairs.yaml'), entries.map((entry) => `- ${JSON.stringify(entry)}\n`).join(''));
  const [one, three, oneText, threeText, threeJunit, crashed] = await Promise.all([
    cli(fleetArgs(1, 'json')),
    cli(fleetArgs(3, 'json')),
    cli(fleetArgs(1, 'text')),
    cli(fleetArgs(3, 'text')),
    cli(fleetArgs(3, 'junit')),
    cli(fleetArgs(3, 'json'), { OCI_REPRO_TEST_FLEET_CRASH: 'not-reproducible' }),
  ]);
  runs = { one: one!, three: three!, oneText: oneText!, threeText: threeText!, threeJunit: threeJunit!, crashed: crashed! };
}, 300_000);
afterAll(async () => dir?.remove());

describe('verify --pairs on worker threads', () => {
  it('gives with 3 jobs the JSON report of 1 job, byte for byte apart from timings', () => {
    for (const run of [runs.one, runs.three]) expect(run.stderr).toBe('');
    expect(timeless(runs.three.stdout)).toBe(timeless(runs.one.stdout));
    const report = parse(runs.three);
    const byName = Object.fromEntries(report.pairs.map((pair) => [pair.name, pair]));
    expect(byName.reproducible).toMatchObject({ verdict: 'reproducible', exitCode: 0 });
    expect(byName['not-reproducible']).toMatchObject({ verdict: 'not-reproducible', exitCode: 1 });
    expect(byName.corrupt).toMatchObject({ verdict: 'error', exitCode: 3 });
    expect(byName.missing).toMatchObject({ verdict: 'error', exitCode: 4 });
    expect(byName.missing!.reason).toMatch(/^pair "missing": .*missing\.tar/);
    // The policy, read once by the fleet, reached the thread as data: the report names it and it accepted.
    expect(byName['with-policy']!.report).toMatchObject({ options: { policy: 'accept.yaml' } });
    expect(byName['with-policy']!.report).not.toEqual(byName['not-reproducible']!.report);
    expect(byName['policy-missing']).toMatchObject({ verdict: 'error', exitCode: 4 });
    expect(byName['policy-missing']!.reason).toMatch(/^pair "policy-missing": reading policy no-such-policy\.yaml: no such file/);
    expect(report).toMatchObject({ exitCode: 4, counts: { pairs: 9, errors: 3 } });
    expect([runs.one.code, runs.three.code]).toEqual([4, 4]);
  });

  it('renders the same text with 3 jobs as with 1 (timings aside)', () => {
    expect(runs.threeText.stderr).toBe('');
    expect(timeless(runs.threeText.stdout)).toBe(timeless(runs.oneText.stdout));
    expect(runs.threeText.stdout).toContain('=== with-policy ===');
    expect(runs.threeJunit.stdout.match(/<testsuite name=/g)).toHaveLength(9);
  });

  it('a thread that crashes is its pair’s error (exit 70) with a clear line; the other pairs finish', () => {
    expect(runs.crashed.stderr).toBe('');
    expect(runs.crashed.code).toBe(70);
    const report = parse(runs.crashed);
    const crashed = report.pairs.find((pair) => pair.name === 'not-reproducible')!;
    expect(crashed).toMatchObject({ verdict: 'error', exitCode: 70, report: null, error: { code: 'INTERNAL', exitCode: 70 } });
    expect(crashed.reason).toMatch(
      /^pair "not-reproducible": the worker thread verifying it stopped: TypeError: crashing on pair "not-reproducible" \(OCI_REPRO_TEST_FLEET_CRASH\) \(hint: this is a bug in oci-repro/,
    );
    const others = (r: FleetReport) => withoutTimes(r).pairs.filter((pair) => pair.name !== 'not-reproducible');
    expect(others(report)).toEqual(others(parse(runs.one)));
    expect(report.counts).toEqual({ pairs: 9, passed: parse(runs.one).counts.passed, failed: parse(runs.one).counts.failed - 1, errors: 4 });
  });

  it('a report crosses from a thread exactly as it is made here (the sources in this thread, the build on threads)', { timeout: 120_000 }, async () => {
    const pairsFile = await loadPairsFile(dir.join('pairs.yaml'));
    // The CLI ran in the directory of the file: the references and the policy path made absolute.
    const absolute = (reference: string) => reference.replace(/^((?:oci-archive|docker-archive):)?(.*)$/, (_, transport: string | undefined, path: string) => `${transport ?? ''}${dir.join(path)}`);
    const file = {
      ...pairsFile,
      pairs: pairsFile.pairs.map((pair) => ({ ...pair, a: absolute(pair.a), ...(pair.b ? { b: absolute(pair.b) } : {}), ...(pair.policy ? { policy: dir.join(pair.policy) } : {}) })),
    };
    const ended: string[] = [];
    const run = (jobs: number, workerEntry: URL | null) =>
      verifyFleet({ pairsFile: file, jobs, normalize: defaultNormalizeOptions, workerEntry, onPair: (result, done) => ended.push(`${jobs}:${done}:${result.name}`) });
    const here = await run(1, null);
    const threads = await run(3, new URL('../../dist/fleet/worker.js', import.meta.url));
    expect(withoutTimes(threads)).toStrictEqual(withoutTimes(here));
    // onPair heard of every pair as it ended, counting up.
    expect(ended.filter((line) => line.startsWith('3:')).map((line) => line.split(':')[1])).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });
});

describe('SIGINT during a fleet on threads', () => {
  let server: Server;
  let socket: string;
  beforeAll(async () => {
    // A container daemon that starts every export and never finishes it.
    socket = dir.join('daemon.sock');
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-tar' });
      response.write(Buffer.alloc(4096));
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('exits 130 at once and leaves no daemon export in TMPDIR (the threads register theirs under the fleet’s directory)', { timeout: 120_000 }, async () => {
    const tmp = dir.join('tmp');
    await mkdir(tmp);
    const entries = ['one', 'two', 'three'].map((name) => ({ name, a: `docker-daemon:example/${name}:1`, b: `docker-daemon:example/${name}:2` }));
    await writeFile(dir.join('daemon-pairs.yaml'), entries.map((entry) => `- ${JSON.stringify(entry)}\n`).join(''));
    const child = spawn(process.execPath, [binPath, 'verify', '--pairs', 'daemon-pairs.yaml', '--jobs', '2'], {
      cwd: dir.path,
      env: cliEnv({ TMPDIR: tmp, DOCKER_HOST: `unix://${socket}` }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    // Both threads are mid-export: at least two exports under the fleet's directory.
    const exports = async () => {
      const found: string[] = [];
      for (const fleet of await readdir(tmp)) {
        for (const export_ of await readdir(join(tmp, fleet)).catch(() => [])) found.push(`${fleet}/${export_}`);
      }
      return found;
    };
    const deadline = Date.now() + 90_000;
    while ((await exports()).length < 2) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no two exports in flight: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // One fleet directory, holding every export (each pair reads its two images at once).
    const inFlight = await exports();
    expect(new Set(inFlight.map((path) => path.split('/')[0]))).toEqual(new Set([expect.stringMatching(/^oci-repro-fleet-\w+$/)]));
    for (const path of inFlight) expect(path).toMatch(/^oci-repro-fleet-\w+\/oci-repro-daemon-\w+$/);
    child.kill('SIGINT');
    expect(await exited).toEqual({ code: 130, signal: null });
    expect(stderr).toContain('oci-repro: interrupted by SIGINT');
    expect(await readdir(tmp)).toEqual([]);
  });
});
