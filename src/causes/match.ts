/**
 * The one matcher: whether a selector holds for a difference, and which cause entry names it. The
 * first entry with a matching selector wins; a difference no entry matches keeps `cause: null`:
 * unknown differences are shown as unknown, never hidden.
 */
import type { Difference } from '../diff/model.js';
import { type CauseEntry, causeCatalogue } from './catalogue.js';
import { matchGlob } from './glob.js';
import { type MatchContext, predicates } from './predicates.js';
import { formatMode } from '../diff/mode.js';
import type { Selector } from './selectors.js';

/** Whether every field of the selector holds for the difference. */
export function matchSelector(selector: Selector, difference: Difference, context: MatchContext = {}): boolean {
  if (selector.kinds && !selector.kinds.includes(difference.kind)) return false;
  if (selector.attributes && (difference.attribute === undefined || !selector.attributes.includes(difference.attribute))) return false;
  if (selector.keys && (difference.key === undefined || !selector.keys.includes(difference.key))) return false;
  if (selector.causes && (difference.cause === null || !selector.causes.includes(difference.cause.id))) return false;
  if (selector.paths) {
    const file = difference.file;
    if (file === undefined || !selector.paths.some((glob) => matchGlob(glob, file))) return false;
  }
  if (selector.pointers) {
    if (difference.kind !== 'config-field' && difference.kind !== 'manifest-field') return false;
    if (!selector.pointers.some((glob) => matchGlob(glob, difference.path))) return false;
  }
  if (selector.values !== undefined) {
    const pattern = compiledPattern(selector.values);
    const [a, b] = [valueText(difference, 'a'), valueText(difference, 'b')];
    if (a === null || b === null || !pattern.test(a) || !pattern.test(b)) return false;
  }
  if (selector.modeBits !== undefined) {
    // Only modes: other numbers (a uid, a size) are not bit fields.
    if (difference.kind !== 'file-attribute' || difference.attribute !== 'mode') return false;
    const { a, b } = difference;
    if (a === b || ((a ^ b) & ~selector.modeBits) !== 0) return false;
  }
  if (selector.predicate !== undefined) {
    const predicate = predicates[selector.predicate];
    if (!predicate?.(difference, context)) return false;
  }
  return true;
}

/** A value as `values` patterns see it: strings as they are, modes in octal as the JSON report spells them. */
function valueText(difference: Difference, side: 'a' | 'b'): string | null {
  if (difference.kind === 'file-attribute' && difference.attribute === 'mode') return formatMode(difference[side]);
  const value = difference[side];
  return typeof value === 'string' ? value : null;
}

const patternCache = new Map<string, RegExp>();
function compiledPattern(source: string): RegExp {
  let pattern = patternCache.get(source);
  if (!pattern) {
    pattern = new RegExp(source);
    patternCache.set(source, pattern);
  }
  return pattern;
}

/** The first catalogue entry matching the difference, or null. */
export function matchCause(difference: Difference, catalogue: readonly CauseEntry[] = causeCatalogue, context: MatchContext = {}): CauseEntry | null {
  for (const entry of catalogue) {
    if (entry.selectors.some((selector) => matchSelector(selector, difference, context))) return entry;
  }
  return null;
}

/**
 * Fills `cause` and `hint` of each difference from the first matching catalogue entry. Returns new
 * objects; a difference that already has a cause keeps it, and one that matches nothing keeps null.
 */
export function explainDifferences(differences: readonly Difference[], catalogue: readonly CauseEntry[] = causeCatalogue): Difference[] {
  return differences.map((difference) => explainDifference({ ...difference }, catalogue));
}

/**
 * `explainDifferences` for one difference the caller owns: fills its `cause` and `hint` in place (no
 * copy, for the comparer's fresh objects, of which there may be 100,000) and returns it.
 */
export function explainDifference(
  difference: Difference,
  catalogue: readonly CauseEntry[] = causeCatalogue,
  context: MatchContext = {},
): Difference {
  if (difference.cause !== null) return difference;
  const entry = matchCause(difference, catalogue, context);
  if (!entry) return difference;
  difference.cause = { id: entry.id, title: entry.title };
  difference.hint = entry.fix;
  return difference;
}
