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

interface Candidate {
  entry: CauseEntry;
  /** The entry's selectors that a difference of this kind and attribute can satisfy. */
  selectors: Selector[];
}

/**
 * `matchCause` for many differences over one catalogue (the comparer's 100,000 mtimes): each tries only
 * the entries with a selector its kind and attribute can satisfy, in catalogue order, so the first
 * match is the one `matchCause` finds. The candidates are worked out once per kind and attribute; the
 * catalogue must not change while the matcher is in use.
 */
export class CauseMatcher {
  private readonly byKind = new Map<string, Map<string | undefined, Candidate[]>>();

  constructor(readonly catalogue: readonly CauseEntry[] = causeCatalogue) {}

  match(difference: Difference, context: MatchContext = {}): CauseEntry | null {
    const { kind, attribute } = difference;
    let byAttribute = this.byKind.get(kind);
    if (byAttribute === undefined) {
      byAttribute = new Map();
      this.byKind.set(kind, byAttribute);
    }
    let candidates = byAttribute.get(attribute);
    if (candidates === undefined) {
      candidates = candidatesFor(this.catalogue, kind, attribute);
      byAttribute.set(attribute, candidates);
    }
    for (const { entry, selectors } of candidates) {
      for (const selector of selectors) if (matchSelector(selector, difference, context)) return entry;
    }
    return null;
  }
}

/** The first two checks of `matchSelector`, which depend on nothing but the kind and attribute. */
function candidatesFor(catalogue: readonly CauseEntry[], kind: Difference['kind'], attribute: Difference['attribute']): Candidate[] {
  const candidates: Candidate[] = [];
  for (const entry of catalogue) {
    const selectors = entry.selectors.filter(
      (selector) =>
        (!selector.kinds || selector.kinds.includes(kind)) &&
        (!selector.attributes || (attribute !== undefined && selector.attributes.includes(attribute))),
    );
    if (selectors.length > 0) candidates.push({ entry, selectors });
  }
  return candidates;
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
  catalogue: readonly CauseEntry[] | CauseMatcher = causeCatalogue,
  context: MatchContext = {},
): Difference {
  if (difference.cause !== null) return difference;
  const entry = catalogue instanceof CauseMatcher ? catalogue.match(difference, context) : matchCause(difference, catalogue, context);
  if (!entry) return difference;
  difference.cause = { id: entry.id, title: entry.title };
  difference.hint = entry.fix;
  return difference;
}

/**
 * Explains, in place, the content differences still without a cause once their decoded details are
 * attached (compare/content.ts runs after the comparer has explained what it pushed): entries whose
 * predicate reads the detail, such as a Go build id, match them here.
 */
export function explainByDetail(differences: readonly Difference[], catalogue: readonly CauseEntry[] = causeCatalogue): void {
  let matcher: CauseMatcher | undefined;
  for (const difference of differences) {
    if (difference.cause !== null || difference.detail?.format !== 'decoded') continue;
    matcher ??= new CauseMatcher(catalogue);
    explainDifference(difference, matcher);
  }
}
