import { Flags } from '@oclif/core';
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
};

export function normalizeOptionsFrom(flags: { epoch?: string; clamp: boolean; disable?: string[] }): NormalizeOptions {
  return {
    epoch: resolveEpoch(flags.epoch),
    timestampMode: flags.clamp ? 'clamp' : 'set',
    disabledRules: parseRuleNames(flags.disable ?? []),
  };
}
