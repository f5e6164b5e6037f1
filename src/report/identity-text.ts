import { elideEnd } from './elide.js';
import type { ImageIdentity } from './identity.js';

const shortDigest = (digest: string) => digest;

/** The identity chain as a terminal reads it: one line a link, one block a layer. */
export function renderIdentityText(identity: ImageIdentity): string {
  const lines = [
    `image      ${identity.reference} (${identity.transport})`,
    `manifest   ${identity.manifestDigest ?? '(none: legacy docker-archive stores no manifest)'}`,
  ];
  if (identity.indexDigest) lines.push(`index      ${identity.indexDigest}`);
  lines.push(`image ID   ${identity.imageId}`);
  lines.push(`platform   ${identity.platform ?? 'unknown'}`);
  if (identity.created) lines.push(`created    ${identity.created}`);
  lines.push(`layers     ${identity.layers.length}`);
  for (const layer of identity.layers) {
    lines.push('');
    lines.push(`  layer ${layer.index}${layer.step ? `  ${elideEnd(layer.step, 100)}` : ''}`);
    lines.push(`    media type  ${layer.mediaType}${layer.foreign ? ' (foreign, blob not included)' : ''}`);
    lines.push(`    digest      ${shortDigest(layer.digest)}  ${layer.size} bytes`);
    lines.push(`    diff_id     ${shortDigest(layer.diffId)}`);
  }
  return `${lines.join('\n')}\n`;
}
