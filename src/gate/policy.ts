/**
 * The CI gate: a policy file that adds causes and accepts known differences, and the pass/fail decision.
 *
 * Policy file (`--policy FILE`, JSON or YAML):
 *
 *     version: 1
 *     causes:                            # optional: causes of your own, tried before the built-in ones
 *       - id: app-build-info
 *         title: the build info file records the CI job
 *         fix: write it from the commit, not the job
 *         selectors: [{ paths: ['opt/app/BUILD_INFO'] }]
 *     accept:
 *       - paths: ['var/log/apt/**']      # any selector field (src/causes/selectors.ts), all must match
 *         reason: apt logs, removed in the next base image release
 *       - causes: [pyc-header, app-build-info]   # cause ids: built-in or this file's own
 *         kinds: [file-attribute]
 *         reason: bytecode is rebuilt at start-up
 *
 * Within a rule every field given must match; within a field any entry may match. The first matching
 * rule accepts the difference, and accepted differences stay in the report, marked with the rule and
 * its reason.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { type CauseEntry, causeCatalogue, parseCauseEntries } from '../causes/catalogue.js';
import { matchSelector } from '../causes/match.js';
import { isObject, parseSelector, type Selector, SelectorError } from '../causes/selectors.js';
import { usageError, withContext } from '../errors.js';
import type { Verdict } from '../report/model.js';
import { plural } from '../report/wording.js';
import type { Difference } from '../diff/model.js';

export interface AcceptRule extends Selector {
  /** Why these differences are acceptable; shown in every report. */
  reason: string;
}

export interface Policy {
  version: 1;
  /** Causes of the policy's own, tried before the built-in catalogue. */
  causes?: CauseEntry[];
  accept: AcceptRule[];
  /** The file it was read from, for messages and the report's `options.policy`; null when built in code. */
  source: string | null;
}

const policyFields = ['version', 'causes', 'accept'];
const builtInIds = new Set(causeCatalogue.map((entry) => entry.id));

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

/** Checks a parsed policy, naming the file and the field of the first problem (exit 2). */
export function validatePolicy(value: unknown, source: string): Policy {
  try {
    return checkPolicy(value, source);
  } catch (error) {
    if (!(error instanceof SelectorError)) throw error;
    throw usageError(`policy ${source}: ${error.message}`, error.hint ? { hint: error.hint } : undefined);
  }
}

function checkPolicy(value: unknown, source: string): Policy {
  if (!isObject(value)) throw new SelectorError('', 'expected a mapping with `version: 1` and an `accept` list');
  for (const key of Object.keys(value)) {
    if (!policyFields.includes(key)) throw new SelectorError(key, 'unknown field', 'a policy has `version`, `causes` and `accept`');
  }
  if (value.version !== 1) throw new SelectorError('version', `must be 1, found ${JSON.stringify(value.version ?? null)}`);
  const causes = value.causes === undefined ? [] : parseCauseEntries(value.causes, 'causes', builtInIds);
  if (!Array.isArray(value.accept)) throw new SelectorError('accept', 'required: a list of rules (it may be empty)');
  const knownCauses = new Set([...builtInIds, ...causes.map((entry) => entry.id)]);

  const accept = value.accept.map((raw: unknown, index): AcceptRule => {
    const at = `accept[${index}]`;
    if (!isObject(raw)) throw new SelectorError(at, 'expected a mapping with `reason` and at least one selector field (paths, pointers, causes, kinds, ...)');
    const selector = parseSelector(raw, at, { knownCauses, otherFields: ['reason'] });
    if (typeof raw.reason !== 'string' || raw.reason.trim() === '') {
      throw new SelectorError(`${at}.reason`, 'required: say why these differences are acceptable');
    }
    return { ...selector, reason: raw.reason.trim() };
  });

  return { version: 1, ...(causes.length > 0 ? { causes } : {}), accept, source };
}

/** The catalogue a verify under this policy explains differences with: its own causes first. */
export function policyCatalogue(policy: Policy | undefined): readonly CauseEntry[] {
  return policy?.causes?.length ? [...policy.causes, ...causeCatalogue] : causeCatalogue;
}

/** Whether a rule accepts a difference: every criterion given must match. */
export function matchRule(rule: AcceptRule, difference: Difference): boolean {
  return matchSelector(rule, difference);
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

