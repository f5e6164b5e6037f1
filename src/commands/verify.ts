import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { baseRequestFrom, normalizeFlags, normalizeOptionsFrom } from '../cli/normalize-flags.js';
import { shouldColour } from '../cli/colour.js';
import { progressFlags, startProgress } from '../cli/progress.js';
import { attestationFlags, checkPublishFlags, publishVerifyResult, wantsAttestation } from '../cli/verify-publish.js';
import { defaultNeutralizedLimit } from '../compare/collect.js';
import { usageError, ExitCode } from '../errors.js';
import { parseExpectation } from '../gate/expect.js';
import { loadPolicy } from '../gate/policy.js';
import { renderExpectReport, renderIndexReport, renderReport, reportFormats, type ReportFormat } from '../report/render.js';
import { verifyAnyExpectation } from '../app/expect-index.js';
import { verifyAny } from '../app/verify-index.js';
import { isIndexReport } from '../report/index-model.js';
import { availableParallelism } from 'node:os';
import { verifyFleet } from '../fleet/verify-fleet.js';
import { loadPairsFile } from '../fleet/pairs-file.js';
import { parseShard, selectShard, shardMatrix } from '../fleet/shard.js';
import { renderFleetReport } from '../report/render-fleet.js';

export default class Verify extends BaseCommand {
  static override summary = 'Say whether two builds are identical, equal after normalization, or not reproducible — and explain why.';

  static override description = `Exit codes: 0 identical or reproducible (the gate passes), 1 not reproducible, 2 usage error,
3 bad input, 4 source unavailable, 70 internal error. Two multi-platform indexes without --platform are
compared platform by platform (attestations left out); a platform on one side only fails, and the
exit code follows the worst platform. With --expect, compares one image's canonical digest (an index's
canonical index digest) with a known one (a digest, a previous JSON report, or normalize --json output).
With --pairs FILE, verifies every pair of the file (--jobs at once; --shard K/N for one shard) in one
report and exits with the worst pair's code (70 > 74 > 4 > 3 > 2 > 1 > 0); merge joins shard reports.`;

  static override examples = [
    '<%= config.bin %> verify build-a.tar build-b.tar',
    '<%= config.bin %> verify docker-archive:a.tar oci:b-layout --format markdown > comment.md',
    '<%= config.bin %> verify a.tar b.tar --policy repro-policy.yaml --format junit > repro.xml',
    '<%= config.bin %> verify rebuilt.tar --expect release-report.json',
    '<%= config.bin %> verify docker://registry.example.com/app:1.0 oci:rebuilt-index:1.0   # every platform of two indexes',
    '<%= config.bin %> verify --pairs fleet.yaml --jobs 4 --shard 2/3 --format json > shard-2.json   # a fleet, one shard of three',
    '<%= config.bin %> verify --pairs fleet.yaml --format html > fleet.html   # a fleet on one page',
    '<%= config.bin %> verify --pairs fleet.yaml --matrix 3   # a GitHub Actions matrix of 3 shards',
  ];

  static override args = {
    a: Args.string({ description: 'the first build (reference, see inspect); omit with --pairs' }),
    b: Args.string({ description: 'the second build; omit with --expect' }),
  };

  static override flags = {
    ...normalizeFlags,
    format: Flags.string({ char: 'f', description: 'report format', options: [...reportFormats], default: 'text' }),
    policy: Flags.string({ description: 'JSON or YAML file of accepted differences (paths, causes), each with a reason', helpValue: 'FILE' }),
    expect: Flags.string({
      description: "pass when A's canonical digest is this one: sha256:..., or a file with a previous JSON report (recorded with --verify-blobs)",
      helpValue: 'DIGEST|FILE',
    }),
    strict: Flags.boolean({ description: 'only identical images pass; equal after normalization fails', default: false }),
    'verify-blobs': Flags.boolean({
      description:
        'read and digest-check every layer of both images, also where the digests decide (same manifest or config digest, layer pairs with equal diff_ids), and compute the canonical digests',
      default: false,
    }),
    verbose: Flags.boolean({ char: 'v', description: 'text: list neutralized differences one by one', default: false }),
    'all-differences': Flags.boolean({
      description: `list every neutralized difference; by default ${defaultNeutralizedLimit} per layer and cause are listed and the rest counted`,
      default: false,
    }),
    ...progressFlags,
    ...attestationFlags,
    // A fleet (fleet/verify-fleet.ts): these four take no images.
    pairs: Flags.string({ description: 'verify every pair of this YAML or JSON file of {name, a, b, platform?, policy?, expect?}', helpValue: 'FILE' }),
    jobs: Flags.integer({ description: 'with --pairs: pairs verified at once [default: the number of cores]', min: 1 }),
    shard: Flags.string({ description: 'with --pairs: verify only shard K of N (pairs chosen by a hash of their name); merge joins the reports', helpValue: 'K/N' }),
    matrix: Flags.integer({ description: 'with --pairs: print a GitHub Actions matrix of N shards (JSON) and verify nothing', min: 1, helpValue: 'N' }),
  };

  /** `--format json` means what `--json` means, errors included: stdout is then always one JSON document. */
  override jsonEnabled(): boolean {
    return super.jsonEnabled() || asksForJsonFormat(this.argv);
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Verify);
    const format: ReportFormat = this.jsonEnabled() ? 'json' : (flags.format as ReportFormat);
    // A fleet shows no progress bars: many pairs are in flight at once.
    if (flags.pairs !== undefined) return this.runFleet(flags.pairs, args, flags, { format, load: this.loadOptionsFrom(flags), normalize: normalizeOptionsFrom(flags), base: baseRequestFrom(flags) });
    const progress = startProgress({ quiet: flags.quiet, json: format === 'json' });
    const load = { ...this.loadOptionsFrom(flags), onProgress: progress.onProgress };
    const normalize = normalizeOptionsFrom(flags);
    const base = baseRequestFrom(flags);
    for (const name of ['jobs', 'shard', 'matrix'] as const) if (flags[name] !== undefined) throw usageError(`--${name} needs --pairs`);
    if (args.a === undefined) throw usageError('verify needs two images, one image with --expect, or --pairs FILE');
    await checkPublishFlags(flags);
    // --attest, --attest-push and, in GitHub Actions, the job summary and annotations; before the report is printed.
    const publish = (report: Parameters<typeof publishVerifyResult>[0], policy?: string) =>
      publishVerifyResult(report, { ...flags, policy }, { registry: load, quiet: flags.quiet || format === 'json' });

    if (flags.expect !== undefined) {
      if (args.b !== undefined) throw usageError('give either two images or one image with --expect, not both');
      const report = await progress.during(verifyAnyExpectation(args.a, await parseExpectation(flags.expect), { load, normalize, base }));
      await publish(report);
      process.stdout.write(renderExpectReport(report, format));
      this.setExitCode(report.passed ? ExitCode.ok : ExitCode.notReproducible);
      return;
    }
    if (args.b === undefined) throw usageError('verify needs two images, or one image with --expect');
    const policy = flags.policy ? { policy: await loadPolicy(flags.policy), source: flags.policy } : undefined;
    const neutralizedLimit = flags['all-differences'] ? Infinity : defaultNeutralizedLimit;
    const verifyBlobs = flags['verify-blobs'] || wantsAttestation(flags);
    const report = await progress.during(verifyAny({ a: args.a, b: args.b, load, normalize, strict: flags.strict, policy, neutralizedLimit, base, verifyBlobs }));
    await publish(report, flags.policy);
    const renderOptions = { color: format === 'text' && shouldColour(process.env, process.stdout.isTTY), verbose: flags.verbose };
    process.stdout.write(isIndexReport(report) ? renderIndexReport(report, format, renderOptions) : renderReport(report, format, renderOptions));
    this.setExitCode(report.passed ? ExitCode.ok : ExitCode.notReproducible);
  }

  /** --pairs: the fleet (or one shard, or the matrix of its shards) in one report; the worst pair's exit code. */
  private async runFleet(
    file: string,
    args: { a?: string; b?: string },
    flags: FleetFlags,
    context: { format: ReportFormat; load: ReturnType<Verify['loadOptionsFrom']>; normalize: ReturnType<typeof normalizeOptionsFrom>; base: ReturnType<typeof baseRequestFrom> },
  ): Promise<void> {
    if (args.a !== undefined) throw usageError('--pairs takes no images: the pairs file names them');
    if (flags.expect !== undefined) throw usageError('--pairs takes no --expect: give expect per pair in the pairs file');
    const pairsFile = await loadPairsFile(file);
    if (flags.matrix !== undefined) {
      if (flags.shard !== undefined) throw usageError('give either --matrix or --shard');
      const matrix = shardMatrix(flags.matrix);
      const include = matrix.include.map((entry) => ({ ...entry, pairs: selectShard(pairsFile.pairs, entry).length }));
      process.stdout.write(`${JSON.stringify({ include })}\n`);
      return;
    }
    const report = await verifyFleet({
      pairsFile,
      shard: flags.shard !== undefined ? parseShard(flags.shard) : undefined,
      jobs: flags.jobs ?? availableParallelism(),
      load: context.load,
      normalize: context.normalize,
      strict: flags.strict,
      defaultPolicy: flags.policy,
      neutralizedLimit: flags['all-differences'] ? Infinity : defaultNeutralizedLimit,
      base: context.base,
      verifyBlobs: flags['verify-blobs'],
    });
    const color = context.format === 'text' && shouldColour(process.env, process.stdout.isTTY);
    process.stdout.write(renderFleetReport(report, context.format, { color, verbose: flags.verbose }));
    this.setExitCode(report.exitCode as ExitCode);
  }
}

/** The flags a fleet reads. */
interface FleetFlags {
  expect?: string;
  matrix?: number;
  shard?: string;
  jobs?: number;
  strict: boolean;
  policy?: string;
  'all-differences': boolean;
  'verify-blobs': boolean;
  verbose: boolean;
}

/** Whether argv (before any `--`) sets the format to json: `--format json`, `--format=json`, `-f json`, `-fjson`. */
function asksForJsonFormat(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const options = end === -1 ? argv : argv.slice(0, end);
  let format: string | undefined;
  options.forEach((arg, index) => {
    if (arg === '--format' || arg === '-f') format = options[index + 1];
    else if (arg.startsWith('--format=')) format = arg.slice('--format='.length);
    else if (/^-f[^-]/.test(arg)) format = arg.slice(2).replace(/^=/, '');
  });
  return format === 'json';
}
