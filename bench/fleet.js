/**
 * The fleet case (issue 15): `verify --pairs` of N pairs of small images (one layer of `files` small
 * files each, A and B shuffled differently, so every layer is read and normalized) with --jobs 1, which
 * is the sum of the single verifies in one process, and with --jobs J; the target is the sum divided by
 * the jobs. Also a few pairs verified one CLI process each, for what a process per pair would cost.
 * Run by bench/run.js (`--only fleet`), or alone: node bench/fleet.js [--pairs 100] [--files 2000] [--jobs 2]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLayer, outDir, writeImage } from './generate.js';

const cli = path.join(outDir, '..', '..', 'bin', 'run.js');

/** argv under /usr/bin/time: wall seconds, CPU seconds (user + system), peak RSS (MiB), exit code, stdout. */
async function timed(argv) {
  const timeFile = path.join(os.tmpdir(), `oci-repro-fleet-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const child = spawn('/usr/bin/time', ['-f', '%e %M %U %S', '-o', timeFile, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  const code = await new Promise((resolve) => child.on('close', resolve));
  const [seconds, kib, user, system] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  fs.rmSync(timeFile, { force: true });
  return { code, seconds, cpuSeconds: Number((user + system).toFixed(2)), rssMiB: kib / 1024, stdout };
}

/** The pairs file of `pairs` image pairs (cached layers, one OCI layout per image). */
export async function ensureFleet({ pairs = 100, files = 2000 } = {}, log = () => {}) {
  const base = { contentSeed: 5000, profile: 'small', files };
  const a = await ensureLayer({ ...base, name: `fleet-${files}-a`, order: 'shuffled', orderSeed: 11, mtimeSeed: 33, mtimeBase: 1709287200 }, log);
  const b = await ensureLayer({ ...base, name: `fleet-${files}-b`, order: 'shuffled', orderSeed: 22, mtimeSeed: 44, mtimeBase: 1709379000 }, log);
  const lines = [];
  for (let i = 0; i < pairs; i++) {
    // Each pair its own layouts (blobs are hardlinks of the two cached layers), as a fleet of services has.
    const imageA = writeImage(`fleet-${i}-a`, [a], { created: '2024-03-01T10:00:00Z' });
    const imageB = writeImage(`fleet-${i}-b`, [b], { created: '2024-03-02T11:30:00Z' });
    lines.push(`- {name: service-${i}, a: '${imageA.reference}', b: '${imageB.reference}'}`);
  }
  const file = path.join(outDir, `fleet-${pairs}.yaml`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return { file, pairs, files, layer: { tarMiB: a.tarSize / (1 << 20), entries: a.entries } };
}

/** The figures: jobs 1 (sum of single verifies), jobs J, and single CLI processes for a sample. */
export async function measureFleet({ pairs = 100, files = 2000, jobs = 2, sample = 5 } = {}, log = () => {}) {
  const fleet = await ensureFleet({ pairs, files }, log);
  const run = (n) => timed([process.execPath, cli, 'verify', '--pairs', fleet.file, '--jobs', String(n), '--format', 'json']);
  const sequential = await run(1);
  const parallel = await run(jobs);
  const report = JSON.parse(parallel.stdout);
  const sumOfPairs = JSON.parse(sequential.stdout).pairs.reduce((sum, pair) => sum + pair.durationMs, 0) / 1000;
  const singles = [];
  for (const pair of report.pairs.slice(0, sample)) singles.push((await timed([process.execPath, cli, 'verify', pair.a, pair.b])).seconds);
  return {
    fleet,
    jobs,
    sequential: { seconds: sequential.seconds, cpuSeconds: sequential.cpuSeconds, rssMiB: sequential.rssMiB, sumOfPairSeconds: sumOfPairs, exitCode: sequential.code },
    parallel: { seconds: parallel.seconds, cpuSeconds: parallel.cpuSeconds, rssMiB: parallel.rssMiB, exitCode: parallel.code, verdict: report.verdict, counts: report.counts },
    speedup: sequential.seconds / parallel.seconds,
    singleProcessSeconds: singles,
    loadAverage: os.loadavg().map((n) => Number(n.toFixed(2))),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const option = (flag, fallback) => (argv.includes(flag) ? Number(argv[argv.indexOf(flag) + 1]) : fallback);
  const loadAtStart = os.loadavg().map((n) => Number(n.toFixed(2)));
  const figures = await measureFleet({ pairs: option('--pairs', 100), files: option('--files', 2000), jobs: option('--jobs', 2) }, (line) => console.error(line));
  console.log(JSON.stringify({ loadAtStart, ...figures }, null, 2));
}
