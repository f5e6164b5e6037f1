// Builds entry tables in code for the comparer tests: canonical paths, explicit fields, no tar needed.
import { comparePaths, noXattrs, type LayerEntry, type LayerSummary } from '../../src/normalize/entry.js';
import type { NormalizeOptions, RuleName } from '../../src/normalize/options.js';
import type { LayerIdentity } from '../../src/diff/layers.js';

export const digest = (c: string) => `sha256:${c.repeat(64).slice(0, 64)}`;

/** A file entry (or a directory when the path ends in `/`) with fixed, ordinary values. */
export function entry(path: string, fields: Partial<LayerEntry> = {}): LayerEntry {
  const directory = path.endsWith('/');
  const base: LayerEntry = {
    path,
    type: directory ? 'directory' : 'file',
    mode: directory ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    uname: 'root',
    gname: 'root',
    mtime: 1_700_000_000,
    size: directory ? 0 : 5,
    xattrs: noXattrs,
    inputIndex: 0,
  };
  if (!directory) base.contentDigest = digest('c');
  return { ...base, ...fields };
}

/** Entries sorted canonically, with input indexes in that order unless given. */
export function table(entries: LayerEntry[], keepInputIndex = false): LayerEntry[] {
  const sorted = [...entries].sort((x, y) => comparePaths(x.path, y.path));
  if (!keepInputIndex) sorted.forEach((e, i) => (e.inputIndex = i));
  return sorted;
}

export function summary(entries: LayerEntry[], fields: Partial<LayerSummary> = {}): LayerSummary {
  return {
    tarDigest: digest('1'),
    tarSize: 10240,
    canonicalDigest: digest('2'),
    canonicalSize: 10240,
    entries,
    inCanonicalOrder: true,
    duplicatePaths: [],
    dialects: ['ustar'],
    droppedRecords: { entries: 0, examples: [] },
    ...fields,
  };
}

export function identity(index: number, fields: Partial<LayerIdentity> = {}): LayerIdentity {
  return {
    index,
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: digest('b'),
    size: 1000,
    diffId: digest('d'),
    foreign: false,
    step: `RUN step ${index}`,
    ...fields,
  };
}

export function optionsWith(fields: { epoch?: number; timestampMode?: 'set' | 'clamp'; off?: RuleName[] } = {}): NormalizeOptions {
  return {
    epoch: fields.epoch ?? 0,
    timestampMode: fields.timestampMode ?? 'set',
    disabledRules: new Set(fields.off ?? []),
  };
}
