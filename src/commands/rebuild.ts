import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { normalizeOptionsFrom } from '../cli/normalize-flags.js';
import { ExitCode } from '../errors.js';
import { rebuildContext } from '../app/rebuild.js';
import { renderRebuildText } from '../app/rebuild-text.js';
import { builderNames, type BuilderName } from '../rebuild/builders.js';
import { defaultVariations, parseVariations, variationNames } from '../rebuild/variations.js';

export default class Rebuild extends BaseCommand {
  static override summary = 'Build a context again, varying one thing at a time, and name what breaks reproducibility.';

  static override description = [
  'Builds CONTEXT with your own builder (no cache, no --layers) into OCI archives in a temp directory, once as a baseline and once per variation, verifies each build against the baseline, and says which variation produces each remaining difference, with the fix from the cause catalogue. The builder\'s own settings (store, storage driver, isolation) come from your environment and --builder-arg.',
  'Variations: clock (the same context built again later), mtimes (every file time moved), umask (the context group-writable, as a checkout under umask 002 gives), order (files created in reverse order), env (listed as skipped: buildah and podman pass no environment to RUN steps).',
  'Formats: text and json for now; markdown, junit and html come with the report view model.',
  'Exit codes: 0 reproducible under every variation, 1 not reproducible, 2 usage error, 3 a build failed (the end of its log is shown, and where the whole log is), 4 builder or context missing.',
].join('\n\n');

  // The registry and platform flags of the other commands mean nothing to a local build: not accepted.
  // (The cast: oclif types a subclass's baseFlags as the base class's; an empty set is what runs.)
  static override baseFlags = {} as typeof BaseCommand.baseFlags;

  static override examples = [
    '<%= config.bin %> rebuild examples/hello',
    '<%= config.bin %> rebuild . -f build/Dockerfile --vary clock,umask --format json > rebuild.json',
    '<%= config.bin %> rebuild . --builder-arg=--isolation=chroot --builder-arg=--storage-driver=vfs --keep out/',
  ];

  static override args = {
    context: Args.string({ description: 'the build context directory', default: '.' }),
  };

  static override flags = {
    file: Flags.string({ char: 'f', description: 'the Dockerfile [default: CONTEXT/Dockerfile, else CONTEXT/Containerfile]', helpValue: 'FILE' }),
    builder: Flags.string({ description: 'the builder to run', options: [...builderNames], default: 'buildah' }),
    vary: Flags.string({
      description: `variations to try, comma-separated: ${variationNames.join(', ')}`,
      default: defaultVariations.join(','),
      helpValue: 'LIST',
    }),
    'builder-arg': Flags.string({
      description: 'an argument for every build command, e.g. --builder-arg=--isolation=chroot (repeatable)',
      multiple: true,
      helpValue: 'ARG',
    }),
    keep: Flags.string({ description: 'keep the archives and build logs in this new or empty directory', helpValue: 'DIR' }),
    format: Flags.string({ description: 'report format (markdown, junit, html: not yet)', options: ['text', 'json'], default: 'text' }),
    epoch: Flags.string({
      description: 'timestamp that dates and mtimes are normalized to when comparing [default: SOURCE_DATE_EPOCH, else 0]',
      helpValue: 'SECONDS|DATE',
    }),
  };

  /** `--format json` means what `--json` means, errors included. */
  override jsonEnabled(): boolean {
    const argv = this.argv.slice(0, this.argv.includes('--') ? this.argv.indexOf('--') : undefined);
    return super.jsonEnabled() || argv.includes('--format=json') || argv.some((a, i) => a === '--format' && argv[i + 1] === 'json');
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Rebuild);
    const json = this.jsonEnabled();
    const status = !json && process.stderr.isTTY ? (text: string) => process.stderr.write(`\r\x1b[2K${text}`) : undefined;
    const report = await rebuildContext({
      context: args.context,
      dockerfile: flags.file,
      builder: flags.builder as BuilderName,
      vary: parseVariations(flags.vary),
      builderArgs: flags['builder-arg'] ?? [],
      keep: flags.keep,
      normalize: normalizeOptionsFrom({ epoch: flags.epoch, clamp: false }),
      onStep: status && (({ variation, phase }) => status(`${phase === 'build' ? 'building' : 'comparing'} ${variation}…`)),
    });
    status?.('');
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : renderRebuildText(report));
    this.setExitCode(report.passed ? ExitCode.ok : ExitCode.notReproducible);
  }
}
