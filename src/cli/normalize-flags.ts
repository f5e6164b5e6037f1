import { Flags } from '@oclif/core';
import { usageError } from '../errors.js';
import type { BaseRequest } from '../normalize/base.js';
import { configRuleNames, layerRuleNames, parseRuleNames, resolveEpoch, type NormalizeOptions } from '../normalize/options.js';

/** The flags that choose normalization, shared by normalize and verify so both mean the same. */
export const normalizeFlags = {
  epoch: Flags.string({
    description: 'timestamp that dates and mtimes are set to: seconds since 1970 or RFC 3339 [default: SOURCE_DATE_EPOCH, else 0]',
    helpValue: 'SECONDS|DATE',
  }),
  clamp: Flags.boolean({
    description: 'only rewrite mtimes later than the epoch (as BuildKit rewrite-timestamp does), instead of setting all',
    default: false,
  }),
  disable: Flags.string({
    description: `turn a normalization rule off (repeatable): ${[...configRuleNames, ...layerRuleNames].join(', ')}`,
    multiple: true,
    helpValue: 'RULE',
  }),
  base: Flags.string({
    description:
      "keep the base image's layers byte for byte (blob, diff_id, media type) and its history entries as they are; " +
      'the image must be built on it (its bottom layers have the base\'s diff_ids). REF is any image reference; ' +
      '`auto` reads the org.opencontainers.image.base.name annotation and checks the base it names',
    helpValue: 'REF|auto',
    exclusive: ['base-layers'],
  }),
  'base-layers': Flags.integer({
    description: 'keep the bottom N layers byte for byte, as --base does, without reading the base image',
    helpValue: 'N',
    min: 0,
    exclusive: ['base'],
  }),
};

export function normalizeOptionsFrom(flags: { epoch?: string; clamp: boolean; disable?: string[] }): NormalizeOptions {
  return {
    epoch: resolveEpoch(flags.epoch),
    timestampMode: flags.clamp ? 'clamp' : 'set',
    disabledRules: parseRuleNames(flags.disable ?? []),
  };
}

/** `--base REF|auto` or `--base-layers N`, or undefined when neither is given. */
export function baseRequestFrom(flags: { base?: string; 'base-layers'?: number }): BaseRequest | undefined {
  if (flags.base !== undefined && flags['base-layers'] !== undefined) throw usageError('give --base or --base-layers, not both');
  if (flags['base-layers'] !== undefined) return { kind: 'layers', count: flags['base-layers'] };
  if (flags.base === undefined) return undefined;
  if (flags.base === '') throw usageError('--base: empty image reference');
  return flags.base === 'auto' ? { kind: 'auto' } : { kind: 'reference', reference: flags.base };
}
