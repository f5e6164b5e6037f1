// Shards: every pair in exactly one shard, chosen by its name, so appending pairs moves no other pair.
import { describe, expect, it } from 'vitest';
import { parseShard, selectShard, shardMatrix, shardOf } from '../../src/fleet/shard.js';

const names = (count: number, prefix = 'image-') => Array.from({ length: count }, (_, i) => ({ name: `${prefix}${i}` }));

describe('shards', () => {
  it('parses K/N and refuses anything else (exit 2)', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(parseShard(' 1/1 ')).toEqual({ index: 1, count: 1 });
    for (const text of ['0/3', '4/3', '3', '1/0', 'a/b', '1/3/2', '-1/3']) {
      expect(() => parseShard(text), text).toThrow(/^--shard: .* is not K\/N with 1 <= K <= N$/);
    }
  });

  it('puts every pair in exactly one shard, and every shard gets some of 100 pairs', () => {
    const pairs = names(100);
    const shards = [1, 2, 3].map((index) => selectShard(pairs, { index, count: 3 }));
    expect(shards.flat().map((pair) => pair.name).sort()).toEqual(pairs.map((pair) => pair.name).sort());
    for (const shard of shards) expect(shard.length).toBeGreaterThan(15);
  });

  it('keeps each pair in its shard when other pairs are appended or the list is reordered', () => {
    const before = names(50);
    const after = [...names(30, 'new-'), ...before].reverse();
    for (const pair of before) expect(shardOf(pair.name, 4)).toBe(after.filter((other) => other.name === pair.name).map((other) => shardOf(other.name, 4))[0]);
    const shardBefore = selectShard(before, { index: 2, count: 4 }).map((pair) => pair.name);
    const shardAfter = selectShard(after, { index: 2, count: 4 }).map((pair) => pair.name);
    expect(shardAfter.filter((name) => !name.startsWith('new-')).sort()).toEqual(shardBefore.sort());
  });

  it('gives a GitHub Actions matrix with one entry per shard', () => {
    expect(shardMatrix(3)).toEqual({
      include: [
        { shard: '1/3', index: 1, count: 3 },
        { shard: '2/3', index: 2, count: 3 },
        { shard: '3/3', index: 3, count: 3 },
      ],
    });
    expect(() => shardMatrix(0)).toThrow(/--matrix/);
    expect(() => shardMatrix(257)).toThrow(/from 1 to 256/);
  });
});
