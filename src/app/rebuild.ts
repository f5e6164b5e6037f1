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
import type { Report } from '../report/model.js';
import { rebuildReportSchemaVersion, type RebuildReport, type TriggeredCause, type VariationOutcome, type AttributedDifference } from '../report/rebuild-model.js';
import { getBuilder, missingBuilder, parseStep, type BuilderName, type BuildResult } from '../rebuild/builders.js';
import type { LoadOptions } from '../sources/options.js';
import { loadImage, parsePlatform } from '../sources/index.js';
import type { Image } from '../image/image.js';
import { copyContext, copyRuleOf, describeVariation, type VariationName } from '../rebuild/variations.js';
import { trackTempPath, untrackTempPath } from '../temp-files.js';
import { toolVersion } from '../version.js';
import { verifyImages, verifyLoaded } from './verify.js';

export { rebuildReportSchemaVersion } from '../report/rebuild-model.js';
export type { AgainstOutcome, AttributedDifference, RebuildReport, TriggeredCause, VariationOutcome } from '../report/rebuild-model.js';
export type { BuilderName } from '../rebuild/builder-process.js';
export type { VariationName } from '../rebuild/variations.js';

export interface RebuildRequest {
  /** The build context directory. */
  context: string;
  /** The Dockerfile; default CONTEXT/Dockerfile, else CONTEXT/Containerfile. Relative to the working directory. */
  dockerfile?: string;
  builder: BuilderName;
  /** Ignored with `against`: one build, no variations. */
  vary: readonly VariationName[];
  /** Passed to every build command, e.g. `--isolation=chroot`. */
  builderArgs?: readonly string[];
  /** `os/arch[/variant]`: passed to the builder, and picks the release's platform from an index. */
  platform?: string;
  /** Build once and verify this released image (any source reference) against the build. */
  against?: string;
  /** How to load `against` (registry credentials, TLS). */
  load?: LoadOptions;
  /** Keep the archives and logs in this directory (created; must be empty) instead of a temp dir. */
  keep?: string;
  normalize: NormalizeOptions;
  /** Read every layer and compute the canonical digests, as verify --verify-blobs (an attestation carries them). */
  verifyBlobs?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Called when a build or a comparison starts, and with each step a build reports, for a status line. */
  onStep?: (step: RebuildStep) => void;
}

export interface RebuildStep {
  variation: string;
  phase: 'build' | 'verify' | 'done';
  /** The builder's own step (`STEP 2/3: COPY ...`), during a build. */
  step?: string;
}

/**
 * Builds, varies, verifies, attributes; with `against`, builds once and verifies the release against
 * it. Throws exit 4 for a missing builder, context or release, 3 for a failed build.
 */
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
    const build = async (label: string, buildContext: string, buildDockerfile: string, oneCpu = false): Promise<BuildResult> => {
      request.onStep?.({ variation: label, phase: 'build' });
      const onStep = request.onStep;
      const onLine = onStep && ((line: string) => {
        const step = parseStep(line);
        if (step !== undefined) onStep({ variation: label, phase: 'build', step });
      });
      const output = join(work.dir, `${label}.tar`);
      const logFile = join(work.dir, `${label}.log`);
      try {
        return await builder.build({
          context: buildContext,
          dockerfile: buildDockerfile,
          output,
          logFile,
          env: buildEnv,
          extraArgs: request.builderArgs,
          platform: request.platform,
          oneCpu,
          label,
          onLine,
        });
      } catch (error) {
        throw await keepFailedLog(error, logFile, work.kept);
      }
    };
    const load = { ...request.load, ...(request.platform ? { platform: parsePlatform(request.platform) } : {}) };
    const verify = async (label: string, a: string | Image, b: string): Promise<Report> => {
      request.onStep?.({ variation: label, phase: 'verify' });
      let report: Report;
      const verifyBlobs = request.verifyBlobs ?? false;
      if (typeof a === 'string') report = await verifyImages({ a, b, normalize: request.normalize, load, verifyBlobs });
      else {
        const rebuilt = await loadImage(b, load);
        try {
          report = await verifyLoaded(a, rebuilt, { a: a.reference, b, normalize: request.normalize, load, verifyBlobs });
        } finally {
          await rebuilt.close();
        }
      }
      request.onStep?.({ variation: label, phase: 'done' });
      return report;
    };
    const common = {
      schemaVersion: rebuildReportSchemaVersion as typeof rebuildReportSchemaVersion,
      kind: 'rebuild' as const,
      tool: { name: 'oci-repro' as const, version: toolVersion },
      context,
      dockerfile,
      builder: request.builder,
      ...(request.platform ? { platform: request.platform } : {}),
    };

    if (request.against !== undefined) {
      // The release is A, as in `verify RELEASE REBUILT`: differences read "release -> rebuild".
      // The release is found (or not: exit 4) before a build that may take minutes; it stays open.
      const release = await loadImage(request.against, load);
      let report: Report;
      let rebuilt: BuildResult;
      try {
        rebuilt = await build('rebuilt', context, dockerfile);
        report = await verify('rebuilt', release, rebuilt.reference);
      } finally {
        await release.close();
      }
      return {
        ...common,
        passed: report.passed,
        baseline: { buildSeconds: rebuilt.seconds, ...(work.kept ? { archive: rebuilt.output } : {}) },
        variations: [],
        differences: [],
        against: { reference: request.against, report },
        ...(work.kept ? { kept: work.dir } : {}),
        totalSeconds: (Date.now() - started) / 1000,
      };
    }

    const baselineStart = Date.now();
    const baseline = await build('baseline', context, dockerfile);
    request.onStep?.({ variation: 'baseline', phase: 'done' });
    const variations: VariationOutcome[] = [];
    for (const name of request.vary) {
      const info = describeVariation(name);
      const unsupported = builder.unsupported(name, env);
      if (unsupported !== undefined) {
        variations.push({ name, description: info.description, when: info.when, status: 'skipped', reason: unsupported });
        continue;
      }
      // The clock must move at least a second: RUN steps that print the date have second resolution.
      if (name === 'clock') await sleep(1100 - (Date.now() - baselineStart));
      const rule = copyRuleOf(name);
      const varied = rule ? await copyContext(context, rule) : undefined;
      let result: BuildResult;
      try {
        const variedDockerfile = varied && isInside(dockerfile, context) ? join(varied.context, relative(context, dockerfile)) : dockerfile;
        result = await build(name, varied?.context ?? context, variedDockerfile, name === 'cpus');
      } finally {
        await varied?.remove();
      }
      const report = await verify(name, baseline.reference, result.reference);
      variations.push(outcomeOf(name, result, report, work.kept));
    }

    markBeyondClock(variations);
    const compared = variations.filter((v) => v.status === 'compared');
    return {
      ...common,
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

function outcomeOf(name: VariationName, build: BuildResult, report: Report, kept: boolean): VariationOutcome {
  const { description, when } = describeVariation(name);
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
    when,
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
