/**
 * `rebuild`: build a context with the user's builder, then again once per variation, verify each build
 * against the baseline, and attribute every remaining difference to the variations that produce it.
 */
import { copyFile, lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { findCauseEntry } from '../causes/catalogue.js';
import { notFound, OciReproError, usageError, writeContext } from '../errors.js';
import type { NormalizeOptions } from '../normalize/options.js';
import type { Report, Verdict } from '../report/model.js';
import { getBuilder, missingBuilder, type BuilderName, type BuildResult } from '../rebuild/builders.js';
import { copyContext, copyRuleOf, describeVariation, type VariationName } from '../rebuild/variations.js';
import { trackTempPath, untrackTempPath } from '../temp-files.js';
import { toolVersion } from '../version.js';
import { verifyImages } from './verify.js';

export const rebuildReportSchemaVersion = 1;

export interface RebuildRequest {
  /** The build context directory. */
  context: string;
  /** The Dockerfile; default CONTEXT/Dockerfile, else CONTEXT/Containerfile. Relative to the working directory. */
  dockerfile?: string;
  builder: BuilderName;
  vary: readonly VariationName[];
  /** Passed to every build command, e.g. `--isolation=chroot`. */
  builderArgs?: readonly string[];
  /** Keep the archives and logs in this directory (created; must be empty) instead of a temp dir. */
  keep?: string;
  normalize: NormalizeOptions;
  env?: NodeJS.ProcessEnv;
  /** Called when a build or a comparison starts, for a status line. */
  onStep?: (step: { variation: string; phase: 'build' | 'verify' }) => void;
}

/** A cause a variation triggers: how many differences it explains, how many of those remain. */
export interface TriggeredCause {
  id: string;
  title: string;
  fix: string | null;
  remaining: number;
  neutralized: number;
}

export interface VariationOutcome {
  name: VariationName;
  description: string;
  status: 'compared' | 'skipped';
  /** Why it was skipped. */
  reason?: string;
  buildSeconds?: number;
  verdict?: Verdict;
  passed?: boolean;
  /** The paths of the differences that remain (not neutralized, not accepted). */
  remaining?: string[];
  /**
   * Of `remaining`, those the clock variation does not produce too: what this variation breaks itself.
   * Present when clock was compared and this is another variation.
   */
  beyondClock?: string[];
  /** Causes of every difference it produced, remaining first, then by count. */
  causes?: TriggeredCause[];
  /** The OCI archive, when kept. */
  archive?: string;
  /** The full verify report of baseline against this build. */
  report?: Report;
}

/** One remaining difference and the variations that produce it. */
export interface AttributedDifference {
  path: string;
  cause: { id: string; title: string } | null;
  hint: string | null;
  variations: VariationName[];
  /** The clock variation produces it: every build differs here, whatever else changes. */
  everyBuild: boolean;
}

export interface RebuildReport {
  schemaVersion: typeof rebuildReportSchemaVersion;
  kind: 'rebuild';
  tool: { name: 'oci-repro'; version: string };
  context: string;
  dockerfile: string;
  builder: BuilderName;
  /** True when every compared variation passed. */
  passed: boolean;
  baseline: { buildSeconds: number; archive?: string };
  variations: VariationOutcome[];
  differences: AttributedDifference[];
  /** Where archives and logs were kept (`--keep`). */
  kept?: string;
  totalSeconds: number;
}

/** Builds, varies, verifies, attributes. Throws exit 4 for a missing builder or context, 3 for a failed build. */
export async function rebuildContext(request: RebuildRequest): Promise<RebuildReport> {
  const started = Date.now();
  const env = request.env ?? process.env;
  const builder = getBuilder(request.builder);
  if (builder.locate(env) === undefined) throw missingBuilder(builder);
  const context = resolve(request.context);
  await requireDirectory(context);
  const dockerfile = await findDockerfile(context, request.dockerfile);

  const work = await openWorkDir(request.keep);
  // The builder's own temp files go to a directory of ours: a build stopped by a signal leaves its
  // temp directory behind (buildah does), and ours is removed however the run ends.
  let builderTmp: { dir: string; close(): Promise<void> } | undefined;
  try {
    builderTmp = await openTempDir('oci-repro-builder-');
    const buildEnv = { ...env, TMPDIR: builderTmp.dir };
    const build = async (label: string, buildContext: string, buildDockerfile: string): Promise<BuildResult> => {
      request.onStep?.({ variation: label, phase: 'build' });
      const output = join(work.dir, `${label}.tar`);
      const logFile = join(work.dir, `${label}.log`);
      try {
        return await builder.build({ context: buildContext, dockerfile: buildDockerfile, output, logFile, env: buildEnv, extraArgs: request.builderArgs });
      } catch (error) {
        throw await keepFailedLog(error, logFile, work.kept);
      }
    };

    const baselineStart = Date.now();
    const baseline = await build('baseline', context, dockerfile);
    const variations: VariationOutcome[] = [];
    for (const name of request.vary) {
      const info = describeVariation(name);
      if (info.unsupported !== undefined) {
        variations.push({ name, description: info.description, status: 'skipped', reason: info.unsupported });
        continue;
      }
      // The clock must move at least a second: RUN steps that print the date have second resolution.
      if (name === 'clock') await sleep(1100 - (Date.now() - baselineStart));
      const rule = copyRuleOf(name);
      const varied = rule ? await copyContext(context, rule) : undefined;
      let result: BuildResult;
      try {
        const variedDockerfile = varied && isInside(dockerfile, context) ? join(varied.context, relative(context, dockerfile)) : dockerfile;
        result = await build(name, varied?.context ?? context, variedDockerfile);
      } finally {
        await varied?.remove();
      }
      request.onStep?.({ variation: name, phase: 'verify' });
      const report = await verifyImages({ a: `oci-archive:${baseline.output}`, b: `oci-archive:${result.output}`, normalize: request.normalize });
      variations.push(outcomeOf(name, info.description, result, report, work.kept));
    }

    markBeyondClock(variations);
    const compared = variations.filter((v) => v.status === 'compared');
    return {
      schemaVersion: rebuildReportSchemaVersion,
      kind: 'rebuild',
      tool: { name: 'oci-repro', version: toolVersion },
      context,
      dockerfile,
      builder: request.builder,
      passed: compared.every((v) => v.passed),
      baseline: { buildSeconds: baseline.seconds, ...(work.kept ? { archive: baseline.output } : {}) },
      variations,
      differences: attribute(variations),
      ...(work.kept ? { kept: work.dir } : {}),
      totalSeconds: (Date.now() - started) / 1000,
    };
  } finally {
    await builderTmp?.close();
    await work.close();
  }
}

function outcomeOf(name: VariationName, description: string, build: BuildResult, report: Report, kept: boolean): VariationOutcome {
  const remaining = report.differences.filter((d) => !d.neutralized && !d.accepted);
  const causes = new Map<string, TriggeredCause>();
  for (const d of report.differences) {
    const id = d.cause?.id ?? 'unknown';
    let cause = causes.get(id);
    if (!cause) {
      cause = { id, title: d.cause?.title ?? 'no known cause', fix: (d.cause && findCauseEntry(d.cause.id)?.fix) ?? d.hint ?? null, remaining: 0, neutralized: 0 };
      causes.set(id, cause);
    }
    if (d.neutralized || d.accepted) cause.neutralized++;
    else cause.remaining++;
  }
  // Neutralized differences the report only counts belong to their causes too.
  for (const o of report.omitted ?? []) {
    const cause = causes.get(o.cause);
    if (cause) cause.neutralized += o.count;
    else {
      const entry = findCauseEntry(o.cause);
      causes.set(o.cause, { id: o.cause, title: entry?.title ?? 'no known cause', fix: entry?.fix ?? null, remaining: 0, neutralized: o.count });
    }
  }
  return {
    name,
    description,
    status: 'compared',
    buildSeconds: build.seconds,
    verdict: report.verdict,
    passed: report.passed,
    remaining: remaining.map((d) => d.path),
    causes: [...causes.values()].sort((x, y) => y.remaining - x.remaining || y.neutralized - x.neutralized || x.id.localeCompare(y.id)),
    ...(kept ? { archive: build.output } : {}),
    report,
  };
}

/** A second build differs wherever the clock shows: other variations are judged by what they add to that. */
function markBeyondClock(variations: VariationOutcome[]): void {
  const clock = variations.find((v) => v.name === 'clock' && v.status === 'compared');
  if (!clock) return;
  const byClock = new Set(clock.remaining);
  for (const v of variations) {
    if (v !== clock && v.status === 'compared') v.beyondClock = (v.remaining ?? []).filter((path) => !byClock.has(path));
  }
}

/** Every remaining difference, by path, with the variations that produce it. */
function attribute(variations: readonly VariationOutcome[]): AttributedDifference[] {
  const byPath = new Map<string, AttributedDifference>();
  for (const v of variations) {
    for (const d of v.report?.differences ?? []) {
      if (d.neutralized || d.accepted) continue;
      let entry = byPath.get(d.path);
      if (!entry) {
        entry = { path: d.path, cause: d.cause, hint: d.hint ?? null, variations: [], everyBuild: false };
        byPath.set(d.path, entry);
      }
      if (!entry.variations.includes(v.name)) entry.variations.push(v.name);
      if (v.name === 'clock') entry.everyBuild = true;
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function requireDirectory(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (!stat) throw notFound(`build context ${path}: not found`);
  if (!stat.isDirectory()) throw usageError(`build context ${path}: not a directory`);
}

async function findDockerfile(context: string, given: string | undefined): Promise<string> {
  const candidates = given !== undefined ? [resolve(given)] : [join(context, 'Dockerfile'), join(context, 'Containerfile')];
  for (const candidate of candidates) {
    const stat = await lstat(candidate).catch(() => undefined);
    if (stat?.isFile()) return candidate;
  }
  throw notFound(given !== undefined ? `dockerfile ${candidates[0]}: not found` : `no Dockerfile or Containerfile in ${context}`, {
    hint: given !== undefined ? undefined : 'name one with -f',
  });
}

function isInside(path: string, dir: string): boolean {
  return path.startsWith(dir + sep) && !isAbsolute(relative(dir, path));
}

interface WorkDir {
  dir: string;
  kept: boolean;
  close(): Promise<void>;
}

/** `--keep DIR` (created if missing, must be empty) or a registered temp directory removed at the end. */
async function openWorkDir(keep: string | undefined): Promise<WorkDir> {
  if (keep === undefined) return { ...(await openTempDir('oci-repro-rebuild-')), kept: false };
  const dir = resolve(keep);
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw writeContext(`--keep ${dir}`, error);
  }
  if ((await readdir(dir)).length > 0) throw usageError(`--keep ${dir}: not empty`, { hint: 'give a new or empty directory' });
  return { dir, kept: true, close: async () => {} };
}

/** A temp directory registered for signal cleanup while it exists. */
async function openTempDir(prefix: string): Promise<{ dir: string; close(): Promise<void> }> {
  let dir: string;
  try {
    dir = await mkdtemp(join(tmpdir(), prefix));
  } catch (error) {
    throw writeContext(`cannot create a temp directory in ${tmpdir()}`, error);
  }
  trackTempPath(dir);
  return {
    dir,
    close: async () => {
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      untrackTempPath(dir);
    },
  };
}

/**
 * A failed build's log must outlive the temp directory, since the error points at it: it is copied
 * beside it (`oci-repro-build-*.log`, the user's to remove), unless the work dir is kept anyway.
 */
async function keepFailedLog(error: unknown, logFile: string, kept: boolean): Promise<unknown> {
  if (kept || !(error instanceof OciReproError) || error.data?.logFile !== logFile) return error;
  const saved = join(tmpdir(), `oci-repro-build-${randomBytes(4).toString('hex')}.log`);
  try {
    await copyFile(logFile, saved);
  } catch {
    return error;
  }
  return new OciReproError(error.code, error.message.replace(`whole log: ${logFile}`, `whole log: ${saved}`), {
    hint: error.hint,
    data: { ...error.data, logFile: saved },
  });
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
