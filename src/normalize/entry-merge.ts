/**
 * A spilled entry table read back: the runs of entry-spill.ts merged k-way in canonical order
 * (`comparePaths`, then input position), with what layer-table.ts does in memory done on the stream:
 * - duplicate paths: of the records of one path (adjacent in the merge, in input order) the last
 *   wins with rule 'duplicate-paths', all stay without it;
 * - hardlinks whose target the pass could not look up (it was already spilled: root `pendingRoot`)
 *   are resolved here, as the pass would have: the latest record of the target's path before the link;
 *   then, with rule 'hardlinks', the first path of each group in canonical order carries the data.
 * `finish()` makes one merge pass (counts, duplicates, link targets) and, for tables with link groups,
 * one scan for the groups' root records (kept in memory: one per group); every `open()` is one more
 * merge pass. Memory: one 64 KiB window per run and the link bookkeeping, whatever the entry count.
 */
import { badInput } from '../errors.js';
import { comparePaths, type EntryCursor, type LayerEntry, type LayerRules, type SpilledEntries } from './entry.js';
import { RunFile, RunReader, type SpilledRecord } from './entry-spill.js';
import { shareInodeMetadata } from './entry-record.js';

/** `SpilledRecord.root` of a link whose target the pass left to the merge. */
export const pendingRoot = -2;

/** A link the pass left unresolved. */
export interface PendingLink {
  inputIndex: number;
  /** `pathKey` of its target in canonical spelling ('' never: the root cannot be a link target). */
  target: string;
  /** For the error if the target is a directory. */
  name: string;
  linkname: string;
  offset: number;
}

/** The k-way merge of a file's runs: a binary heap of run readers on (path, input position). */
class RunMerge {
  private readonly heap: RunReader[] = [];

  constructor(file: RunFile) {
    for (let i = 0; i < file.runs.length; i++) {
      const reader = file.openRun(i);
      if (reader.current !== undefined) this.heap.push(reader);
    }
    for (let i = (this.heap.length >>> 1) - 1; i >= 0; i--) this.down(i);
  }

  next(): SpilledRecord | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0];
    const record = top.current!;
    top.advance();
    if (top.current === undefined) {
      const last = heap.pop()!;
      if (heap.length > 0) heap[0] = last;
    }
    if (heap.length > 0) this.down(0);
    return record;
  }

  private less(a: RunReader, b: RunReader): boolean {
    const x = a.current!.entry;
    const y = b.current!.entry;
    const order = comparePaths(x.path, y.path);
    return order < 0 || (order === 0 && x.inputIndex < y.inputIndex);
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) return;
      const right = left + 1;
      const child = right < heap.length && this.less(heap[right], heap[left]) ? right : left;
      if (!this.less(heap[child], heap[i])) return;
      [heap[i], heap[child]] = [heap[child], heap[i]];
      i = child;
    }
  }
}

/** The merge with duplicate paths resolved: each record comes with whether it survives. */
class SurvivorMerge {
  private held: SpilledRecord | undefined;

  constructor(
    private readonly merge: RunMerge,
    private readonly lastWins: boolean,
  ) {
    this.held = merge.next();
  }

  /** The next surviving record; `visit` also sees the ones dropped. */
  next(visit?: (record: SpilledRecord, survives: boolean) => void): SpilledRecord | undefined {
    let record = this.held;
    if (record === undefined) return undefined;
    let following = this.merge.next();
    while (this.lastWins && following !== undefined && comparePaths(record.entry.path, following.entry.path) === 0) {
      visit?.(record, false);
      record = following;
      following = this.merge.next();
    }
    this.held = following;
    visit?.(record, true);
    return record;
  }
}

interface TargetCandidate {
  inputIndex: number;
  type: LayerEntry['type'];
  root: number;
}

export class SpilledTable implements SpilledEntries {
  count = 0;
  /** Canonical paths that occurred more than once, in canonical order (the surviving spelling). */
  readonly duplicatePaths: string[] = [];
  /** Per pending link (by input index): the record carrying its data, -1 if its target is not there. */
  private readonly pendingRoots = new Map<number, number>();
  /** Roots of groups with at least one surviving link. */
  private readonly grouped = new Set<number>();
  /** The records the link groups need, by input index. */
  private readonly roots = new Map<number, SpilledRecord>();

  constructor(
    private readonly file: RunFile,
    private readonly rules: LayerRules,
    private readonly pending: PendingLink[],
  ) {}

  get runs(): number {
    return this.file.runs.length;
  }

  /** The pass over the runs that settles counts, duplicates and link groups; call once, before `open`. */
  finish(): void {
    const pending = this.pending.slice().sort((x, y) => comparePaths(x.target, y.target) || x.inputIndex - y.inputIndex);
    const targets = new Map<number, TargetCandidate | undefined>();
    let p = 0;
    let group: TargetCandidate[] = [];
    let groupPath: string | null = null;
    let groupSize = 0;
    const survivingLinks: { inputIndex: number; root: number }[] = [];
    /** Matches the pending links whose target is the path of the group just completed. */
    const settleGroup = () => {
      if (groupPath === null) return;
      // Named by its latest spelling (`a` or `a/`), as the in-memory table does, with or without the rule.
      if (groupSize > 1) this.duplicatePaths.push(groupPath);
      while (p < pending.length && comparePaths(pending[p].target, groupPath) < 0) p++;
      while (p < pending.length && comparePaths(pending[p].target, groupPath) === 0) {
        const link = pending[p++];
        let found: TargetCandidate | undefined;
        for (const candidate of group) if (candidate.inputIndex < link.inputIndex) found = candidate;
        targets.set(link.inputIndex, found);
      }
    };
    const merge = new SurvivorMerge(new RunMerge(this.file), this.rules.duplicatePaths);
    const visit = (record: SpilledRecord, survives: boolean) => {
      const { entry } = record;
      if (groupPath === null || comparePaths(groupPath, entry.path) !== 0) {
        settleGroup();
        group = [];
        groupSize = 0;
      }
      groupPath = entry.path;
      groupSize++;
      if (pending.length > 0) group.push({ inputIndex: entry.inputIndex, type: entry.type, root: record.root });
      if (survives && entry.type === 'hardlink') survivingLinks.push({ inputIndex: entry.inputIndex, root: record.root });
    };
    for (let record = merge.next(visit); record !== undefined; record = merge.next(visit)) this.count++;
    settleGroup();

    // Roots in input order: a link's target may itself be a link the merge resolves.
    for (const link of this.pending.slice().sort((x, y) => x.inputIndex - y.inputIndex)) {
      const target = targets.get(link.inputIndex);
      let root = -1;
      if (target !== undefined) {
        if (target.type !== 'hardlink') root = target.inputIndex;
        else root = target.root === pendingRoot ? (this.pendingRoots.get(target.inputIndex) ?? -1) : target.root;
        if (target.type === 'directory') {
          throw badInput(`hard link ${JSON.stringify(link.name)} at offset ${link.offset}: target ${JSON.stringify(link.linkname)} is a directory`, {
            hint: 'a hard link cannot name a directory; the layer may be corrupt',
            data: { offset: link.offset, path: link.name },
          });
        }
      }
      this.pendingRoots.set(link.inputIndex, root);
    }
    const needed = new Set<number>();
    for (const root of this.pendingRoots.values()) if (root >= 0) needed.add(root);
    for (const link of survivingLinks) {
      const root = link.root === pendingRoot ? this.pendingRoots.get(link.inputIndex)! : link.root;
      if (root >= 0 && this.rules.hardlinks) {
        this.grouped.add(root);
        needed.add(root);
      }
    }
    if (needed.size > 0) this.collectRoots(needed);
  }

  /** The finished table in canonical order (one merge pass). */
  open(): SpilledCursor {
    return new SpilledCursor(new SurvivorMerge(new RunMerge(this.file), this.rules.duplicatePaths), this);
  }

  close(): void {
    this.file.close();
  }

  /** Joins a link the pass left pending to its root, as layer-scan.ts joinGroup does. */
  joinPending(record: SpilledRecord): void {
    const root = this.pendingRoots.get(record.entry.inputIndex) ?? -1;
    record.root = root;
    if (root < 0) return;
    const link = record.entry;
    const data = this.roots.get(root)!.entry;
    if (data.contentDigest !== undefined) link.contentDigest = data.contentDigest;
    else delete link.contentDigest;
    if (this.rules.hardlinks) shareInodeMetadata(link, data);
  }

  isGrouped(root: number): boolean {
    return this.grouped.has(root);
  }

  rootRecord(root: number): SpilledRecord {
    return this.roots.get(root)!;
  }

  /** One sequential read of every run for the records in `needed`. */
  private collectRoots(needed: Set<number>): void {
    for (let i = 0; i < this.file.runs.length; i++) {
      for (const reader = this.file.openRun(i); reader.current !== undefined; reader.advance()) {
        const record = reader.current;
        if (needed.has(record.entry.inputIndex)) this.roots.set(record.entry.inputIndex, record);
      }
    }
  }
}

/** One pass over a spilled table: entries as layer-table.ts `finalizeTable` would give them. */
export class SpilledCursor implements EntryCursor {
  /** Spool offset of the content the last entry carries, -1 if none. */
  contentOffset = -1;
  private readonly leaders = new Map<number, string>();

  constructor(
    private readonly merge: SurvivorMerge,
    private readonly table: SpilledTable,
  ) {}

  next(): LayerEntry | undefined {
    const record = this.merge.next();
    if (record === undefined) return undefined;
    let entry = record.entry;
    if (record.root === pendingRoot) this.table.joinPending(record);
    this.contentOffset = entry.type === 'file' && entry.size > 0 ? record.spoolOffset : -1;
    const isLink = entry.type === 'hardlink';
    const root = isLink ? record.root : entry.inputIndex;
    if (root < 0 || !this.table.isGrouped(root)) return entry;
    const leader = this.leaders.get(root);
    if (leader === undefined) {
      this.leaders.set(root, entry.path);
      if (isLink) {
        // The first path of the group carries the data, whichever path carried it in the input.
        const data = this.table.rootRecord(root);
        const digest = entry.contentDigest;
        entry = { ...data.entry, path: entry.path, inputIndex: entry.inputIndex };
        if (digest !== undefined) entry.contentDigest = digest;
        else delete entry.contentDigest;
        this.contentOffset = data.entry.type === 'file' && data.entry.size > 0 ? data.spoolOffset : -1;
      }
    } else if (isLink) {
      if (entry.linkname !== leader) entry.linkname = leader;
    } else {
      entry.type = 'hardlink';
      entry.size = 0;
      entry.linkname = leader;
      delete entry.devmajor;
      delete entry.devminor;
      this.contentOffset = -1;
    }
    return entry;
  }
}

/** Reads a whole spilled table into memory: for the few callers that need an array (flattening). */
export function readAllEntries(table: SpilledEntries): LayerEntry[] {
  const entries: LayerEntry[] = [];
  const cursor = table.open();
  for (let entry = cursor.next(); entry !== undefined; entry = cursor.next()) entries.push(entry);
  return entries;
}

