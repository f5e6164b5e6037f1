/**
 * The fleet case (issue 15): `verify --pairs` of N pairs of small images (one layer of `files` small
 * files each, A and B shuffled differently, so every layer is read and normalized) with --jobs 1, which
 * is the sum of the single verifies in one thread, and with --jobs J, where the pairs run on J worker
 * threads; the target is the sum divided by the jobs. The two run interleaved, `rounds` times, and the
 * medians count (wall and CPU: a loaded machine makes wall times lie). Also a few pairs verified one
 * CLI process each, for what a process per pair would cost. On 2 cores one verify already keeps ~1.8
 * cores busy (its JS thread, zlib on libuv's pool, V8's collector), so --jobs 1 is no single-core sum;
 * the scaling is measured against --jobs 1 pinned to one core (`taskset -c 0`): J jobs on J cores
 * against one job on one core over J.
 * Run by bench/run.js (`--only fleet`), or alone:
 *   node bench/fleet.js [--pairs 100] [--files 2000] [--jobs 2] [--rounds 3]
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
  // Each pair its own layouts (blobs are hardlinks of the two cached layers), as a fleet of services has.
  // Written once and then reused: the cache is shared, and a layout rewritten under a running bench breaks it.
  const layout = (name, layer, created) => {
    const dir = path.join(outDir, 'images', name);
    return fs.existsSync(path.join(dir, 'index.json')) ? `oci:${dir}` : writeImage(name, [layer], { created }).reference;
  };
  for (let i = 0; i < pairs; i++) {
    const imageA = layout(`fleet-${i}-a`, a, '2024-03-01T10:00:00Z');
    const imageB = layout(`fleet-${i}-b`, b, '2024-03-02T11:30:00Z');
    lines.push(`- {name: service-${i}, a: '${imageA}', b: '${imageB}'}`);
  }
  const file = path.join(outDir, `fleet-${pairs}.yaml`);
  const text = `${lines.join('\n')}\n`;
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) fs.writeFileSync(file, text);
  return { file, pairs, files, layer: { tarMiB: a.tarSize / (1 << 20), entries: a.entries } };
}

const median = (values) => {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** The run of median wall time among `runs`, with the median CPU and largest RSS of them all. */
function medianRun(runs) {
  const seconds = median(runs.map((run) => run.seconds));
  const chosen = runs.find((run) => run.seconds === seconds) ?? runs[0];
  return { ...chosen, seconds, cpuSeconds: median(runs.map((run) => run.cpuSeconds)), rssMiB: Math.max(...runs.map((run) => run.rssMiB)) };
}

/** The figures: jobs 1 (sum of single verifies) and jobs J, interleaved `rounds` times; single CLI processes for a sample. */
export async function measureFleet({ pairs = 100, files = 2000, jobs = 2, rounds = 3, sample = 5 } = {}, log = () => {}) {
  const fleet = await ensureFleet({ pairs, files }, log);
  const run = (n) => timed([process.execPath, cli, 'verify', '--pairs', fleet.file, '--jobs', String(n), '--format', 'json']);
  const loadAtStart = os.loadavg().map((n) => Number(n.toFixed(2)));
  const pinned = () => timed(['taskset', '-c', '0', process.execPath, cli, 'verify', '--pairs', fleet.file, '--jobs', '1', '--format', 'json']);
  const sequentialRuns = [];
  const parallelRuns = [];
  const oneCoreRuns = [];
  for (let round = 0; round < rounds; round++) {
    sequentialRuns.push(await run(1));
    parallelRuns.push(await run(jobs));
    oneCoreRuns.push(await pinned());
    const [s, p, o] = [sequentialRuns.at(-1), parallelRuns.at(-1), oneCoreRuns.at(-1)];
    log(
      `fleet round ${round + 1}/${rounds}: --jobs 1 ${s.seconds} s (${s.cpuSeconds} s CPU), --jobs ${jobs} ${p.seconds} s (${p.cpuSeconds} s CPU), ` +
        `--jobs 1 on one core ${o.seconds} s, load ${os.loadavg()[0].toFixed(2)}`,
    );
  }
  const sequential = medianRun(sequentialRuns);
  const parallel = medianRun(parallelRuns);
  const oneCore = medianRun(oneCoreRuns);
  const report = JSON.parse(parallel.stdout);
  const sumOfPairs = JSON.parse(sequential.stdout).pairs.reduce((sum, pair) => sum + pair.durationMs, 0) / 1000;
  const singles = [];
  for (const pair of report.pairs.slice(0, sample)) singles.push(await timed([process.execPath, cli, 'verify', pair.a, pair.b]));
  const figures = ({ seconds, cpuSeconds, rssMiB, code }) => ({ seconds, cpuSeconds, rssMiB, exitCode: code });
  return {
    fleet,
    jobs,
    rounds,
    sequential: { ...figures(sequential), sumOfPairSeconds: sumOfPairs, runs: sequentialRuns.map(figures) },
    parallel: { ...figures(parallel), verdict: report.verdict, counts: report.counts, runs: parallelRuns.map(figures) },
    oneCore: { ...figures(oneCore), runs: oneCoreRuns.map(figures) },
    /** Wall of --jobs J on all cores against --jobs 1 on one core over J: 1 is perfect scaling with cores. */
    ratioToOneCore: parallel.seconds / (oneCore.seconds / jobs),
    speedup: sequential.seconds / parallel.seconds,
    /** Wall of --jobs J against the ideal, wall of --jobs 1 over J: 1 is perfect scaling. */
    ratioToIdeal: parallel.seconds / (sequential.seconds / jobs),
    cpuRatio: parallel.cpuSeconds / sequential.cpuSeconds,
    singleProcess: { seconds: singles.map((single) => single.seconds), cpuSeconds: singles.map((single) => single.cpuSeconds) },
    loadAverage: { atStart: loadAtStart, atEnd: os.loadavg().map((n) => Number(n.toFixed(2))) },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const option = (flag, fallback) => (argv.includes(flag) ? Number(argv[argv.indexOf(flag) + 1]) : fallback);
  const figures = await measureFleet(
    { pairs: option('--pairs', 100), files: option('--files', 2000), jobs: option('--jobs', 2), rounds: option('--rounds', 3) },
    (line) => console.error(line),
  );
  console.log(JSON.stringify(figures, null, 2));
}
