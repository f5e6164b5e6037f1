import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { normalizeOptionsFrom } from '../cli/normalize-flags.js';
import { shouldColour } from '../cli/colour.js';
import { startRebuildStatus } from '../cli/rebuild-status.js';
import { ExitCode, usageError } from '../errors.js';
import { attestReport, checkAttestationPath, pushAttestation, writeAttestation } from '../app/attest.js';
import { rebuildContext } from '../app/rebuild.js';
import { renderRebuildReport } from '../report/render-rebuild.js';
import { reportFormats, type ReportFormat } from '../report/render.js';
import { builderNames, type BuilderName } from '../rebuild/builders.js';
import { defaultVariations, parseVariations, variationNames } from '../rebuild/variations.js';
import { parsePlatform } from '../sources/index.js';

export default class Rebuild extends BaseCommand {
  static override summary = 'Build a context again, varying one thing at a time, and name what breaks reproducibility.';

  static override description = [
    'Builds CONTEXT with your own builder (no cache, no --layers) into image archives in a temp directory, once as a baseline and once per variation, verifies each build against the baseline, and says which variation produces each remaining difference, with the fix from the cause catalogue. The builder\'s own settings (store, storage driver, isolation, remote builder) come from your environment and --builder-arg.',
    'Variations: clock (the same context built again later), mtimes (every file time moved), umask (the context group-writable, as a checkout under umask 002 gives), order (files created in reverse order), cpus (the builder held to one CPU; buildah and podman through taskset, classic docker build --cpuset-cpus). env and hostname are listed as skipped with the reason: no builder passes environment or a hostname to RUN steps.',
    'With --against REF: one build, verified against a released image (any source reference: oci:, oci-archive:, docker-archive:, docker://, docker-daemon:): the release is reproducible from this source, or the differences that say why not.',
    'Builders: buildah (bud), podman (build), docker (buildx build --output type=oci; without buildx the classic docker build + docker save).',
    'Exit codes: 0 reproducible under every variation (or the release matches), 1 not reproducible, 2 usage error, 3 a build failed (the end of its log is shown, and where the whole log is), 4 builder, context or release missing.',
  ].join('\n\n');

  static override examples = [
    '<%= config.bin %> rebuild examples/hello',
    '<%= config.bin %> rebuild . -f build/Dockerfile --vary clock,umask --format json > rebuild.json',
    '<%= config.bin %> rebuild . --builder-arg=--isolation=chroot --builder-arg=--storage-driver=vfs --keep out/',
    '<%= config.bin %> rebuild . --against docker://registry.example.com/app:1.0 --format markdown > comment.md',
  ];

  static override args = {
    context: Args.string({ description: 'the build context directory', default: '.' }),
  };

  static override flags = {
    file: Flags.string({ char: 'f', description: 'the Dockerfile [default: CONTEXT/Dockerfile, else CONTEXT/Containerfile]', helpValue: 'FILE' }),
    builder: Flags.string({ description: 'the builder to run', options: [...builderNames], default: 'buildah' }),
    vary: Flags.string({
      description: `variations to try, comma-separated: ${variationNames.join(', ')} [default: ${defaultVariations.join(',')}]`,
      helpValue: 'LIST',
    }),
    against: Flags.string({
      description: 'build once and verify this released image against the build (any source reference, a registry included)',
      helpValue: 'REF',
    }),
    platform: Flags.string({
      description: "the platform to build for (the builder's --platform); with --against, also the release's platform in an index",
      helpValue: 'os/arch[/variant]',
    }),
    'builder-arg': Flags.string({
      description: 'an argument for every build command, e.g. --builder-arg=--isolation=chroot (repeatable)',
      multiple: true,
      helpValue: 'ARG',
    }),
    keep: Flags.string({ description: 'keep the archives and build logs in this new or empty directory', helpValue: 'DIR' }),
    format: Flags.string({ description: 'report format', options: [...reportFormats], default: 'text' }),
    epoch: Flags.string({
      description: 'timestamp that dates and mtimes are normalized to when comparing [default: SOURCE_DATE_EPOCH, else 0]',
      helpValue: 'SECONDS|DATE',
    }),
    attest: Flags.string({
      description:
        'write an in-toto statement with a SLSA verification summary (PASSED or FAILED; the builds, or the release and the rebuild, as subjects; their canonical digests) to FILE, for your signer',
      helpValue: 'FILE',
    }),
    'attest-push': Flags.boolean({
      description: "with --against: push that statement to the release's registry as an OCI 1.1 referrer of its manifest",
      default: false,
    }),
    quiet: Flags.boolean({ char: 'q', description: 'no status line on stderr (it shows only when stderr is a terminal, and never with --json)', default: false }),
  };

  /** `--format json` means what `--json` means, errors included. */
  override jsonEnabled(): boolean {
    const argv = this.argv.slice(0, this.argv.includes('--') ? this.argv.indexOf('--') : undefined);
    return super.jsonEnabled() || argv.includes('--format=json') || argv.some((a, i) => a === '--format' && argv[i + 1] === 'json');
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Rebuild);
    const format: ReportFormat = this.jsonEnabled() ? 'json' : (flags.format as ReportFormat);
    if (flags.against !== undefined && flags.vary !== undefined) {
      throw usageError('--against builds once and varies nothing: give --against or --vary, not both');
    }
    if (flags['attest-push'] && flags.against === undefined) {
      throw usageError('--attest-push needs --against: the statement is pushed beside the release', { hint: 'write it to a file with --attest FILE' });
    }
    // Checked before any build, so a typo costs no build.
    if (flags.platform !== undefined) parsePlatform(flags.platform);
    if (flags.attest !== undefined) await checkAttestationPath(flags.attest);
    const attesting = flags.attest !== undefined || flags['attest-push'];
    const status = startRebuildStatus({ quiet: flags.quiet, json: format === 'json' });
    let report;
    try {
      report = await rebuildContext({
        context: args.context,
        dockerfile: flags.file,
        builder: flags.builder as BuilderName,
        vary: parseVariations(flags.vary ?? defaultVariations.join(',')),
        builderArgs: flags['builder-arg'] ?? [],
        platform: flags.platform,
        against: flags.against,
        load: this.loadOptionsFrom({ ...flags, platform: undefined }),
        keep: flags.keep,
        normalize: normalizeOptionsFrom({ epoch: flags.epoch, clamp: false }),
        verifyBlobs: attesting,
        onStep: status.onStep,
      });
    } finally {
      status.stop();
    }
    // Published before the report is printed, as verify does: a failed push leaves one error, no report.
    if (attesting) {
      const statement = await attestReport(report);
      if (flags.attest !== undefined) await writeAttestation(flags.attest, statement);
      if (flags['attest-push']) {
        const pushed = await pushAttestation(report, statement, this.loadOptionsFrom({ ...flags, platform: undefined }));
        if (!flags.quiet && format !== 'json') {
          const how = pushed.method === 'api' ? 'referrers API' : `referrers tag ${pushed.tag}`;
          process.stderr.write(`oci-repro: attestation pushed: ${pushed.reference} (subject ${pushed.subject.digest}, ${how})\n`);
        }
      }
    }
    const color = format === 'text' && shouldColour(process.env, process.stdout.isTTY);
    process.stdout.write(renderRebuildReport(report, format, { color }));
    this.setExitCode(report.passed ? ExitCode.ok : ExitCode.notReproducible);
  }
}
