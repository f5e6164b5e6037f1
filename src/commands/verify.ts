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

export default class Verify extends BaseCommand {
  static override summary = 'Say whether two builds are identical, equal after normalization, or not reproducible — and explain why.';

  static override description = `Exit codes: 0 identical or reproducible (the gate passes), 1 not reproducible, 2 usage error,
3 bad input, 4 source unavailable, 70 internal error. Two multi-platform indexes without --platform are
compared platform by platform (attestations left out); a platform on one side only fails, and the
exit code follows the worst platform. With --expect, compares one image's canonical digest (an index's
canonical index digest) with a known one (a digest, a previous JSON report, or normalize --json output).`;

  static override examples = [
    '<%= config.bin %> verify build-a.tar build-b.tar',
    '<%= config.bin %> verify docker-archive:a.tar oci:b-layout --format markdown > comment.md',
    '<%= config.bin %> verify a.tar b.tar --policy repro-policy.yaml --format junit > repro.xml',
    '<%= config.bin %> verify rebuilt.tar --expect release-report.json',
    '<%= config.bin %> verify docker://registry.example.com/app:1.0 oci:rebuilt-index:1.0   # every platform of two indexes',
  ];

  static override args = {
    a: Args.string({ description: 'the first build (reference, see inspect)', required: true }),
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
  };

  /** `--format json` means what `--json` means, errors included: stdout is then always one JSON document. */
  override jsonEnabled(): boolean {
    return super.jsonEnabled() || asksForJsonFormat(this.argv);
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Verify);
    const format: ReportFormat = this.jsonEnabled() ? 'json' : (flags.format as ReportFormat);
    const progress = startProgress({ quiet: flags.quiet, json: format === 'json' });
    const load = { ...this.loadOptionsFrom(flags), onProgress: progress.onProgress };
    const normalize = normalizeOptionsFrom(flags);
    const base = baseRequestFrom(flags);
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
