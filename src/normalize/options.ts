import { usageError } from '../errors.js';

/** How layer mtimes meet the epoch: `set` rewrites every mtime, `clamp` only those later than it. */
export type TimestampMode = 'set' | 'clamp';

/** Names of the normalization rules; each can be turned off, and the report lists those applied. */
export const configRuleNames = [
  'config-created',
  'history-created',
  'container-config',
  'host-fields',
  'created-label',
  'empty-values',
  'diff-ids',
] as const;
export const layerRuleNames = [
  'entry-order',
  'path-spelling',
  'mtime',
  'extra-times',
  'owner-names',
  'tar-dialect',
  'hardlinks',
  'duplicate-paths',
] as const;
export type ConfigRuleName = (typeof configRuleNames)[number];
export type LayerRuleName = (typeof layerRuleNames)[number];
export type RuleName = ConfigRuleName | LayerRuleName;

export interface NormalizeOptions {
  /** Seconds since 1970-01-01T00:00:00Z. */
  epoch: number;
  timestampMode: TimestampMode;
  /** Rules turned off by the user. */
  disabledRules: ReadonlySet<RuleName>;
}

export const defaultNormalizeOptions: NormalizeOptions = {
  epoch: 0,
  timestampMode: 'set',
  disabledRules: new Set(),
};

export function isRuleEnabled(options: NormalizeOptions, rule: RuleName): boolean {
  return !options.disabledRules.has(rule);
}

/** `--epoch` accepts whole seconds or an RFC 3339 date; without it SOURCE_DATE_EPOCH, else 0. */
export function resolveEpoch(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): number {
  if (flag !== undefined) return parseEpoch(flag, '--epoch');
  const fromEnv = env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined && fromEnv !== '') return parseEpoch(fromEnv, 'SOURCE_DATE_EPOCH');
  return 0;
}

export function parseEpoch(text: string, what: string): number {
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    if (Number.isSafeInteger(seconds)) return seconds;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(text)) {
    const millis = Date.parse(text);
    if (!Number.isNaN(millis) && millis >= 0) return Math.floor(millis / 1000);
  }
  throw usageError(`${what}: ${JSON.stringify(text)} is neither whole seconds since 1970 nor an RFC 3339 date`, {
    hint: 'for example 0, 1700000000 or 2024-01-01T00:00:00Z',
  });
}

export function parseRuleNames(names: readonly string[]): Set<RuleName> {
  const known = new Set<string>([...configRuleNames, ...layerRuleNames]);
  const rules = new Set<RuleName>();
  for (const name of names) {
    if (!known.has(name)) {
      throw usageError(`unknown rule ${JSON.stringify(name)}`, { hint: `rules are ${[...known].join(', ')}` });
    }
    rules.add(name as RuleName);
  }
  return rules;
}

/** RFC 3339 form of the epoch, as config `created` fields carry it. */
export function epochToRfc3339(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');
}
