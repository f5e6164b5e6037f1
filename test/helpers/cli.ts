/**
 * Runs the real binary (bin/run.js over the build in dist/) as a CI job would, so exit codes, stdout
 * and stderr are what a user sees. Build first (`npm run build`).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const binPath = fileURLToPath(new URL('../../bin/run.js', import.meta.url));

export interface CliRun {
  /** The exit code; -1 when the process did not exit by itself (killed, timed out, failed to start). */
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Set over the inherited environment; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed (it is closed at once without input). */
  input?: string | Buffer;
  /** Milliseconds before the process is killed (SIGKILL); none by default. */
  timeout?: number;
  cwd?: string;
  /** Run as this user (and group, unless `gid` is given). */
  uid?: number;
  gid?: number;
}

/**
 * Variables of the test process that would change what the CLI does, removed unless a test sets them:
 * colour switches (so a pipe's default, no colour, is what is tested), SOURCE_DATE_EPOCH (the epoch),
 * OCI_REPRO_CREDS (the credentials of the machine running the tests), OCI_REPRO_ZSTD_BACKEND, and the GitHub Actions runner's
 * (tests run on a runner would otherwise annotate and write to the job's own summary).
 */
const inheritedOff = [
  'FORCE_COLOR',
  'NO_COLOR',
  'SOURCE_DATE_EPOCH',
  'OCI_REPRO_CREDS',
  'OCI_REPRO_ZSTD_BACKEND',
  'GITHUB_ACTIONS',
  'GITHUB_STEP_SUMMARY',
  'GITHUB_OUTPUT',
  'OCI_REPRO_ANNOTATION_FILE',
];

/** The environment a spawned CLI gets: ours without `inheritedOff`, then `extra` (undefined removes). */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of inheritedOff) delete env[name];
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Runs `bin/run.js args...` and resolves when it exits; never rejects. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return run(process.execPath, [binPath, ...args], options);
}

/**
 * Runs `bin/run.js args...` under `script` (util-linux), which gives it a pseudo-terminal; `redirect`
 * (shell syntax, e.g. `2>/dev/null` or `>out.txt`) sends a stream elsewhere. What the terminal shows
 * comes back as stdout. Tests skip without `script` (skipWithoutTools('script')).
 */
export function runCliInTerminal(args: readonly string[], redirect: string, options: CliOptions = {}): Promise<CliRun> {
  const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;
  const command = `${[process.execPath, binPath, ...args].map(quote).join(' ')} ${redirect}`;
  return run('script', ['-qec', command, '/dev/null'], options);
}

function run(file: string, args: readonly string[], options: CliOptions): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: cliEnv(options.env),
      uid: options.uid,
      gid: options.gid ?? options.uid,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // A CLI that exits before reading its input must not fail the run with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input);
    const timer = options.timeout === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeout);
    let done = false;
    const finish = (code: number | null, extra = '') => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') + extra });
    };
    child.on('error', (error) => finish(null, `${error.message}\n`));
    child.on('close', (code) => finish(code));
  });
}
