/**
 * What every builder adapter shares: the request and result of one build, finding the executable,
 * running it with its output into a log (and, line by line, to a status line), and the errors of a
 * missing builder and a failed build.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { badInput, notFound } from '../errors.js';
import type { VariationName } from './variations.js';

export const builderNames = ['buildah', 'podman', 'docker'] as const;
export type BuilderName = (typeof builderNames)[number];

export interface BuildRequest {
  /** The build context directory. */
  context: string;
  /** The Dockerfile (absolute path). */
  dockerfile: string;
  /** The archive to write. */
  output: string;
  /** Where the builder's stdout and stderr go. */
  logFile: string;
  /** The builder's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Passed to the build command before the context, e.g. `--isolation=chroot`, `--root=DIR`. */
  extraArgs?: readonly string[];
  /** `os/arch[/variant]` to build for (the builder's `--platform`). */
  platform?: string;
  /** Build with one CPU (the `cpus` variation); only where `unsupported('cpus')` is undefined. */
  oneCpu?: boolean;
  /** A name for this build (`baseline`, `umask`), where the builder needs an image name. */
  label?: string;
  /** Each line the builder prints, as it prints it (for a status line). */
  onLine?: (line: string) => void;
}

export interface BuildResult {
  output: string;
  /** The archive as a source reference: `oci-archive:FILE` or `docker-archive:FILE`. */
  reference: string;
  logFile: string;
  seconds: number;
}

export interface Builder {
  name: BuilderName;
  /** How to install it, for the "missing builder" error. */
  installHint: string;
  /** The executable on PATH, or undefined. */
  locate(env?: NodeJS.ProcessEnv): string | undefined;
  /** Why this builder cannot run a variation, or undefined when it can. */
  unsupported(variation: VariationName, env?: NodeJS.ProcessEnv): string | undefined;
  build(request: BuildRequest): Promise<BuildResult>;
}

/** Lines of the builder's log quoted in a build failure. */
export const logTailLines = 15;

/** The absolute path of `name` on the PATH of `env`, or undefined. */
export function locateExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export function missingBuilder(builder: Pick<Builder, 'name' | 'installHint'>) {
  return notFound(`builder ${builder.name}: not found on PATH`, { hint: builder.installHint });
}

/**
 * The step a builder says it is running, from one line of its output: buildah and podman print
 * `STEP 2/3: COPY ...`, the classic docker builder `Step 2/3 : COPY ...`, BuildKit's plain progress
 * `#6 [2/3] COPY ...`. Undefined for any other line.
 */
export function parseStep(line: string): string | undefined {
  const bud = /^STEP (\d+\/\d+): (.*)$/.exec(line) ?? /^Step (\d+\/\d+) : (.*)$/.exec(line);
  if (bud) return `STEP ${bud[1]}: ${bud[2]}`;
  const kit = /^#\d+ \[(?:[^\]\s]+ )?(\d+\/\d+)\] (.*)$/.exec(line);
  return kit ? `STEP ${kit[1]}: ${kit[2]}` : undefined;
}

/** Builds running now: a run that ends (a signal included, whose handler exits) stops them too. */
const running = new Set<ReturnType<typeof spawn>>();
let exitHookInstalled = false;

function stopRunningBuilds(): void {
  for (const child of running) child.kill('SIGTERM');
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Append to the log instead of starting it (a second command of the same build). */
  append?: boolean;
  onLine?: (line: string) => void;
}

/** Spawns a builder command with stdout and stderr into the log file; resolves with the exit code. */
export function runLogged(executable: string, args: readonly string[], options: RunOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(options.logFile, { flags: options.append ? 'a' : 'w' });
    log.on('error', reject);
    log.write(`$ ${executable} ${args.join(' ')}\n`);
    const child = spawn(executable, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', stopRunningBuilds);
    }
    running.add(child);
    child.on('exit', () => running.delete(child));
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    if (options.onLine) {
      const onLine = options.onLine;
      for (const stream of [child.stdout, child.stderr]) {
        let partial = '';
        stream.on('data', (chunk: Buffer) => {
          const lines = (partial + chunk.toString('utf8')).split(/\r?\n|\r/);
          partial = lines.pop() ?? '';
          for (const line of lines) onLine(line);
        });
      }
    }
    child.on('error', (error) => log.end(() => reject(error)));
    child.on('close', (code, signal) => log.end(() => resolve(code ?? 128 + signalNumber(signal))));
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 0;
}

/**
 * A build that fails is bad input (exit 3): the context or Dockerfile does not build. The message
 * quotes the end of the log and names the whole log, which outlives the run for that reason.
 */
export async function buildFailed(name: string, code: number, logFile: string, hint?: string) {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const tail = text.trimEnd().split('\n').slice(-logTailLines);
  return badInput(`${name} build failed (exit ${code}); last lines of its log:\n${tail.map((l) => `  ${l}`).join('\n')}\nwhole log: ${logFile}`, {
    hint,
    data: { logFile, exitCode: code, tail },
  });
}
