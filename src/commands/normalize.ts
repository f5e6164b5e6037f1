import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { baseRequestFrom, normalizeFlags, normalizeOptionsFrom } from '../cli/normalize-flags.js';
import type { NormalizeResult } from '../app/normalize.js';
import { isNormalizeIndexResult, normalizeAny, type NormalizeIndexResult } from '../app/normalize-index.js';
import { progressFlags, startProgress } from '../cli/progress.js';
import { layerRuleNames } from '../normalize/options.js';

export default class Normalize extends BaseCommand {
  static override summary = 'Compute the canonical digest of an image and, with --output, write the normalized image.';

  static override description = `The canonical digest is the image ID of the normalized image: sha256 of the RFC 8785 bytes of the
normalized config, whose rootfs.diff_ids are the digests of the normalized layer tars. It does not depend on
compression. With --output the normalized image is written (atomically) and its config digest equals the
canonical digest printed.

A multi-platform index without --platform: each platform is normalized, the canonical index digest (sha256
of the canonical JSON of the platforms' canonical digests, sorted by platform) is printed, and --output
writes an OCI image index of the normalized images (oci:, oci-archive: or docker://; not docker-archive).
Attestation manifests are dropped: they attest the input, not the normalized images.`;

  static override examples = [
    '<%= config.bin %> normalize docker-archive:build.tar',
    '<%= config.bin %> normalize docker-archive:build.tar --output oci:normalized:latest',
    '<%= config.bin %> normalize docker-archive:build.tar --output docker://registry.example.com/app:1.0',
    '<%= config.bin %> normalize oci:multi-arch:1.0 --output docker://registry.example.com/app:1.0   # a whole index',
    'SOURCE_DATE_EPOCH=1700000000 <%= config.bin %> normalize oci:layout --clamp --output oci-archive:out.tar --compression zstd',
  ];

  static override args = {
    image: Args.string({ description: 'image reference (see inspect)', required: true }),
  };

  static override flags = {
    ...normalizeFlags,
    output: Flags.string({
      char: 'o',
      description: 'write the normalized image: oci:DIR[:TAG], oci-archive:PATH[:TAG], docker-archive:PATH[:NAME:TAG], or push it to docker://REGISTRY/REPO:TAG',
      helpValue: 'DEST',
    }),
    compression: Flags.string({
      description: 'layer compression of the written image (deterministic: gzip -6 with a fixed header, zstd -3)',
      options: ['gzip', 'zstd', 'none'],
      default: 'gzip',
    }),
    overwrite: Flags.boolean({ description: 'replace an existing output archive or OCI layout', default: false }),
    ...progressFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Normalize);
    const progress = startProgress({ quiet: flags.quiet, json: this.jsonEnabled() });
    const result = await progress.during(normalizeAny({
      source: args.image,
      load: { ...this.loadOptionsFrom(flags), onProgress: progress.onProgress },
      normalize: normalizeOptionsFrom(flags),
      output: flags.output,
      compression: flags.compression as 'gzip' | 'zstd' | 'none',
      overwrite: flags.overwrite,
      base: baseRequestFrom(flags),
    }));
    if (this.jsonEnabled()) this.outJson(result);
    else this.out(isNormalizeIndexResult(result) ? renderNormalizeIndexText(result) : renderNormalizeText(result));
  }
}

/** `sha256:` and the first 12 hex digits, as docker prints IDs. */
const shortDigest = (digest: string) => digest.slice(0, 'sha256:'.length + 12);

const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;

/** Each layer rule once, in rule order: `mtime (1204 entries in 2 layers), entry-order (3 entries in layer 1)`. */
function layerRulesText(layers: NormalizeResult['layers']): string {
  const byRule = new Map<string, { entries: number; layers: number[] }>();
  for (const rule of layerRuleNames) byRule.set(rule, { entries: 0, layers: [] });
  for (const layer of layers) {
    for (const { rule, entries } of layer.applied) {
      const total = byRule.get(rule)!;
      total.entries += entries;
      total.layers.push(layer.index);
    }
  }
  const parts = [...byRule]
    .filter(([, total]) => total.layers.length > 0)
    .map(([rule, total]) => {
      const where = total.layers.length === 1 ? `layer ${total.layers[0]}` : `${total.layers.length} layers`;
      return `${rule} (${plural(total.entries, 'entry', 'entries')} in ${where})`;
    });
  return parts.length > 0 ? parts.join(', ') : 'none needed';
}

/** Which base was kept and how it was found; what the manifest's base annotation says about it. */
function baseLines(base: NonNullable<NormalizeResult['base']>): string[] {
  const kept = `${plural(base.layers, 'layer', 'layers')}, ${plural(base.history, 'history entry', 'history entries')} kept as is`;
  const lines = [`base              ${base.reference ?? `--base-layers ${base.layers}`} (${kept})`];
  if (base.manifestDigest) lines.push(`base manifest     ${base.manifestDigest}`);
  if (base.annotation) lines.push(`base annotation   ${base.annotation.name ?? '(no name)'}: ${base.annotation.verdict}`);
  return lines;
}

export function renderNormalizeText(result: NormalizeResult): string {
  const lines = [`canonical digest  ${result.canonicalDigest}`, `input image ID    ${result.imageId}`];
  if (result.manifestDigest) lines.push(`input manifest    ${result.manifestDigest}`);
  lines.push(`epoch             ${result.options.epoch} (${result.options.timestampMode})`);
  // Each layer's canonical diff_id, with the input's beside it so a reader sees which layers changed.
  for (const layer of result.layers) {
    const note = layer.foreign
      ? 'foreign, kept'
      : layer.kept
        ? 'base layer, kept as is'
      : layer.diffId === layer.canonicalDiffId
        ? 'input already canonical'
        : `input ${shortDigest(layer.diffId)}`;
    lines.push(`${`layer ${layer.index} diff_id`.padEnd(17)} ${layer.canonicalDiffId}  (${note})`);
  }
  if (result.base) lines.push(...baseLines(result.base));
  lines.push(
    `config rules      ${result.applied.length ? result.applied.map((rule) => `${rule.rule} (${rule.paths.length})`).join(', ') : 'none needed'}`,
    `layer rules       ${layerRulesText(result.layers)}`,
  );
  if (result.output) {
    lines.push(`written           ${result.output.reference} (${result.output.format}, ${result.output.compression})`);
    lines.push(`manifest digest   ${result.output.manifestDigest}`);
    lines.push(`config digest     ${result.output.configDigest}`);
  } else {
    lines.push('written           nothing (--output DEST writes the normalized image)');
  }
  return `${lines.join('\n')}\n`;
}

/** An index: its canonical index digest, then each platform's result as for one image, indented. */
export function renderNormalizeIndexText(result: NormalizeIndexResult): string {
  const lines = [`canonical index   ${result.canonicalDigest}`, `input index       ${result.index.digest}`, `platforms         ${result.platforms.length}`];
  if (result.dropped.length > 0) {
    lines.push(`dropped           ${result.dropped.length} attestation manifest${result.dropped.length === 1 ? '' : 's'} (they attest the input manifests)`);
  }
  if (result.output) {
    lines.push(`written           ${result.output.reference} (${result.output.format}, OCI image index)`);
    lines.push(`index digest      ${result.output.indexDigest}`);
  } else {
    lines.push('written           nothing (--output DEST writes the normalized index)');
  }
  for (const { platform, result: one } of result.platforms) {
    lines.push('', `${platform}`);
    const text = renderNormalizeText(one)
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('written ') && !(result.output === null && line.startsWith('written')));
    lines.push(...text.map((line) => `  ${line}`));
  }
  return `${lines.join('\n')}\n`;
}
