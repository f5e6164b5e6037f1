import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { shouldColour } from '../cli/colour.js';
import { ExitCode } from '../errors.js';
import { loadFleetReport, mergeFleetReports } from '../fleet/merge.js';
import { fleetFormats, renderFleetReport } from '../report/render-fleet.js';
import type { ReportFormat } from '../report/render.js';

export default class Merge extends BaseCommand {
  static override summary = "Join the JSON reports of a fleet's shards into the report of the whole fleet.";

  static override description =
    'Takes the reports of verify --pairs FILE --shard K/N --format json, one per shard (every shard once, all from one pairs file and the same options), and prints the report the unsharded run gives: the pairs in the order of the pairs file, the worst verdict, and the exit code of the worst pair (0 passed, 1 not reproducible, 3 or 4 a pair could not be verified). A missing or repeated shard is exit 2.';

  static override examples = [
    '<%= config.bin %> merge shard-1.json shard-2.json shard-3.json',
    '<%= config.bin %> merge reports/*.json --format junit > fleet.xml',
  ];

  static override strict = false;

  // Merge reads local JSON files: the source flags (--platform, --creds, --tls-verify, --cert-file) do not
  // apply. The cast only satisfies the static side's type; run() reads none of them.
  static override baseFlags = {} as typeof BaseCommand.baseFlags;

  static override args = {
    reports: Args.string({ description: 'JSON reports of the shards', required: true }),
  };

  static override flags = {
    format: Flags.string({ char: 'f', description: 'report format', options: [...fleetFormats], default: 'text' }),
    verbose: Flags.boolean({ char: 'v', description: 'text: list neutralized differences one by one', default: false }),
  };

  override jsonEnabled(): boolean {
    return super.jsonEnabled() || this.argv.some((arg, i, argv) => arg === '--format=json' || arg === '-fjson' || ((arg === '--format' || arg === '-f') && argv[i + 1] === 'json'));
  }

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Merge);
    const format = (this.jsonEnabled() ? 'json' : flags.format) as (typeof fleetFormats)[number] & ReportFormat;
    const paths = argv as string[];
    const shards = await Promise.all(paths.map(async (path) => ({ path, report: await loadFleetReport(path) })));
    const report = mergeFleetReports(shards);
    const color = format === 'text' && shouldColour(process.env, process.stdout.isTTY);
    process.stdout.write(renderFleetReport(report, format, { color, verbose: flags.verbose }));
    this.setExitCode(report.exitCode as ExitCode);
  }
}
