/**
 * Progress bars as a person sees them: the CLI under a pseudo-terminal (`script`, util-linux) shows
 * bytes done of the total on stderr and clears them before the report or an error; on a pipe, with
 * --quiet, --json or --format json it writes nothing to stderr. The report on stdout never changes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProgress } from '../../src/cli/progress.js';
import type { ProgressEvent } from '../../src/image/progress.js';
import { buildImage, singleImageLayout, TempDir } from '../helpers/images.js';
import { makeTar } from '../helpers/tar.js';
import { skipWithoutTools } from '../helpers/real-tools.js';
import { runCli, runCliInTerminal } from '../helpers/cli.js';
import { writeManyMtimesPair, type ImagePair } from '../app/fixtures.js';

/** `54.1 MiB / 120.0 MiB`: bytes done of a total, as the bars print them. */
const bytesOfTotal = /\d+(\.\d+)? (B|KiB|MiB) \/ \d+(\.\d+)? (B|KiB|MiB)/;
/** Clear to the end of the screen: what the bars leave behind them when they stop. */
const clearDown = '\u001b[0J';

let dir: TempDir;
let pair: ImagePair;
let corrupt: string;

beforeAll(async () => {
  dir = await TempDir.create('oci-repro-progress-cli-');
  pair = await writeManyMtimesPair(dir, 500);
  // An image whose big layer fails its digest check at the very end, after its bar has been drawn.
  const noise = Buffer.alloc(2 << 20, 7);
  const image = buildImage({ layers: [{ tar: await makeTar([{ name: 'data.bin', content: noise }]), compression: 'none' }] });
  const layout = await dir.writeDirectory('corrupt', singleImageLayout(image));
  const blob = `${layout}/blobs/sha256/${image.layers[0]!.digest.slice('sha256:'.length)}`;
  const bytes = await readFile(blob);
  bytes[bytes.length - 2000] ^= 1;
  await writeFile(blob, bytes);
  corrupt = 'oci:corrupt';
}, 60_000);
afterAll(async () => dir?.remove());

const noScript = () => skipWithoutTools('script');
/** Each CLI run starts Node and oclif; on a busy 2-core machine that takes seconds. */
const slow = 120_000;

/** Under a terminal with stdout sent to `out.txt`: what the terminal shows is stderr alone. */
async function inTerminal(args: string[]): Promise<{ code: number; terminal: string; stdout: string }> {
  const run = await runCliInTerminal(args, '>out.txt', { cwd: dir.path });
  return { code: run.code, terminal: run.stdout, stdout: await readFile(dir.join('out.txt'), 'utf8') };
}

describe('verify and normalize on a terminal', () => {
  it('verify: each image shows bytes of its total on stderr, cleared at the end; stdout is the report a pipe gets', async (context) => {
    if (noScript()) context.skip('script (util-linux) not installed');
    const shown = await inTerminal(['verify', pair.a, pair.b]);
    const piped = await runCli(['verify', pair.a, pair.b], { cwd: dir.path });
    expect(shown.code).toBe(0);
    expect(piped.code).toBe(0);
    expect(shown.terminal).toMatch(bytesOfTotal);
    expect(shown.terminal).toContain(pair.a);
    expect(shown.terminal).toContain(pair.b);
    // Some bar reached its whole total, and nothing printable follows the final clear.
    expect(shown.terminal).toMatch(/100% (\d+(\.\d+)? (B|KiB|MiB)) \/ \1/);
    const afterClear = shown.terminal.slice(shown.terminal.lastIndexOf(clearDown) + clearDown.length);
    expect(shown.terminal.lastIndexOf(clearDown)).toBeGreaterThan(shown.terminal.search(bytesOfTotal));
    expect(afterClear.replace(/\u001b\[[0-9;?]*[A-Za-z]|\r|\n/g, '')).toBe('');
    // The report is the same bytes as on a pipe, where stderr stays empty.
    expect(shown.stdout).toContain('REPRODUCIBLE');
    expect(shown.stdout).toBe(piped.stdout);
    expect(piped.stderr).toBe('');
  }, slow);

  it('normalize: a bar with bytes and a total; the report is what a pipe gets', async (context) => {
    if (noScript()) context.skip('script (util-linux) not installed');
    const shown = await inTerminal(['normalize', pair.b]);
    expect(shown.code).toBe(0);
    expect(shown.terminal).toMatch(bytesOfTotal);
    expect(shown.stdout).toContain('canonical digest');
    const piped = await runCli(['normalize', pair.b], { cwd: dir.path });
    expect(piped.stderr).toBe('');
    expect(piped.stdout).toBe(shown.stdout);
  }, slow);

  it.for(['verify --quiet', 'verify --json', 'verify --format json', 'verify -fjson', 'normalize -q', 'normalize --json'])(
    '%s: nothing on the terminal, the report on stdout',
    { timeout: slow },
    async (line, context) => {
      const [command, ...flags] = line.split(' ');
      if (noScript()) context.skip('script (util-linux) not installed');
      const images = command === 'verify' ? [pair.a, pair.b] : [pair.b];
      const silent = await inTerminal([command!, ...images, ...flags]);
      expect(silent.code).toBe(0);
      expect(silent.terminal).toBe('');
      if (flags.some((flag) => flag.includes('json'))) expect(JSON.parse(silent.stdout)).toHaveProperty(command === 'verify' ? 'verdict' : 'canonicalDigest');
      else expect(silent.stdout).toMatch(command === 'verify' ? /REPRODUCIBLE/ : /canonical digest/);
    },
  );

  it('an error mid-run: the bars are cleared and the error line starts clean', async (context) => {
    if (noScript()) context.skip('script (util-linux) not installed');
    const run = await runCliInTerminal(['normalize', corrupt], '', { cwd: dir.path });
    expect(run.code).toBe(3);
    const error = run.stdout.indexOf('oci-repro: error:');
    expect(error).toBeGreaterThan(0);
    expect(run.stdout.slice(0, error)).toMatch(bytesOfTotal);
    // Cleared right before the error: only cursor movement between the clear and the message.
    const before = run.stdout.slice(0, error);
    const clear = before.lastIndexOf(clearDown);
    expect(clear).toBeGreaterThan(before.search(bytesOfTotal));
    expect(before.slice(clear + clearDown.length).replace(/\u001b\[[0-9;?]*[A-Za-z]|\r|\n/g, '')).toBe('');
    expect(run.stdout.slice(error)).toMatch(/digest mismatch/);
  }, slow);
});

describe('startProgress', () => {
  const tty = { isTTY: true } as NodeJS.WriteStream;
  const pipe = { isTTY: false } as NodeJS.WriteStream;
  it.each<[string, Parameters<typeof startProgress>[0], boolean]>([
    ['a terminal', { quiet: false, json: false, stream: tty, env: {} }, true],
    ['a pipe', { quiet: false, json: false, stream: pipe, env: {} }, false],
    ['--quiet', { quiet: true, json: false, stream: tty, env: {} }, false],
    ['JSON', { quiet: false, json: true, stream: tty, env: {} }, false],
    ['TERM=dumb', { quiet: false, json: false, stream: tty, env: { TERM: 'dumb' } }, false],
  ])('%s', (_name, settings, listens) => {
    const progress = startProgress(settings);
    expect(progress.onProgress !== undefined).toBe(listens);
    progress.stop();
  });
});

/** A terminal in memory: what the bars write, as text. */
function fakeTerminal(): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: true, columns: 100 });
  return { stream, text: () => chunks.join('') };
}

const imageEvent: ProgressEvent = { kind: 'image', image: 7, reference: 'oci:x', transport: 'oci', layers: [{ index: 0, digest: `sha256:${'a'.repeat(64)}`, size: 2048 }] };
const blobEvent = (done: number, ended = false): ProgressEvent => ({ kind: 'blob', image: 7, layer: 0, digest: `sha256:${'a'.repeat(64)}`, read: 1, done, size: 2048, ended });

describe('the bars in memory', () => {
  it('an image loaded but never read draws nothing, and stopping writes nothing', () => {
    const terminal = fakeTerminal();
    const progress = startProgress({ quiet: false, json: false, stream: terminal.stream, env: {} });
    progress.onProgress!(imageEvent);
    progress.stop();
    expect(terminal.text()).toBe('');
  });

  it('a signal clears the bars before any other handler runs, and nothing is drawn after', () => {
    const terminal = fakeTerminal();
    const before = process.listeners('SIGINT').length;
    const progress = startProgress({ quiet: false, json: false, stream: terminal.stream, env: {} });
    progress.onProgress!(imageEvent);
    progress.onProgress!(blobEvent(1024));
    expect(terminal.text()).toContain('oci:x');
    expect(terminal.text()).toContain('1.0 KiB / 2.0 KiB');
    const first = process.listeners('SIGINT')[0] as () => void;
    expect(process.listeners('SIGINT')).toHaveLength(before + 1);
    first();
    expect(terminal.text().endsWith(clearDown)).toBe(true);
    expect(process.listeners('SIGINT')).toHaveLength(before);
    const cleared = terminal.text().length;
    progress.onProgress!(blobEvent(2048, true));
    progress.stop();
    expect(terminal.text().length).toBe(cleared);
  });

  it('during() clears the bars when the work fails, and passes the failure on', async () => {
    const terminal = fakeTerminal();
    const progress = startProgress({ quiet: false, json: false, stream: terminal.stream, env: {} });
    const work = (async () => {
      progress.onProgress!(imageEvent);
      progress.onProgress!(blobEvent(512));
      throw new Error('bad layer');
    })();
    await expect(progress.during(work)).rejects.toThrow('bad layer');
    expect(terminal.text()).toContain('512 B / 2.0 KiB');
    expect(terminal.text().endsWith(clearDown)).toBe(true);
  });
});
