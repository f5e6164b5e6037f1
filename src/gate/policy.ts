/**
 * The CI gate: a policy file that accepts known differences, and the pass/fail decision.
 *
 * Policy file (`--policy FILE`, JSON or YAML):
 *
 *     version: 1
 *     accept:
 *       - paths: ['var/log/apt/**']      # globs on file paths, as in the causes catalogue (matchGlob):
 *         # anchored at the root (a leading / is optional) unless without any /, like '*.pyc';
 *         # *, **, ?, [abc], [a-z], [!x] and {a,b}; an unbalanced [ or { is a usage error
 *         reason: apt logs, removed in the next base image release
 *       - causes: [pyc-header]          # cause ids of the catalogue
 *         kinds: [file-attribute]       # difference kinds
 *         reason: bytecode is rebuilt at start-up
 *       - pointers: ['/config/Labels/build-url']   # JSON pointers of config or manifest differences
 *         reason: the CI job URL is informative only
 *
 * Within a rule every field given must match (a difference must be on one of the paths AND have one of
 * the causes...); within a field any entry may match. The first matching rule accepts the difference,
 * and accepted differences stay in the report, marked with the rule and its reason.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { causeCatalogue, checkGlob, differenceKinds, matchGlob } from '../compare/causes.js';
import { usageError, withContext } from '../errors.js';
import type { Difference, DifferenceKind, Verdict } from '../report/model.js';

export interface AcceptRule {
  /** Globs on the file path inside a layer (or the flattened filesystem). */
  paths?: string[];
  /** Globs on the JSON pointer of config and manifest differences. */
  pointers?: string[];
  /** Cause ids from the catalogue. */
  causes?: string[];
  kinds?: DifferenceKind[];
  /** Why these differences are acceptable; shown in every report. */
  reason: string;
}

export interface Policy {
  version: 1;
  accept: AcceptRule[];
  /** The file it was read from, for messages and the report's `options.policy`; null when built in code. */
  source: string | null;
}

const ruleFields = ['paths', 'pointers', 'causes', 'kinds', 'reason'] as const;
const criteriaFields = ['paths', 'pointers', 'causes', 'kinds'] as const;
const knownCauses = new Set(causeCatalogue.map((entry) => entry.id));
const knownKinds = new Set<string>(differenceKinds);

/** Reads and validates a policy file: exit 4 when it cannot be read, exit 2 when it is malformed. */
export async function loadPolicy(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw withContext(`reading policy ${path}`, error);
  }
  return parsePolicy(text, path);
}

/** Parses policy text; `.json` files as JSON, anything else as YAML (which also reads JSON). */
export function parsePolicy(text: string, source: string): Policy {
  let value: unknown;
  try {
    value = extname(source).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    throw usageError(`policy ${source}: not valid ${extname(source).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${message}`, {
      cause: error,
    });
  }
  return validatePolicy(value, source);
}

/** Checks a parsed policy, naming the file and the field of the first problem. */
export function validatePolicy(value: unknown, source: string): Policy {
  const fail = (field: string, problem: string, hint?: string) =>
    usageError(`policy ${source}: ${field}${field ? ': ' : ''}${problem}`, hint ? { hint } : undefined);

  if (!isObject(value)) throw fail('', 'expected a mapping with `version: 1` and an `accept` list');
  for (const key of Object.keys(value)) {
    if (key !== 'version' && key !== 'accept') throw fail(key, 'unknown field', 'a policy has `version` and `accept`');
  }
  if (value.version !== 1) throw fail('version', `must be 1, found ${JSON.stringify(value.version ?? null)}`);
  if (!Array.isArray(value.accept)) throw fail('accept', 'required: a list of rules (it may be empty)');

  const accept = value.accept.map((raw: unknown, index): AcceptRule => {
    const at = `accept[${index}]`;
    if (!isObject(raw)) throw fail(at, 'expected a mapping with `reason` and at least one of paths, pointers, causes, kinds');
    for (const key of Object.keys(raw)) {
      if (!(ruleFields as readonly string[]).includes(key)) {
        throw fail(`${at}.${key}`, 'unknown field', `rule fields are ${ruleFields.join(', ')}`);
      }
    }
    if (typeof raw.reason !== 'string' || raw.reason.trim() === '') {
      throw fail(`${at}.reason`, 'required: say why these differences are acceptable');
    }
    const rule: AcceptRule = { reason: raw.reason.trim() };
    for (const field of criteriaFields) {
      if (raw[field] === undefined) continue;
      const list = raw[field];
      if (!Array.isArray(list) || list.length === 0) throw fail(`${at}.${field}`, 'expected a non-empty list of strings');
      list.forEach((item: unknown, itemIndex) => {
        const itemAt = `${at}.${field}[${itemIndex}]`;
        if (typeof item !== 'string' || item === '') throw fail(itemAt, 'expected a non-empty string');
        if (field === 'causes' && !knownCauses.has(item)) {
          throw fail(itemAt, `unknown cause ${JSON.stringify(item)}`, `causes are ${[...knownCauses].join(', ')}`);
        }
        if (field === 'paths' || field === 'pointers') {
          const problem = checkGlob(item);
          if (problem) throw fail(itemAt, problem, 'globs take *, **, ?, [abc], [a-z], [!x] and {a,b}; [[] and [{] match a literal bracket');
        }
        if (field === 'kinds' && !knownKinds.has(item)) {
          throw fail(itemAt, `unknown kind ${JSON.stringify(item)}`, `kinds are ${differenceKinds.join(', ')}`);
        }
      });
      (rule as unknown as Record<string, string[]>)[field] = [...(list as string[])];
    }
    // A rule with only a reason would accept everything, which no one means to write.
    if (!criteriaFields.some((field) => rule[field] !== undefined)) {
      throw fail(at, 'give at least one of paths, pointers, causes, kinds');
    }
    return rule;
  });

  return { version: 1, accept, source };
}

/** Whether a rule accepts a difference: every criterion given must match. */
export function matchRule(rule: AcceptRule, difference: Difference): boolean {
  if (rule.kinds && !rule.kinds.includes(difference.kind)) return false;
  if (rule.causes && (difference.cause === null || !rule.causes.includes(difference.cause.id))) return false;
  if (rule.paths) {
    const file = difference.file;
    if (file === undefined || !rule.paths.some((glob) => matchGlob(glob, file))) return false;
  }
  if (rule.pointers) {
    if (difference.kind !== 'config-field' && difference.kind !== 'manifest-field') return false;
    if (!rule.pointers.some((pattern) => matchGlob(pattern, difference.path))) return false;
  }
  return true;
}

/**
 * Marks the differences a policy accepts with `accepted: { reason, rule: 'accept[N]' }`, first rule
 * wins. Returns new objects; neutralized differences are left alone (they need no acceptance), and so
 * are differences already accepted.
 */
export function applyPolicy(differences: readonly Difference[], policy: Policy): Difference[] {
  return differences.map((difference) => {
    if (difference.neutralized || difference.accepted) return { ...difference };
    const index = policy.accept.findIndex((rule) => matchRule(rule, difference));
    if (index < 0) return { ...difference };
    const rule = policy.accept[index] as AcceptRule;
    return { ...difference, accepted: { reason: rule.reason, rule: `accept[${index}]` } };
  });
}

export interface GateInput {
  verdict: Verdict;
  differences: readonly Difference[];
  /** Only identical images pass: neither normalization nor a policy is enough. */
  strict: boolean;
  /** Neutralized differences counted but not in `differences` (see `Report.omitted`); they never block. */
  unlistedNeutralized?: number;
}

export interface GateDecision {
  passed: boolean;
  /** One sentence for the report and the CI log. */
  reason: string;
}

/**
 * The gate, whose result the command turns into the exit code (passed: 0, else 1):
 * - identical passes;
 * - reproducible (equal after normalization) passes, unless strict;
 * - not reproducible fails, unless every remaining (not neutralized) difference is accepted by the
 *   policy: then it passes and the verdict stays "not-reproducible", so the report still says the
 *   images differ and the reason says that the policy accepted every difference. Strict ignores the
 *   policy. A not-reproducible verdict with no remaining difference to accept never passes: the
 *   canonical digests differ for a reason the report cannot show.
 */
export function decideGate({ verdict, differences, strict, unlistedNeutralized = 0 }: GateInput): GateDecision {
  const remaining = differences.filter((difference) => !difference.neutralized);
  const neutralized = differences.length - remaining.length + unlistedNeutralized;
  const accepted = remaining.filter((difference) => difference.accepted).length;
  const blocking = remaining.length - accepted;
  const unexplained = remaining.filter((difference) => !difference.accepted && difference.cause === null).length;

  if (verdict === 'identical') return { passed: true, reason: 'the images are identical' };
  if (verdict === 'reproducible') {
    if (strict) {
      return {
        passed: false,
        reason: `strict mode: the images are equal only after normalization (${plural(neutralized, 'neutralized difference')}); only identical images pass`,
      };
    }
    return { passed: true, reason: `the images are equal after normalization (${plural(neutralized, 'neutralized difference')})` };
  }
  if (remaining.length === 0) {
    return {
      passed: false,
      reason: 'the canonical digests differ but no remaining difference was found (a bug in oci-repro: please report it)',
    };
  }
  if (strict) {
    return {
      passed: false,
      reason: `strict mode: ${plural(remaining.length, 'difference')} ${remaining.length === 1 ? 'remains' : 'remain'} after normalization; only identical images pass`,
    };
  }
  if (blocking === 0) {
    return {
      passed: true,
      reason: `not reproducible, but all ${plural(remaining.length, 'remaining difference')} ${remaining.length === 1 ? 'is' : 'are'} accepted by policy`,
    };
  }
  const details = [
    accepted > 0 ? `${accepted} more accepted by policy` : '',
    unexplained > 0 ? `${unexplained} with no known cause` : '',
  ].filter(Boolean);
  return {
    passed: false,
    reason: `${plural(blocking, 'difference')} ${blocking === 1 ? 'remains' : 'remain'} after normalization${details.length ? ` (${details.join('; ')})` : ''}`,
  };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
