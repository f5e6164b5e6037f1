/**
 * Shards of a fleet: `--shard K/N` takes the pairs whose name hashes to K (sha256 of the name's UTF-8
 * bytes, its first four bytes as a big-endian number, modulo N, plus one). By name, not by position, so
 * a pair stays in its shard when pairs are appended, removed or reordered; the price is shards of
 * uneven size for small fleets (each pair is equally likely in every shard). The CI matrix or the
 * Kubernetes Indexed Job runs the shards; `merge` puts their reports back together.
 */
import { createHash } from 'node:crypto';
import { usageError } from '../errors.js';

export interface Shard {
  /** 1..count. */
  index: number;
  count: number;
}

/** `K/N` with 1 <= K <= N; anything else is a usage error. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) {
    throw usageError(`--shard: ${JSON.stringify(text)} is not K/N with 1 <= K <= N`, { hint: 'for example --shard 2/3 (a Kubernetes Indexed Job: --shard $((JOB_COMPLETION_INDEX + 1))/N)' });
  }
  return { index, count };
}

/** The shard (1..count) a pair of this name belongs to. */
export function shardOf(name: string, count: number): number {
  const hash = createHash('sha256').update(name, 'utf8').digest();
  return (hash.readUInt32BE(0) % count) + 1;
}

/** The pairs of one shard, in their order. */
export function selectShard<T extends { name: string }>(pairs: readonly T[], shard: Shard): T[] {
  return pairs.filter((pair) => shardOf(pair.name, shard.count) === shard.index);
}

/** A GitHub Actions matrix of `count` shards: `strategy.matrix: ${{ fromJSON(...) }}`, one job per shard. */
export function shardMatrix(count: number): { include: { shard: string; index: number; count: number }[] } {
  if (!Number.isSafeInteger(count) || count < 1 || count > 256) {
    throw usageError(`--matrix: ${count} is not a number of shards from 1 to 256`, { hint: 'GitHub Actions runs at most 256 jobs per matrix' });
  }
  return { include: Array.from({ length: count }, (_, i) => ({ shard: `${i + 1}/${count}`, index: i + 1, count })) };
}
