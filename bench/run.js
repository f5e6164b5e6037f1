/**
 * The benchmark (`npm run bench`): the CLI against baselines, measured side by side in one run.
 * Every command, ours and the baselines, runs as a child process under `/usr/bin/time -f '%e %M'`
 * (wall seconds, peak RSS in KiB of the process, worker threads included). See bench/README.md.
 *
 *   node bench/run.js [--quick | --sizes 1,4] [--repeat N] [--diffoscope-timeout S] [--no-diffoscope]
 *                     [--small-files N] [--entries N] [--only NAME,...] [--real-pair]
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, Writable } from 'node:stream';
import zlib from 'node:zlib';
import { ensureEntriesSet, ensureMixedSet, ensureDockerArchive, ensureSmallSet, ensureVerifyPair, outDir, parseSizes } from './generate.js';
import { ensureRealPair } from './real-pair.js';
import { measureFleet } from './fleet.js';

const MiB = 1 << 20;
const repoDir = path.resolve(outDir, '..', '..');
const cli = path.join(repoDir, 'bin', 'run.js');
const rssLimitMiB = 256;
/** RSS counts as flat when the largest size needs at most this much more than the smallest. */
const flatFactor = 1.25;

// ---------------------------------------------------------------------------------------------
// Options

function parseOptions(argv) {
  const value = (flag, fallback) => {
    const at = argv.indexOf(flag);
    return at === -1 ? fallback : argv[at + 1];
  };
  const number = (flag, fallback) => {
    const parsed = Number(value(flag, fallback));
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${flag} takes a positive number`);
    return parsed;
  };
  return {
    sizes: parseSizes(argv),
    repeat: number('--repeat', 1),
    diffoscopeTimeout: number('--diffoscope-timeout', 900),
    diffoscope: !argv.includes('--no-diffoscope'),
    smallFiles: number('--small-files', 100_000),
    entries: number('--entries', 1_000_000),
    // The entry-count pair (about 25 s a layer to generate here, and its cases take minutes): only when asked for.
    entriesAsked: argv.includes('--entries'),
    only: value('--only', undefined)?.split(','),
    // Needs root, buildah, debootstrap and the Debian mirror: only when asked for.
    realPair: argv.includes('--real-pair'),
  };
}

// ---------------------------------------------------------------------------------------------
// Running and measuring children

let tmpDir;
let runCounter = 0;

/**
 * Runs argv under /usr/bin/time; stdout goes to a file (read back as `stdout`). Throws when the exit
 * code is not in `okExits`, with the child's stderr.
 */
async function measure(argv, { okExits = [0], cwd = repoDir, label = argv.join(' ') } = {}) {
  const id = ++runCounter;
  const timeFile = path.join(tmpDir, `time-${id}`);
  const outFile = path.join(tmpDir, `stdout-${id}`);
  const errFile = path.join(tmpDir, `stderr-${id}`);
  const out = fs.openSync(outFile, 'w');
  const err = fs.openSync(errFile, 'w');
  let exitCode;
  try {
    const child = spawn('/usr/bin/time', ['-f', '%e %M', '-o', timeFile, ...argv], { cwd, stdio: ['ignore', out, err] });
    [exitCode] = await once(child, 'exit');
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
  }
  const stdout = fs.readFileSync(outFile, 'utf8');
  const stderr = fs.readFileSync(errFile, 'utf8');
  fs.rmSync(outFile);
  fs.rmSync(errFile);
  const timeLines = fs.readFileSync(timeFile, 'utf8').trim().split('\n');
  fs.rmSync(timeFile);
  const [seconds, rssKiB] = timeLines.at(-1).split(' ').map(Number);
  if (!okExits.includes(exitCode)) {
    throw new Error(`${label}: exit code ${exitCode} (expected ${okExits.join(' or ')})\n${stderr.slice(-4000)}`);
  }
  if (!Number.isFinite(seconds) || !Number.isFinite(rssKiB)) throw new Error(`${label}: cannot read /usr/bin/time output: ${timeLines.join(' | ')}`);
  return { seconds, rssMiB: rssKiB / 1024, exitCode, stdout, stderr };
}

/** Runs each command `repeat` times, interleaved; keeps each one's fastest time and largest RSS. */
async function measureSideBySide(commands, repeat) {
  const best = commands.map(() => null);
  for (let r = 0; r < repeat; r++) {
    for (const [i, command] of commands.entries()) {
      const result = await command();
      const previous = best[i];
      best[i] =
        previous === null
          ? result
          : { ...result, seconds: Math.min(previous.seconds, result.seconds), rssMiB: Math.max(previous.rssMiB, result.rssMiB) };
    }
  }
  return best;
}

/** Reads files once so that every contender starts with them in the page cache. */
async function warm(files) {
  for (const file of files) {
    await pipeline(fs.createReadStream(file, { highWaterMark: MiB }), new Writable({ write: (_chunk, _enc, done) => done() }));
  }
}

const ours = (args) => [process.execPath, cli, ...args];
const shell = (script) => ['sh', '-c', script];
const quote = (s) => `'${s.replaceAll("'", "'\\''")}'`;

function sha256Pipeline(gzPath) {
  return `gzip -dc ${quote(gzPath)} | openssl dgst -sha256 -r`;
}

/** Issue 12's per-entry baseline: GNU tar listing every entry with its attributes (the listing is discarded). */
function tarListing(gzPath) {
  return `tar -tvzf ${quote(gzPath)} > /dev/null`;
}

/** Parses `openssl dgst -r` lines ("HEX *stdin") into sha256: digests. */
function parseDgst(stdout) {
  return stdout
    .trim()
    .split('\n')
    .map((line) => `sha256:${line.split(' ')[0]}`);
}

const deflateScript = `// Baseline: Node's own gzip level 6 of tar files, 1 MiB chunks, output hashed.
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
const [mode, ...files] = process.argv.slice(2);
async function deflate(file) {
  const hash = createHash('sha256');
  await pipeline(
    createReadStream(file, { highWaterMark: 1 << 20 }),
    zlib.createGzip({ level: 6, chunkSize: 1 << 20 }),
    new Writable({ write(chunk, _encoding, done) { hash.update(chunk); done(); } }),
  );
  return hash.digest('hex');
}
const digests = [];
if (mode === 'parallel') digests.push(...(await Promise.all(files.map(deflate))));
else for (const file of files) digests.push(await deflate(file));
console.log(digests.join('\\n'));
`;

// ---------------------------------------------------------------------------------------------
// Results

const rows = [];
const checks = [];
const cases = [];

function check(ok, what) {
  checks.push({ ok: Boolean(ok), what });
  if (!ok) console.error(`CHECK FAILED: ${what}`);
  return ok;
}

function equalCheck(actual, expected, what) {
  return check(actual === expected, `${what}: ${actual}${actual === expected ? '' : ` (expected ${expected})`}`);
}

/** One line of the table: ours against a baseline (time ratio) or against a limit. */
function addRow(row) {
  rows.push(row);
  const line = formatRow(row);
  console.log(line);
}

const fmt = (n, digits = 2) => (n === null || n === undefined ? '-' : n.toFixed(digits));

function formatRow(r) {
  return [
    r.case.padEnd(34),
    r.measure.padEnd(34),
    (r.oursText ?? '').padStart(16),
    (r.baselineText ?? '').padStart(12),
    (r.ratioText ?? '').padStart(9),
    (r.target ?? '').padStart(10),
    r.pass === null ? '  -' : r.pass ? '  pass' : '  FAIL',
  ].join(' ');
}

const tableHeader = formatRow({ case: 'case', measure: 'against', oursText: 'ours', baselineText: 'baseline', ratioText: 'ratio', target: 'target', pass: null }).replace(/ {2}-$/, '  result');

function timeRow(caseName, measure, oursRun, baselineSeconds, maxRatio) {
  const ratio = oursRun.seconds / baselineSeconds;
  addRow({
    case: caseName,
    measure,
    kind: 'time',
    ours: { seconds: oursRun.seconds, rssMiB: oursRun.rssMiB },
    baselineSeconds,
    ratio,
    target: maxRatio === null ? '' : `<= ${maxRatio}x`,
    pass: maxRatio === null ? null : ratio <= maxRatio,
    oursText: `${fmt(oursRun.seconds)} s ${fmt(oursRun.rssMiB, 0)} MiB`,
    baselineText: `${fmt(baselineSeconds)} s`,
    ratioText: `${fmt(ratio)}x`,
  });
}

function rssRow(caseName, oursRun) {
  addRow({
    case: caseName,
    measure: 'peak RSS',
    kind: 'rss',
    ours: { seconds: oursRun.seconds, rssMiB: oursRun.rssMiB },
    target: `< ${rssLimitMiB} MiB`,
    pass: oursRun.rssMiB < rssLimitMiB,
    oursText: `${fmt(oursRun.rssMiB, 0)} MiB`,
  });
}

// ---------------------------------------------------------------------------------------------
// Cases

/** The tool's normalize --json on `image`, with its digests checked against the generator's. */
async function runNormalize(image, extraArgs = []) {
  return measure(ours(['normalize', image.reference, '--json', ...extraArgs]), { label: `normalize ${image.name}` });
}

function checkLayers(caseName, reportLayers, image) {
  equalCheck(reportLayers.length, image.layers.length, `${caseName}: layer count`);
  for (const [i, layer] of image.layers.entries()) {
    equalCheck(reportLayers[i]?.diffId, layer.diffId, `${caseName}: layer ${i} diff_id`);
    equalCheck(reportLayers[i]?.canonicalDiffId, layer.canonicalDiffId, `${caseName}: layer ${i} canonical diff_id (generator's own canonical tar)`);
  }
}

/** (1): the canonical digest without writing, against gzip -dc | openssl. */
async function caseDiffId(caseName, image, repeat, { tarListTarget, target = 1.0 } = {}) {
  const layer = image.layers[0];
  await warm([layer.gzPath]);
  const contenders = [() => measure(shell(sha256Pipeline(layer.gzPath)), { label: 'gzip -dc | openssl' }), () => runNormalize(image)];
  if (tarListTarget) contenders.push(() => measure(shell(tarListing(layer.gzPath)), { label: 'tar -tvzf' }));
  const [baseline, result, listing] = await measureSideBySide(contenders, repeat);
  equalCheck(parseDgst(baseline.stdout)[0], layer.diffId, `${caseName}: baseline digest`);
  const report = JSON.parse(result.stdout);
  checkLayers(caseName, report.layers, image);
  const spooled = report.layers[0].spooled;
  timeRow(caseName, 'gzip -dc | openssl dgst -sha256', result, baseline.seconds, target);
  if (listing) timeRow(caseName, 'tar -tvzf', result, listing.seconds, tarListTarget);
  rssRow(caseName, result);
  cases.push({ case: caseName, image: image.name, ours: pick(result), baseline: pick(baseline), ...(listing ? { tarListing: pick(listing) } : {}), spooled, canonicalDigest: report.canonicalDigest });
  return report;
}

/** (2): normalize --output oci:OUT against Node's own deflate of the same tars. */
async function caseNormalizeWrite(caseName, image, repeat) {
  const tars = image.layers.map((layer) => layer.tarPath);
  const gzs = image.layers.map((layer) => layer.gzPath);
  await warm([...gzs, ...tars]);
  const script = path.join(tmpDir, 'deflate-baseline.mjs');
  fs.writeFileSync(script, deflateScript);
  const outLayout = path.join(tmpDir, `normalized-${image.name}`);
  const runOurs = async () => {
    fs.rmSync(outLayout, { recursive: true, force: true });
    return measure(ours(['normalize', image.reference, '--output', `oci:${outLayout}`, '--json']), { label: `normalize --output ${image.name}` });
  };
  const [parallel, serial, result] = await measureSideBySide(
    [
      () => measure([process.execPath, script, 'parallel', ...tars], { label: 'deflate parallel' }),
      () => measure([process.execPath, script, 'serial', ...tars], { label: 'deflate serial' }),
      runOurs,
    ],
    repeat,
  );
  const report = JSON.parse(result.stdout);
  checkLayers(caseName, report.layers, image);
  equalCheck(report.output?.configDigest, report.canonicalDigest, `${caseName}: written config digest is the canonical digest`);
  await checkWrittenLayout(caseName, outLayout, report);
  fs.rmSync(outLayout, { recursive: true, force: true });
  timeRow(caseName, `node deflate -6, ${tars.length} tars in parallel`, result, parallel.seconds, 1.2);
  timeRow(caseName, `node deflate -6, ${tars.length} tars one by one`, result, serial.seconds, null);
  rssRow(caseName, result);
  cases.push({
    case: caseName,
    image: image.name,
    ours: pick(result),
    baselines: { deflateParallel: pick(parallel), deflateSerial: pick(serial) },
    gzipEngine: report.output?.gzipEngine,
    canonicalDigest: report.canonicalDigest,
  });
}

/**
 * (2b): normalize --output of a one-layer image against native parallel recompression of its blob,
 * `pigz -dc | pigz -6n -p CORES | sha256sum` (issue 12: within 1.0x).
 */
async function caseNormalizeOneLayer(caseName, image, repeat) {
  const layer = image.layers[0];
  await warm([layer.gzPath]);
  const cores = os.availableParallelism();
  const outLayout = path.join(tmpDir, `normalized-${image.name}`);
  const runOurs = async () => {
    fs.rmSync(outLayout, { recursive: true, force: true });
    return measure(ours(['normalize', image.reference, '--output', `oci:${outLayout}`, '--json']), { label: `normalize --output ${image.name}` });
  };
  const [baseline, result] = await measureSideBySide(
    [() => measure(shell(`pigz -dc ${quote(layer.gzPath)} | pigz -6 -n -p ${cores} | sha256sum`), { label: 'pigz -dc | pigz -6n' }), runOurs],
    repeat,
  );
  const report = JSON.parse(result.stdout);
  checkLayers(caseName, report.layers, image);
  equalCheck(report.output?.configDigest, report.canonicalDigest, `${caseName}: written config digest is the canonical digest`);
  await checkWrittenLayout(caseName, outLayout, report);
  fs.rmSync(outLayout, { recursive: true, force: true });
  timeRow(caseName, `pigz -dc | pigz -6n -p${cores} | sha256sum`, result, baseline.seconds, 1.0);
  rssRow(caseName, result);
  cases.push({ case: caseName, image: image.name, ours: pick(result), baselines: { pigz: pick(baseline) }, gzipEngine: report.output?.gzipEngine, canonicalDigest: report.canonicalDigest });
}

/** The written layout: every layer blob matches its digest and inflates to the canonical diff_id. */
async function checkWrittenLayout(caseName, layout, report) {
  const blob = (digest) => path.join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
  const manifest = JSON.parse(fs.readFileSync(blob(index.manifests[0].digest), 'utf8'));
  equalCheck(manifest.config.digest, report.canonicalDigest, `${caseName}: manifest's config is the canonical digest`);
  for (const [i, descriptor] of manifest.layers.entries()) {
    // One read: the blob's bytes are hashed on their way into gunzip.
    const raw = createHash('sha256');
    const tar = createHash('sha256');
    await pipeline(
      fs.createReadStream(blob(descriptor.digest), { highWaterMark: MiB }),
      new Transform({
        transform(chunk, _e, done) {
          raw.update(chunk);
          done(null, chunk);
        },
      }),
      zlib.createGunzip({ chunkSize: MiB }),
      new Writable({
        write(chunk, _e, done) {
          tar.update(chunk);
          done();
        },
      }),
    );
    equalCheck(`sha256:${raw.digest('hex')}`, descriptor.digest, `${caseName}: written layer ${i} blob digest`);
    equalCheck(`sha256:${tar.digest('hex')}`, report.layers[i].canonicalDiffId, `${caseName}: written layer ${i} inflates to the canonical diff_id`);
  }
}

/** (3): verify A B against two gzip -dc | openssl pipelines in parallel, and against diffoscope. */
async function caseVerify(caseName, a, b, options, { tarListTarget } = {}) {
  const gzs = [a.layers[0].gzPath, b.layers[0].gzPath];
  await warm(gzs);
  const contenders = [
    () => measure(shell(`${sha256Pipeline(gzs[0])} & ${sha256Pipeline(gzs[1])} & wait`), { label: 'two gzip -dc | openssl' }),
    () => measure(ours(['verify', a.reference, b.reference, '--json']), { label: `verify ${a.name} ${b.name}`, okExits: [0, 1] }),
  ];
  if (tarListTarget) contenders.push(() => measure(shell(`${tarListing(gzs[0])} & ${tarListing(gzs[1])} & wait`), { label: 'two tar -tvzf' }));
  const [baseline, result, listing] = await measureSideBySide(contenders, options.repeat);
  const baselineDigests = parseDgst(baseline.stdout).sort();
  check(
    JSON.stringify(baselineDigests) === JSON.stringify([a.layers[0].diffId, b.layers[0].diffId].sort()),
    `${caseName}: baseline digests are the two diff_ids`,
  );
  const report = JSON.parse(result.stdout);
  // The pair differs only in what normalization removes: anything else is a bug, not a benchmark result.
  if (!check(result.exitCode === 0 && report.verdict === 'reproducible', `${caseName}: verdict ${report.verdict}, exit ${result.exitCode} (expected reproducible, 0)`)) {
    console.error(`  reason: ${report.reason}`);
  }
  equalCheck(report.a.canonicalDigest, report.b.canonicalDigest, `${caseName}: A and B canonical digests`);
  checkLayers(`${caseName} A`, report.a.layers, a);
  checkLayers(`${caseName} B`, report.b.layers, b);
  timeRow(caseName, '2 × gzip -dc | openssl, in parallel', result, baseline.seconds, 1.0);
  if (listing) timeRow(caseName, '2 × tar -tvzf, in parallel', result, listing.seconds, tarListTarget);
  rssRow(caseName, result);
  const entry = { case: caseName, images: [a.name, b.name], ours: pick(result), baseline: pick(baseline), ...(listing ? { tarListing: pick(listing) } : {}), verdict: report.verdict, differences: report.summary?.differences };
  if (options.diffoscope) entry.diffoscope = await runDiffoscope(caseName, [ensureDockerArchive(a), ensureDockerArchive(b)], result, options.diffoscopeTimeout);
  cases.push(entry);
}

/**
 * (4): verify on the real apt/Python pair (bench/real-pair.js: two buildah builds on a debootstrap
 * base, cached in /var/tmp), not reproducible by design, beside diffoscope on the same pair.
 */
async function caseRealPair(caseName, options) {
  const pair = ensureRealPair();
  await warm([pair.a.oci, pair.b.oci]);
  const [result] = await measureSideBySide(
    [() => measure(ours(['verify', `oci-archive:${pair.a.oci}`, `oci-archive:${pair.b.oci}`, '--json']), { label: 'verify real pair', okExits: [1] })],
    options.repeat,
  );
  const report = JSON.parse(result.stdout);
  check(report.verdict === 'not-reproducible' && report.summary.unexplained === 0, `${caseName}: not reproducible, every remaining difference with a cause (${report.summary.unexplained} without)`);
  rssRow(caseName, result);
  const entry = { case: caseName, images: [pair.a.oci, pair.b.oci], ours: pick(result), verdict: report.verdict, differences: report.summary.differences };
  if (options.diffoscope) entry.diffoscope = await runDiffoscope(caseName, [pair.a.docker, pair.b.docker], result, options.diffoscopeTimeout);
  cases.push(entry);
}

async function runDiffoscope(caseName, archives, oursRun, timeout) {
  await warm(archives);
  console.error(`  diffoscope on ${archives.map((f) => path.basename(f)).join(' ')} (timeout ${timeout} s)...`);
  // diffoscope exits 1 when it finds differences (these archives differ in mtimes and order).
  // On TERM diffoscope deletes what it extracted, which can take minutes: allow that, but count a
  // timed-out run as exactly `timeout` seconds.
  const run = await measure(['timeout', '-k', '900', String(timeout), 'diffoscope', '--text', '/dev/null', ...archives], {
    okExits: [0, 1, 124, 137],
    label: 'diffoscope',
  });
  const timedOut = run.exitCode === 124 || run.exitCode === 137;
  if (timedOut) run.seconds = timeout;
  check(run.exitCode !== 0, `${caseName}: diffoscope finds differences between A and B (exit ${run.exitCode})`);
  const speedup = run.seconds / oursRun.seconds;
  addRow({
    case: caseName,
    measure: timedOut ? `diffoscope (timed out at ${timeout} s)` : 'diffoscope A.tar B.tar (docker-archives)',
    kind: 'speedup',
    ours: { seconds: oursRun.seconds, rssMiB: oursRun.rssMiB },
    baselineSeconds: run.seconds,
    speedup,
    timedOut,
    target: '>= 20x faster',
    pass: speedup >= 20,
    oursText: `${fmt(oursRun.seconds)} s`,
    baselineText: `${timedOut ? '>= ' : ''}${fmt(run.seconds, 0)} s`,
    ratioText: `${timedOut ? '>=' : ''}${fmt(speedup, 1)}x`,
  });
  return { seconds: run.seconds, rssMiB: run.rssMiB, exitCode: run.exitCode, timedOut, archives: archives.map((f) => path.basename(f)) };
}

const pick = (run) => ({ seconds: run.seconds, rssMiB: Math.round(run.rssMiB) });

function flatRows(caseBase, sizes) {
  const byName = new Map(cases.map((c) => [c.case, c]));
  const smallest = byName.get(`${caseBase} ${sizes[0]} GiB`);
  const largest = byName.get(`${caseBase} ${sizes.at(-1)} GiB`);
  if (!smallest || !largest || sizes.length < 2) return;
  const growth = largest.ours.rssMiB / smallest.ours.rssMiB;
  addRow({
    case: `${caseBase} RSS flat`,
    measure: `peak RSS ${sizes.at(-1)} GiB vs ${sizes[0]} GiB`,
    kind: 'flat',
    growth,
    target: `<= ${flatFactor}x`,
    pass: growth <= flatFactor && largest.ours.rssMiB < rssLimitMiB,
    oursText: `${largest.ours.rssMiB} MiB`,
    baselineText: `${smallest.ours.rssMiB} MiB`,
    ratioText: `${fmt(growth)}x`,
  });
}

// ---------------------------------------------------------------------------------------------
// Machine facts

function machineFacts() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const version = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n')[0];
    } catch {
      return 'not found';
    }
  };
  const engineModule = path.join(repoDir, 'dist', 'image', 'compression.js');
  const gzipEngine = execFileSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(engineModule)}).then((m) => console.log(m.gzipEngine()))`], {
    encoding: 'utf8',
  }).trim();
  return {
    cpu: model,
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    gzipEngine,
    pigz: version('pigz', ['--version']),
    openssl: version('openssl', ['version']),
    diffoscope: version('diffoscope', ['--version']),
    loadAverageAtStart: os.loadavg().map((n) => Number(n.toFixed(2))),
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const wanted = (name) => !options.only || options.only.some((part) => name.includes(part));
  const started = Date.now();
  const machine = machineFacts();
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}, gzip engine ${machine.gzipEngine}, load ${machine.loadAverageAtStart.join(' ')}`);
  const log = (line) => console.error(line);

  const sets = new Map();
  for (const size of options.sizes) sets.set(size, await ensureMixedSet(size, log));
  const pairSize = options.sizes[0];
  const pairB = await ensureVerifyPair(pairSize, sets.get(pairSize).a, log);
  const small = await ensureSmallSet(options.smallFiles, log);
  // Generated only when its cases run: two layers of about 1 GiB of tar each.
  const entriesName = `${options.entries} entries`;
  const entriesWanted = options.only ? wanted(entriesName) : options.entriesAsked;
  const entriesPair = entriesWanted ? await ensureEntriesSet(options.entries, log) : null;
  const inputs = [];
  for (const [size, set] of sets) {
    for (const image of Object.values(set)) inputs.push(describeImage(image, size));
  }
  inputs.push(describeImage(pairB, pairSize));
  for (const image of Object.values(small)) inputs.push(describeImage(image, null));
  if (entriesPair) for (const image of Object.values(entriesPair)) inputs.push(describeImage(image, null));
  for (const input of inputs) console.log(`input ${input.name}: ${input.layers.map((l) => `${l.tarMiB} MiB tar, ${l.gzMiB} MiB gz, ${l.entries} entries, ${l.order}`).join('; ')}`);

  tmpDir = fs.mkdtempSync(path.join(outDir, 'tmp-'));
  let failure = null;
  console.log(`\n${tableHeader}`);
  try {
    for (const [size, set] of sets) {
      // Issue 12 raised the in-order target to 0.6x once 1.0x was met: inflate plus two SHA-256 passes is about 0.55x.
      if (wanted('in-order')) await caseDiffId(`diff_id in-order ${size} GiB`, set.canonical, options.repeat, { target: 0.6 });
      if (wanted('out-of-order')) await caseDiffId(`diff_id out-of-order ${size} GiB`, set.a, options.repeat);
      if (wanted('write')) await caseNormalizeWrite(`normalize --output ${size} GiB`, set.twoLayers, options.repeat);
      if (wanted('write') || wanted('one layer')) await caseNormalizeOneLayer(`normalize --output ${size} GiB one layer`, set.a, options.repeat);
      // Same files, so one canonical digest, whatever the order and mtimes.
      const [inOrder, outOfOrder] = [`diff_id in-order ${size} GiB`, `diff_id out-of-order ${size} GiB`].map((name) => cases.find((c) => c.case === name));
      if (inOrder && outOfOrder) equalCheck(outOfOrder.canonicalDigest, inOrder.canonicalDigest, `${size} GiB: canonical digest of the shuffled image and the canonical one`);
    }
    if (wanted('verify')) await caseVerify(`verify ${pairSize} GiB`, sets.get(pairSize).a, pairB, options);
    const smallName = `${options.smallFiles} files`;
    if (wanted('small')) {
      await caseDiffId(`diff_id in-order ${smallName}`, small.canonical, options.repeat);
      // Issue 12's time per entry: normalize of one within 1.2x of one `tar -tvzf`, verify of two within 1.5x of two.
      await caseDiffId(`diff_id out-of-order ${smallName}`, small.a, options.repeat, { tarListTarget: 1.2 });
      await caseVerify(`verify ${smallName}`, small.a, small.b, options, { tarListTarget: 1.5 });
    }
    // Builds the pair on first use (about 6 minutes: debootstrap and two apt-get installs), then cached.
    if (options.realPair) await caseRealPair('verify real apt pair', options);
    if (entriesPair) {
      // Peak RSS against the entry count: compare with the `100000 files` rows (issue 12: < 256 MiB).
      await caseDiffId(`diff_id out-of-order ${entriesName}`, entriesPair.a, options.repeat);
      await caseVerify(`verify ${entriesName}`, entriesPair.a, entriesPair.b, { ...options, diffoscope: false });
    }
    if (wanted('fleet')) {
      // 100 pairs of small images: --jobs 2 against the sum of the single verifies (--jobs 1) over 2 (bench/fleet.js),
      // interleaved, medians of 3 rounds at least.
      const fleet = await measureFleet({ pairs: 100, jobs: 2, rounds: Math.max(3, options.repeat) }, log);
      check(fleet.parallel.counts.passed === 100, `fleet: all 100 pairs reproducible (${JSON.stringify(fleet.parallel.counts)})`);
      timeRow('fleet 100 pairs --jobs 2', 'sum of single verifies / 2', fleet.parallel, fleet.sequential.seconds / 2, 1.25);
      // One verify already keeps ~1.8 of the 2 cores busy, so the row above cannot reach 1.0; this one
      // measures the scaling itself: 2 jobs on 2 cores against 1 job pinned to 1 core, over 2.
      timeRow('fleet 100 pairs --jobs 2, 2 cores', '--jobs 1 on 1 core / 2', fleet.parallel, fleet.oneCore.seconds / 2, 1.25);
      cases.push({ case: 'fleet 100 pairs', ...fleet });
    }
    for (const base of ['diff_id in-order', 'diff_id out-of-order', 'normalize --output']) flatRows(base, options.sizes);
  } catch (error) {
    failure = error;
    console.error(`\nbenchmark aborted: ${error.stack ?? error}`);
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }

  const failedChecks = checks.filter((c) => !c.ok);
  const targets = rows.filter((r) => r.pass !== null);
  const met = targets.filter((r) => r.pass).length;
  const results = {
    when: new Date().toISOString(),
    seconds: Math.round((Date.now() - started) / 1000),
    options,
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((n) => Number(n.toFixed(2))) },
    inputs,
    rows: rows.map(({ oursText, baselineText, ratioText, ...row }) => row),
    cases,
    checks,
    summary: { targets: targets.length, targetsMet: met, checksFailed: failedChecks.length, aborted: failure ? String(failure.message ?? failure) : null },
  };
  fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\ntargets met: ${met} of ${targets.length}; checks: ${checks.length - failedChecks.length} of ${checks.length} passed; results in ${path.relative(repoDir, path.join(outDir, 'results.json'))}`);
  for (const c of failedChecks) console.log(`FAILED CHECK: ${c.what}`);
  if (failure || failedChecks.length > 0) process.exitCode = 1;
}

function describeImage(image, sizeGiB) {
  return {
    name: image.name,
    sizeGiB,
    reference: path.relative(repoDir, image.dir),
    layers: image.layers.map((layer) => ({
      tarMiB: Math.round(layer.tarSize / MiB),
      gzMiB: Math.round(layer.size / MiB),
      entries: layer.entries,
      files: layer.files,
      order: layer.params.order,
      diffId: layer.diffId,
      canonicalDiffId: layer.canonicalDiffId,
    })),
  };
}

await main();
