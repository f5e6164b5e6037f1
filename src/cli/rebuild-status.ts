/**
 * rebuild's progress on stderr while a person watches: one status line per build (the variation, the
 * time since its build started, the step the builder says it runs), redrawn in place each second and
 * left standing when that build is verified. Never on a pipe, never in JSON mode, never with --quiet:
 * stdout then carries the report and nothing else.
 */
import type { RebuildStep } from '../app/rebuild.js';

export interface RebuildStatus {
  /** Undefined when nothing is shown. */
  readonly onStep?: (step: RebuildStep) => void;
  /** Ends the line being drawn (when a run fails mid-build, too). */
  stop(): void;
}

export interface StatusSettings {
  quiet: boolean;
  json: boolean;
  stream?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
  /** Milliseconds between redraws (default 1000). */
  intervalMs?: number;
}

/** The line for one build: `umask      12.3 s  STEP 2/3: COPY hello.txt /hello.txt`, cut to the width. */
export function formatStatusLine(variation: string, seconds: number, activity: string, columns: number): string {
  const line = `${variation.padEnd(10)} ${seconds.toFixed(1).padStart(6)} s  ${activity}`;
  return line.length > columns - 1 ? `${line.slice(0, Math.max(0, columns - 2))}…` : line;
}

export function startRebuildStatus(settings: StatusSettings): RebuildStatus {
  const stream = settings.stream ?? process.stderr;
  const env = settings.env ?? process.env;
  if (settings.quiet || settings.json || !stream.isTTY || env.TERM === 'dumb') return { stop: () => {} };

  let current: { variation: string; started: number; activity: string } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    if (!current) return;
    const text = formatStatusLine(current.variation, (Date.now() - current.started) / 1000, current.activity, stream.columns || 100);
    stream.write(`\r\x1b[2K${text}`);
  };
  const finish = () => {
    if (!current) return;
    draw();
    stream.write('\n');
    current = undefined;
    if (timer) clearInterval(timer);
    timer = undefined;
  };
  const onStep = (step: RebuildStep) => {
    if (step.phase === 'build' && step.step === undefined) {
      finish();
      current = { variation: step.variation, started: Date.now(), activity: 'building' };
      timer = setInterval(draw, settings.intervalMs ?? 1000);
      timer.unref();
    } else if (current?.variation === step.variation) {
      if (step.phase === 'build') current.activity = step.step ?? current.activity;
      else if (step.phase === 'verify') current.activity = 'built; comparing';
      else {
        current.activity = 'done';
        finish();
        return;
      }
    }
    draw();
  };
  return { onStep, stop: finish };
}
