/**
 * Verify's content prefetch: the contents of the files that differ, taken during round two's read of a
 * layer pair (a tap beside the table pass), so the content pass (content.ts) need not read those layers
 * a third time. Which files differ is known only once both sides' digests are, so:
 * - round one's tables (no digests) name the candidates: regular files on both sides, not both empty;
 * - small candidates meet in a rendezvous of the pair's two reads, which run side by side and usually
 *   in the same order: equal bytes are let go as soon as the second side has them, differing ones are
 *   kept. Memory is the lag between the two reads plus the files that differ, within a budget;
 * - large candidates are spooled (one temp file per side, within a byte budget shared by all pairs),
 *   as the content pass would spool them, and hashed only if the report uses them.
 * Whatever the prefetch missed (over a budget, a hardlink, a read served from the pass cache) the
 * content pass reads from the layer as before, so the report is the same either way.
 */
import { comparePaths, type EntryCursor, type LayerEntry, type LayerSummary } from '../normalize/entry.js';
import type { TarTap } from '../normalize/layer-pass.js';
import { openEntries } from '../normalize/layer-table.js';
import { ContentSpool } from '../normalize/spool.js';
import { TarReader } from '../tar/reader.js';
import { LayerFileCollector, type PrefetchedFiles } from './content-stream.js';

type Side = 'a' | 'b';

/** Which files to take from each side's read: both sides' tables agree on the split. */
export interface PrefetchPlan {
  small: Set<string>;
  large: Set<string>;
  /** The largest small file's cap. */
  limit: number;
}

export interface PrefetchLimits {
  /** The size up to which a file is read whole, by path (content.ts: `contentCap`). */
  cap: (path: string) => number;
  /**
   * Small files held at once (pending and kept, both sides): `limit` bytes in `held`, one account
   * shared by every pair of a verify, so memory does not grow with the number of changed layers.
   */
  budget: HeldBudget;
  /** Large files' bytes spooled, both sides of every pair together (disk, not memory). */
  spooled: HeldBudget;
  /** Candidates per pair; beyond, no prefetch (a table of millions of files would cost its paths twice). */
  maxCandidates: number;
  /** Directory of the spools (default the OS temp dir). */
  tempDir?: string;
}

/**
 * The candidates of a layer pair from its two tables, merge-joined by path; undefined when there are
 * more than `maxCandidates` or a table is not in canonical order (rule 'entry-order' or
 * 'duplicate-paths' off): then the content pass reads as before.
 */
export function planPrefetch(a: LayerSummary, b: LayerSummary, limits: Pick<PrefetchLimits, 'cap' | 'maxCandidates'>): PrefetchPlan | undefined {
  const plan: PrefetchPlan = { small: new Set(), large: new Set(), limit: 0 };
  const cursorA = openEntries(a);
  const cursorB = openEntries(b);
  let unsorted = false;
  const next = (cursor: EntryCursor, previous: LayerEntry | undefined): LayerEntry | undefined => {
    const previousPath = previous?.path;
    const entry = cursor.next();
    if (entry !== undefined && previousPath !== undefined && comparePaths(previousPath, entry.path) >= 0) unsorted = true;
    return entry;
  };
  let x = next(cursorA, undefined);
  let y = next(cursorB, undefined);
  while (x !== undefined && y !== undefined && !unsorted) {
    const order = comparePaths(x.path, y.path);
    if (order === 0 && x.type === 'file' && y.type === 'file' && (x.size > 0 || y.size > 0)) {
      const cap = limits.cap(x.path);
      if (x.size <= cap && y.size <= cap) {
        plan.small.add(x.path);
        plan.limit = Math.max(plan.limit, cap);
      } else plan.large.add(x.path);
      if (plan.small.size + plan.large.size > limits.maxCandidates) return undefined;
    }
    if (order <= 0) x = next(cursorA, x);
    if (order >= 0) y = next(cursorB, y);
  }
  if (unsorted) return undefined;
  return plan;
}

/** Bytes of small files the prefetches hold, and how many they may. */
export interface HeldBudget {
  held: number;
  readonly limit: number;
}

/** The two sides' small files meet here: equal ones are dropped, differing ones kept. */
class Rendezvous {
  readonly kept: Record<Side, Map<string, Buffer>> = { a: new Map(), b: new Map() };
  private readonly pending = new Map<string, { side: Side; content: Buffer }>();

  constructor(private readonly account: HeldBudget) {}

  private get held(): number {
    return this.account.held;
  }

  private set held(bytes: number) {
    this.account.held = bytes;
  }

  private get budget(): number {
    return this.account.limit;
  }

  offer(side: Side, path: string, content: Buffer): void {
    const other: Side = side === 'a' ? 'b' : 'a';
    const mine = this.kept[side];
    const kept = mine.get(path);
    if (kept !== undefined) {
      // A later entry of the same path (the last one wins): it replaces this side's.
      this.held += content.length - kept.length;
      mine.set(path, content);
      return;
    }
    const waiting = this.pending.get(path);
    if (waiting !== undefined) {
      this.pending.delete(path);
      this.held -= waiting.content.length;
      if (waiting.side === other) {
        if (waiting.content.equals(content)) return;
        if (this.held + waiting.content.length + content.length > this.budget) return;
        this.kept[other].set(path, waiting.content);
        mine.set(path, content);
        this.held += waiting.content.length + content.length;
        return;
      }
    }
    if (this.held + content.length > this.budget) return;
    this.pending.set(path, { side, content });
    this.held += content.length;
  }

  /** Both reads are done: a file still waiting had no partner (its other side was not held). */
  finish(): void {
    for (const { content } of this.pending.values()) this.held -= content.length;
    this.pending.clear();
  }
}

/** One side's tap: a second tar reader over the bytes the table pass reads. */
class SideTap implements TarTap {
  complete = false;
  private broken = false;
  private readonly reader: TarReader;
  readonly collector: LayerFileCollector;

  constructor(
    side: Side,
    plan: PrefetchPlan,
    rendezvous: Rendezvous,
    readonly spool: ContentSpool | undefined,
    spooled: HeldBudget,
  ) {
    this.collector = new LayerFileCollector(plan.small, plan.large, plan.limit, spool, {
      sink: (path, content) => rendezvous.offer(side, path, content),
      reserve: (bytes) => {
        if (spooled.held + bytes > spooled.limit) return false;
        spooled.held += bytes;
        return true;
      },
      // Most large candidates are equal on both sides: only the few the report uses are hashed.
      hashLarge: false,
    });
    this.reader = new TarReader(this.collector);
  }

  // A tar the tap cannot read is the table pass's to report: the tap only gives up.
  push(chunk: Buffer): void {
    if (this.broken) return;
    try {
      this.reader.push(chunk);
    } catch {
      this.broken = true;
    }
  }

  get needsDrain(): boolean {
    return !this.broken && (this.spool?.needsDrain ?? false);
  }

  async drain(): Promise<void> {
    try {
      await this.spool?.drain();
    } catch {
      this.broken = true;
    }
  }

  end(): void {
    if (this.broken) return;
    try {
      this.reader.end();
      this.complete = true;
    } catch {
      this.broken = true;
    }
  }

  /** Waits for the spool's writes; a spool the disk refused is no prefetch. */
  async finish(): Promise<void> {
    try {
      await this.spool?.finishWriting();
    } catch {
      this.complete = false;
    }
  }
}

/** The prefetch of one layer pair: a tap per side for round two, then the files that differ. */
export class PairPrefetch {
  private readonly rendezvous: Rendezvous;
  private readonly taps: Record<Side, SideTap>;

  constructor(plan: PrefetchPlan, limits: PrefetchLimits) {
    this.rendezvous = new Rendezvous(limits.budget);
    // Straight to the temp file: the spool's 8 MiB in memory, per side and pair, would add up.
    const spool = () => (plan.large.size > 0 ? new ContentSpool(limits.tempDir, 0) : undefined);
    this.taps = {
      a: new SideTap('a', plan, this.rendezvous, spool(), limits.spooled),
      b: new SideTap('b', plan, this.rendezvous, spool(), limits.spooled),
    };
  }

  tap(side: Side): TarTap {
    return this.taps[side];
  }

  /** After both reads. */
  async finish(): Promise<void> {
    this.rendezvous.finish();
    await Promise.all([this.taps.a.finish(), this.taps.b.finish()]);
  }

  /** What side `side`'s read kept, if it read the whole layer. */
  files(side: Side): PrefetchedFiles | undefined {
    const tap = this.taps[side];
    if (!tap.complete) return undefined;
    return { small: this.rendezvous.kept[side], large: tap.collector.large, spool: tap.spool };
  }

  async close(): Promise<void> {
    await Promise.all([this.taps.a.spool?.close(), this.taps.b.spool?.close()]);
  }
}
