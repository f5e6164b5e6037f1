/**
 * Content details for changed files: known formats decoded (archives member by member and inside their
 * members, compare/nested.ts), a unified diff for small text (or "only timestamps differ"), a JSON diff
 * for `.json` files, else sizes, digests and differing byte ranges. Entry tables hold no content, so the
 * changed files are re-read through a `ContentReader` in ONE pass per layer per side (content-stream.ts)
 * and checked against the table's digests: small ones held, larger ones spooled and compared in chunks.
 */
import { createHash } from 'node:crypto';
import { FILE_HEADERS_ONLY, formatPatch, structuredPatch, type StructuredPatch } from 'diff';
import { OciReproError } from '../errors.js';
import { compareByteStreams } from '../formats/binary.js';
import { compareFormat, detectFormat, detectHeadBytes } from '../formats/detect.js';
import { bufferSource, type ByteSource } from '../formats/model.js';
import { classifyTimestampPairs, type LinePair } from '../formats/timestamps.js';
import {
  attachSpooledRanges,
  isStreamable,
  maxStreamedFiles,
  readLayerFiles,
  spooledDigest,
  spooledSource,
  type LayerFiles,
  type PrefetchedFiles,
  type SpooledIn,
} from './content-stream.js';
import { ContentSpool } from '../normalize/spool.js';
import { compareNested, memberPath } from './nested.js';
import type { ContentDetail, Difference } from '../diff/model.js';
import { diffJson } from './config.js';

/** Opens the layers whose changed files a report shows. */
export interface ContentReader {
  /** The uncompressed tar of layer `layerIndex` of image `side`, or undefined when it cannot be read (a foreign layer). */
  openTar(layerIndex: number, side: 'a' | 'b'): Promise<AsyncIterable<Buffer | string> | undefined>;
  /**
   * The files of that layer already read (verify's round two, content-prefetch.ts): used instead of
   * `openTar` when they hold, with the table's digests, every file the report needs from the layer.
   */
  prefetched?(layerIndex: number, side: 'a' | 'b'): PrefetchedFiles | undefined;
}

/** Files larger than this on either side keep the binary detail. */
export const defaultContentLimit = 64 * 1024;
/**
 * Files a decoder explains, by name (pyc, gzip, zip family, ar), are read up to this size: their decoded
 * fields say more than sizes and digests. ELF files are not known by name, so they keep the plain limit.
 */
export const decodableContentLimit = 4 * 1024 * 1024;
const decodableName = /\.(?:pyc|gz|tgz|zst|tzst|tar|zip|jar|war|ear|whl|egg|apk|a|deb)$/i;

/** The size up to which `file` is read whole: `limit`, or more for a name a decoder explains. */
export function contentCap(file: string, limit = defaultContentLimit): number {
  return decodableName.test(file) ? Math.max(limit, decodableContentLimit) : limit;
}
/** At most this many bytes of content are held at once, both sides together. */
export const defaultContentBudget = 64 * 1024 * 1024;
/** Myers diff is O(N·D): beyond this many edits a unified diff is not worth the time or the reading. */
const maxEditLength = 20_000;
const contextLines = 3;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `data` when it is valid UTF-8 with no NUL byte, else null. */
export function decodeText(data: Buffer): string | null {
  if (data.includes(0)) return null;
  try {
    return utf8.decode(data);
  } catch {
    return null;
  }
}

function digestOf(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function parseJson(text: string): { value: unknown } | null {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return null;
  }
}

/**
 * The detail for a file whose content changed from `a` to `b`: a known format (pyc, gzip, zip, ar,
 * ELF) decoded to the fields that differ; for `.json` files that parse on both sides and differ as
 * values, the changed pointers; for text whose changed lines differ only in timestamps, a count and one
 * example; for other text (and JSON that differs only in layout), a unified diff with `a/<path>` and
 * `b/<path>` headers; otherwise sizes, digests and the first differing byte ranges. A file a decoder
 * cannot read falls back to the byte ranges: never an error for the user.
 */
export async function describeContentChange(path: string, a: Buffer, b: Buffer): Promise<ContentDetail> {
  const facts = { sizeA: a.length, sizeB: b.length, digestA: digestOf(a), digestB: digestOf(b) };
  const nested = await describeNested(path, bufferSource(a), bufferSource(b), facts);
  if (nested !== undefined) return nested;
  const kindA = detectFormat(path, a.subarray(0, detectHeadBytes));
  if (kindA !== undefined && kindA === detectFormat(path, b.subarray(0, detectHeadBytes))) {
    try {
      const changes = await compareFormat(kindA, bufferSource(a), bufferSource(b));
      if (changes.length > 0) {
        return { format: 'decoded', decoder: kindA, ...facts, changes: changes.map((c) => ({ ...c, a: jsonSafe(c.a), b: jsonSafe(c.b) })) };
      }
    } catch (error) {
      if (!(error instanceof OciReproError)) throw error;
    }
  }
  const textA = decodeText(a);
  const textB = textA === null ? null : decodeText(b);
  if (textA !== null && textB !== null) {
    if (path.toLowerCase().endsWith('.json')) {
      const jsonA = parseJson(textA);
      const jsonB = jsonA === null ? null : parseJson(textB);
      if (jsonA !== null && jsonB !== null) {
        const changes: { pointer: string; a: unknown; b: unknown }[] = [];
        diffJson(jsonA.value, jsonB.value, (pointer, va, vb) => {
          changes.push({ pointer, a: va === undefined ? null : va, b: vb === undefined ? null : vb });
        });
        if (changes.length > 0) return { format: 'json', changes };
      }
    }
    // One diff serves both: the timestamps check pairs its changed lines, else it is the unified diff.
    const patch = structuredPatch(`a/${path}`, `b/${path}`, textA, textB, undefined, undefined, { context: contextLines, maxEditLength });
    if (patch !== undefined) return describeTimestamps(patch) ?? { format: 'unified', diff: formatPatch(patch, FILE_HEADERS_ONLY) };
  }
  const bytes = await compareByteStreams(chunksOf(a), chunksOf(b));
  return { format: 'binary', ...facts, differingBytes: bytes.differingBytes, ranges: bytes.ranges, moreRanges: bytes.moreRanges };
}

/**
 * The decoded detail of a file that is an archive on both sides (compare/nested.ts), read through
 * `a` and `b` (held, or spooled for a large file), or undefined when it is none, nothing was found, or
 * the outer archive is corrupt: the caller falls back to byte ranges.
 */
export async function describeNested(
  path: string,
  a: ByteSource,
  b: ByteSource,
  facts: { sizeA: number; sizeB: number; digestA: string; digestB: string },
): Promise<ContentDetail | undefined> {
  try {
    const nested = await compareNested(path, a, b);
    if (nested === undefined || (nested.changes.length === 0 && nested.notes.length === 0)) return undefined;
    const changes = nested.changes.map(({ member, ...c }) => ({
      ...c,
      a: jsonSafe(c.a),
      b: jsonSafe(c.b),
      ...(member === undefined ? {} : { member, path: memberPath(path, member) }),
    }));
    return { format: 'decoded', decoder: nested.decoder, ...facts, changes, ...(nested.notes.length > 0 ? { notes: nested.notes } : {}) };
  } catch (error) {
    if (!(error instanceof OciReproError)) throw error;
    return undefined;
  }
}

/** The timestamps detail when every changed line pairs with one that differs only in dates and times. */
function describeTimestamps(patch: StructuredPatch): ContentDetail | undefined {
  const pairs: LinePair[] = [];
  for (const hunk of patch.hunks) {
    // Each run of removals and the run of additions after it are one change: pair their lines in order.
    let removed: string[] = [];
    let added: string[] = [];
    const flush = () => {
      for (let i = 0; i < Math.max(removed.length, added.length); i++) pairs.push({ a: removed[i], b: added[i] });
      removed = [];
      added = [];
    };
    for (const line of hunk.lines) {
      if (line.startsWith('-')) {
        if (added.length > 0) flush();
        removed.push(line.slice(1));
      } else if (line.startsWith('+')) added.push(line.slice(1));
      else if (line.startsWith(' ')) flush();
    }
    flush();
  }
  const verdict = classifyTimestampPairs(pairs);
  if (!verdict.onlyTimestamps || verdict.example === undefined) return undefined;
  return { format: 'timestamps', lines: verdict.timestampPairs, kinds: verdict.kinds, example: verdict.example };
}

/** Decoded values go to JSON reports as they are; undefined (a side lacks the field) becomes null. */
function jsonSafe(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

async function* chunksOf(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

interface Candidate {
  difference: Difference;
  file: string;
  layerA: number;
  layerB: number;
  digestA: string;
  digestB: string;
}

interface LayerRequest {
  side: 'a' | 'b';
  layer: number;
  small: Set<string>;
  large: Set<string>;
  limit: number;
}

export interface ContentOptions {
  /**
   * Whether a large file's byte ranges are worth a read of its layers: false for one whose cause is
   * known from its path alone (an apt cache). Such ranges are still taken when the layers are read for
   * other files anyway. Not asked for a name a decoder explains (a jar, a .tar.gz): its decoded members
   * say more than its cause. Default: every one.
   */
  wantsRanges?: (difference: Difference) => boolean;
  /** Directory of the spool for large files' bytes (default the OS temp dir). */
  tempDir?: string;
}

/**
 * Refines the binary detail the comparer puts on `content` differences. Files no larger than `limit` on
 * both sides (`decodableContentLimit` for files a decoder explains by name), within `budget` bytes held
 * in all, are read whole and, when they match the table digests, described (decoded, text or JSON diff,
 * byte ranges). Larger ones (the first `maxStreamedFiles` not neutralized) get their differing byte
 * ranges from spooled bytes. Everything comes from ONE pass over each side's layer. Differences whose
 * content cannot be read keep their binary detail. Mutates and returns `differences`.
 */
export async function attachContentDetails(
  differences: Difference[],
  reader: ContentReader,
  limit = defaultContentLimit,
  budget = defaultContentBudget,
  options: ContentOptions = {},
): Promise<Difference[]> {
  const small: Candidate[] = [];
  const large: Candidate[] = [];
  const optional: Candidate[] = [];
  const requests = new Map<string, LayerRequest>();
  const request = (side: 'a' | 'b', layer: number, file: string, cap: number | null) => {
    const key = `${side}:${layer}`;
    let entry = requests.get(key);
    if (entry === undefined) {
      entry = { side, layer, small: new Set(), large: new Set(), limit: 0 };
      requests.set(key, entry);
    }
    if (cap === null) entry.large.add(file);
    else {
      entry.small.add(file);
      entry.limit = Math.max(entry.limit, cap);
    }
  };

  let held = 0;
  for (const difference of differences) {
    const { detail, file } = difference;
    if (difference.kind !== 'file-attribute' || difference.attribute !== 'content') continue;
    if (detail?.format !== 'binary' || file === undefined) continue;
    const layerA = difference.origin?.a ?? difference.layer;
    const layerB = difference.origin?.b ?? difference.layer;
    if (layerA === undefined || layerA === null || layerB === undefined || layerB === null) continue;
    const candidate = { difference, file, layerA, layerB, digestA: detail.digestA, digestB: detail.digestB };
    const cap = contentCap(file, limit);
    const fits = detail.sizeA <= cap && detail.sizeB <= cap;
    if (fits && held + detail.sizeA + detail.sizeB <= budget) {
      held += detail.sizeA + detail.sizeB;
      small.push(candidate);
      request('a', layerA, file, cap);
      request('b', layerB, file, cap);
    } else if (isStreamable(difference)) {
      // A name a decoder explains (an archive) is read for its decoded members even when its path tells the cause.
      const wanted = decodableName.test(file) || (options.wantsRanges?.(difference) ?? true);
      (wanted ? large : optional).push(candidate);
    }
  }
  // Ranges not worth a pass of their own are still taken from a pass that happens anyway.
  const streamed = large.slice(0, maxStreamedFiles);
  for (const { file, layerA, layerB } of streamed) {
    request('a', layerA, file, null);
    request('b', layerB, file, null);
  }
  for (const candidate of optional) {
    if (streamed.length >= maxStreamedFiles) break;
    if (!requests.has(`a:${candidate.layerA}`) || !requests.has(`b:${candidate.layerB}`)) continue;
    streamed.push(candidate);
    request('a', candidate.layerA, candidate.file, null);
    request('b', candidate.layerB, candidate.file, null);
  }
  if (requests.size === 0) return differences;

  // A layer a prefetch holds every needed file of is not read again; the others are, once each.
  const prefetched = prefetchedLayers(reader, requests, small, streamed);
  let spool: ContentSpool | undefined;
  try {
    const contents = new Map<string, LayerContents>();
    const ordered = [...requests].sort(([, x], [, y]) => x.layer - y.layer || x.side.localeCompare(y.side));
    for (const [key, { side, layer, small: paths, large: largePaths, limit: largest }] of ordered) {
      const files = prefetched.get(key);
      if (files !== undefined) {
        contents.set(key, { files, spool: files.spool });
        continue;
      }
      if (largePaths.size > 0) spool ??= new ContentSpool(options.tempDir);
      const tar = await reader.openTar(layer, side);
      contents.set(key, { files: tar === undefined ? { small: new Map(), large: new Map() } : await readLayerFiles(tar, paths, largePaths, largest, spool), spool });
    }
    await describeCandidates(small, contents);
    if (streamed.length === 0) return differences;
    await spool?.finishWriting();
    const spooled = (key: string, file: string): SpooledIn | undefined => {
      const found = contents.get(key);
      return found?.spool === undefined ? undefined : { spool: found.spool, file: found.files.large.get(file) };
    };
    for (const { difference, file, layerA, layerB } of streamed) {
      const [a, b] = [spooled(`a:${layerA}`, file), spooled(`b:${layerB}`, file)];
      if (!(await attachSpooledArchive(difference, file, a, b))) await attachSpooledRanges(difference, a, b);
    }
  } finally {
    await spool?.close();
  }
  return differences;
}

/**
 * A large file that is an archive on both sides, decoded member by member from the spool as a held
 * one is (`describeNested`), when each side's bytes are the file the table digested. False leaves the
 * byte ranges to be taken: not an archive, kinds differ, nothing found, or the outer archive corrupt.
 */
async function attachSpooledArchive(difference: Difference, file: string, a: SpooledIn | undefined, b: SpooledIn | undefined): Promise<boolean> {
  const detail = difference.detail;
  if (a?.file === undefined || b?.file === undefined || detail?.format !== 'binary') return false;
  if (spooledDigest(a.spool, a.file) !== detail.digestA || spooledDigest(b.spool, b.file) !== detail.digestB) return false;
  const facts = { sizeA: detail.sizeA, sizeB: detail.sizeB, digestA: detail.digestA, digestB: detail.digestB };
  const decoded = await describeNested(file, spooledSource(a.spool, a.file), spooledSource(b.spool, b.file), facts);
  if (decoded === undefined) return false;
  difference.detail = decoded;
  return true;
}

interface LayerContents {
  files: LayerFiles;
  spool?: ContentSpool;
}

/** The requested layers a prefetch serves whole: each needed file there, with the table's digest. */
function prefetchedLayers(reader: ContentReader, requests: Map<string, LayerRequest>, small: Candidate[], streamed: Candidate[]): Map<string, PrefetchedFiles> {
  const served = new Map<string, PrefetchedFiles>();
  if (reader.prefetched === undefined) return served;
  for (const [key, { side, layer }] of requests) {
    const files = reader.prefetched(layer, side);
    if (files !== undefined) served.set(key, files);
  }
  const check = (key: string, holds: (files: PrefetchedFiles) => boolean) => {
    const files = served.get(key);
    if (files !== undefined && !holds(files)) served.delete(key);
  };
  for (const { file, layerA, layerB, digestA, digestB } of small) {
    const holds = (digest: string) => (files: PrefetchedFiles) => {
      const content = files.small.get(file);
      return content !== undefined && digestOf(content) === digest;
    };
    check(`a:${layerA}`, holds(digestA));
    check(`b:${layerB}`, holds(digestB));
  }
  for (const { file, layerA, layerB, digestA, digestB } of streamed) {
    const holds = (digest: string) => (files: PrefetchedFiles) => {
      const spooled = files.large.get(file);
      return files.spool !== undefined && spooled !== undefined && spooledDigest(files.spool, spooled) === digest;
    };
    check(`a:${layerA}`, holds(digestA));
    check(`b:${layerB}`, holds(digestB));
  }
  return served;
}

async function describeCandidates(candidates: Candidate[], contents: Map<string, LayerContents>): Promise<void> {
  for (const candidate of candidates) {
    const a = contents.get(`a:${candidate.layerA}`)?.files.small.get(candidate.file);
    const b = contents.get(`b:${candidate.layerB}`)?.files.small.get(candidate.file);
    // A reader that found another file (a hardlink carrier, a duplicate) must not yield a wrong diff.
    if (a === undefined || b === undefined) continue;
    if (digestOf(a) !== candidate.digestA || digestOf(b) !== candidate.digestB) continue;
    candidate.difference.detail = await describeContentChange(candidate.file, a, b);
  }
}

/**
 * Reads the regular files among `paths` no larger than `limit` from an uncompressed layer tar (see
 * readLayerFiles): the last entry for a path wins, a hardlink gets its target's content.
 */
export async function readFilesFromTar(tar: AsyncIterable<Buffer | string>, paths: Set<string>, limit = defaultContentLimit): Promise<Map<string, Buffer>> {
  return (await readLayerFiles(tar, paths, new Set(), limit)).small;
}
