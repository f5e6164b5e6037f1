/**
 * The latest record per path key (`pathKey`) of a layer that left canonical order: an open-addressing
 * hash table of record indexes and key hashes in two Int32Arrays, the keys read from the records
 * themselves. A `Map<string, number>` cost ~38 bytes per entry here (bench/table-memory.js); this
 * costs 16 to 32.
 */
import { rootPath } from './entry.js';

const slash = 0x2f;

/** FNV-1a over the UTF-16 code units of `path` without a directory's trailing `/` (its key). */
function hashKey(path: string, length: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < length; i++) hash = Math.imul(hash ^ path.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** Length of the key of `path` (see `pathKey`), without allocating it. */
function keyLength(path: string): number {
  if (path === rootPath) return 0;
  return path.length > 1 && path.charCodeAt(path.length - 1) === slash ? path.length - 1 : path.length;
}

/** True when `other`'s key is the first `length` units of `path` (a key, or a path whose key that is). */
function sameKey(other: string, path: string, length: number): boolean {
  if (keyLength(other) !== length) return false;
  if (length === 0) return true; // both the root
  if (other.length === path.length) return other === path;
  // One of them ends in the directory `/` the other lacks: the longer starts with the shorter.
  return other.length > path.length ? other.startsWith(path) : path.startsWith(other);
}

export class PathIndex {
  /** Record index + 1 per slot; 0 is empty. */
  private slots = new Int32Array(1 << 10);
  /**
   * The key hash per slot: probes and growth compare hashes, and read a record's path only on a
   * match (reading it per probe, a cache miss or two, was most of the index's cost).
   */
  private hashes = new Int32Array(1 << 10);
  private count = 0;

  constructor(private readonly paths: (index: number) => string) {}

  /** Makes `index` the latest record for its path's key; returns the one it replaced, if any. */
  set(index: number): number | undefined {
    const path = this.paths(index);
    const length = keyLength(path);
    const hash = hashKey(path, length) | 0;
    const slot = this.find(path, length, hash);
    const previous = this.slots[slot];
    this.slots[slot] = index + 1;
    this.hashes[slot] = hash;
    if (previous !== 0) return previous - 1;
    if (++this.count * 2 > this.slots.length) this.grow();
    return undefined;
  }

  /** The latest record whose path has the key `key` (a `pathKey`). */
  get(key: string): number | undefined {
    const found = this.slots[this.find(key, key.length, hashKey(key, key.length) | 0)];
    return found === 0 ? undefined : found - 1;
  }

  /** The slot holding the record whose key is the first `length` units of `path`, or an empty one. */
  private find(path: string, length: number, hash: number): number {
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const stored = this.slots[slot];
      if (stored === 0) return slot;
      if (this.hashes[slot] === hash && sameKey(this.paths(stored - 1), path, length)) return slot;
    }
  }

  private grow(): void {
    const old = this.slots;
    const oldHashes = this.hashes;
    this.slots = new Int32Array(old.length * 2);
    this.hashes = new Int32Array(old.length * 2);
    const mask = this.slots.length - 1;
    for (let i = 0; i < old.length; i++) {
      if (old[i] === 0) continue;
      const hash = oldHashes[i];
      let slot = hash & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = old[i];
      this.hashes[slot] = hash;
    }
  }
}
