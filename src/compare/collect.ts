/**
 * Where the comparer puts differences. Two layers that differ only in mtimes give one neutralized
 * difference per file, 100,000 for a large layer: listing them all made a report of over 100 MB and
 * held its objects in memory. `DifferenceCollector` explains each difference as it arrives and keeps at
 * most `limit` neutralized ones per scope (config, layer, flattened filesystem) and cause, counting the
 * rest, so the full list is never built. Remaining (not neutralized) differences are always kept.
 */
import { unknownCauseId, type Difference, type OmittedDifferences } from '../diff/model.js';
import { differenceScope } from '../diff/count.js';
import { causeCatalogue, type CauseEntry } from '../causes/catalogue.js';
import { CauseMatcher, explainDifference } from '../causes/match.js';

/** What the comparer pushes differences onto; an array is one. */
export interface DifferenceSink {
  push(difference: Difference): unknown;
}

/** Neutralized differences listed per scope and cause unless the user asks for all of them. */
export const defaultNeutralizedLimit = 20;

interface ScopeCause extends OmittedDifferences {
  listed: number;
}

export class DifferenceCollector implements DifferenceSink {
  /** The kept differences, explained (cause and hint set), in the order they were pushed. */
  readonly differences: Difference[] = [];
  /** By layer (-1: not about one layer), then scope and cause: keys a push can compute without allocating. */
  private readonly groups = new Map<number, Map<string, ScopeCause>>();
  private readonly order: ScopeCause[] = [];
  private readonly matcher: CauseMatcher;

  /**
   * `limit`: neutralized differences kept per scope and cause (`Infinity` keeps all). `catalogue`:
   * explains the differences as `explainDifferences` does.
   */
  constructor(
    private readonly limit: number = defaultNeutralizedLimit,
    catalogue: readonly CauseEntry[] = causeCatalogue,
  ) {
    if (!(limit >= 0)) throw new RangeError(`neutralized differences limit must be 0 or more, not ${limit}`);
    this.matcher = new CauseMatcher(catalogue);
  }

  push(difference: Difference): void {
    explainDifference(difference, this.matcher);
    if (difference.neutralized && this.limit !== Infinity) {
      const group = this.groupOf(difference);
      if (group.listed >= this.limit) {
        group.count++;
        return;
      }
      group.listed++;
    }
    this.differences.push(difference);
  }

  /** Neutralized differences counted but not kept, per scope and cause, in the order first seen. */
  omitted(): OmittedDifferences[] {
    return this.order.filter((group) => group.count > 0).map(({ scope, cause, count }) => ({ scope, cause, count }));
  }

  private groupOf(difference: Difference): ScopeCause {
    const layerKey = difference.layer !== undefined && !difference.origin ? difference.layer : -1;
    let byCause = this.groups.get(layerKey);
    if (byCause === undefined) {
      byCause = new Map();
      this.groups.set(layerKey, byCause);
    }
    const cause = difference.cause?.id ?? unknownCauseId;
    // Within layer key -1, the flattened filesystem and the config are two scopes.
    const key = layerKey === -1 && difference.file !== undefined ? `fs\u0000${cause}` : cause;
    let group = byCause.get(key);
    if (group === undefined) {
      group = { scope: differenceScope(difference), cause, count: 0, listed: 0 };
      byCause.set(key, group);
      this.order.push(group);
    }
    return group;
  }
}
