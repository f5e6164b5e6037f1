/**
 * Content details for changed files: known formats decoded (archives member by member and inside their
 * members, compare/nested.ts), a unified diff for small text (or "only timestamps differ"), a JSON diff
 * for `.json` files, else sizes, digests and differing byte ranges. Entry tables hold no content, so the
 * small changed files are re-read through a `ContentReader`, once per layer per side, and checked
 * against the table's digests; larger ones are streamed side by side (content-stream.ts).
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { FILE_HEADERS_ONLY, formatPatch, structuredPatch, type StructuredPatch } from 'diff';
import { badInput, OciReproError } from '../errors.js';
import { compareByteStreams } from '../formats/binary.js';
import { compareFormat, detectFormat, detectHeadBytes } from '../formats/detect.js';
import { bufferSource } from '../formats/model.js';
import { classifyTimestampPairs, type LinePair } from '../formats/timestamps.js';
import { attachStreamedRanges, type ContentOpener } from './content-stream.js';
import { compareNested, memberPath } from './nested.js';
import { canonicalizePath } from '../normalize/entry.js';
import { memberKind } from '../tar/blocks.js';
import type { TarHeader } from '../tar/decode.js';
import { TarReader, type TarHandler } from '../tar/reader.js';
import type { ContentDetail, Difference } from '../diff/model.js';
import { diffJson } from './config.js';

/** Reads the contents of some regular files of one layer of one image. */
export interface ContentReader {
  /**
   * Contents of those of `paths` (canonical table paths) that are regular files in layer `layerIndex`
   * of image `side`; paths it cannot or will not read are simply missing from the map. `limit`: the
   * largest size any of them may have (each path was checked against its own limit before).
   */
  read(layerIndex: number, side: 'a' | 'b', paths: Set<string>, limit?: number): Promise<Map<string, Buffer>>;
  /** One file as a stream, for files too large to read whole (content-stream.ts); without it they keep sizes and digests. */
  open?: ContentOpener;
}

/** Files larger than this on either side keep the binary detail. */
export const defaultContentLimit = 64 * 1024;
/**
 * Files a decoder explains, by name (pyc, gzip, zip family, ar), are read up to this size: their decoded
 * fields say more than sizes and digests. ELF files are not known by name, so they keep the plain limit.
 */
export const decodableContentLimit = 4 * 1024 * 1024;
const decodableName = /\.(?:pyc|gz|tgz|zst|tzst|tar|zip|jar|war|ear|whl|egg|apk|a|deb)$/i;
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
  try {
    const nested = await compareNested(path, a, b);
    if (nested !== undefined && (nested.changes.length > 0 || nested.notes.length > 0)) {
      const changes = nested.changes.map(({ member, ...c }) => ({
        ...c,
        a: jsonSafe(c.a),
        b: jsonSafe(c.b),
        ...(member === undefined ? {} : { member, path: memberPath(path, member) }),
      }));
      return { format: 'decoded', decoder: nested.decoder, ...facts, changes, ...(nested.notes.length > 0 ? { notes: nested.notes } : {}) };
    }
  } catch (error) {
    if (!(error instanceof OciReproError)) throw error;
  }
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

/**
 * Refines the binary detail the comparer puts on `content` differences: for files no larger than
 * `limit` on both sides (`decodableContentLimit` for files a decoder explains by name), reads both contents (one `reader.read` per layer per side, holding at most
 * `budget` bytes) and, when they match the table digests, sets a unified or JSON detail. Differences
 * whose content cannot be read, or is binary, keep their binary detail. Mutates and returns `differences`.
 */
export async function attachContentDetails(
  differences: Difference[],
  reader: ContentReader,
  limit = defaultContentLimit,
  budget = defaultContentBudget,
): Promise<Difference[]> {
  const candidates: Candidate[] = [];
  const requests = new Map<string, { side: 'a' | 'b'; layer: number; paths: Set<string>; limit: number }>();
  const request = (side: 'a' | 'b', layer: number, file: string, cap: number) => {
    const key = `${side}:${layer}`;
    let entry = requests.get(key);
    if (entry === undefined) {
      entry = { side, layer, paths: new Set(), limit: 0 };
      requests.set(key, entry);
    }
    entry.paths.add(file);
    entry.limit = Math.max(entry.limit, cap);
  };

  let held = 0;
  for (const difference of differences) {
    const { detail, file } = difference;
    if (difference.kind !== 'file-attribute' || difference.attribute !== 'content') continue;
    if (detail?.format !== 'binary' || file === undefined) continue;
    const cap = decodableName.test(file) ? Math.max(limit, decodableContentLimit) : limit;
    if (detail.sizeA > cap || detail.sizeB > cap) continue;
    const layerA = difference.origin?.a ?? difference.layer;
    const layerB = difference.origin?.b ?? difference.layer;
    if (layerA === undefined || layerA === null || layerB === undefined || layerB === null) continue;
    if (held + detail.sizeA + detail.sizeB > budget) continue;
    held += detail.sizeA + detail.sizeB;
    candidates.push({ difference, file, layerA, layerB, digestA: detail.digestA, digestB: detail.digestB });
    request('a', layerA, file, cap);
    request('b', layerB, file, cap);
  }
  if (candidates.length > 0) await readCandidates(candidates, requests, reader);
  // Files over the limit: their byte ranges, streamed.
  if (reader.open) await attachStreamedRanges(differences, reader.open.bind(reader));
  return differences;
}

async function readCandidates(
  candidates: Candidate[],
  requests: Map<string, { side: 'a' | 'b'; layer: number; paths: Set<string>; limit: number }>,
  reader: ContentReader,
): Promise<void> {
  const contents = new Map<string, Map<string, Buffer>>();
  const ordered = [...requests].sort(([, x], [, y]) => x.layer - y.layer || x.side.localeCompare(y.side));
  for (const [key, { side, layer, paths, limit: largest }] of ordered) {
    contents.set(key, await reader.read(layer, side, paths, largest));
  }

  for (const candidate of candidates) {
    const a = contents.get(`a:${candidate.layerA}`)?.get(candidate.file);
    const b = contents.get(`b:${candidate.layerB}`)?.get(candidate.file);
    // A reader that found another file (a hardlink carrier, a duplicate) must not yield a wrong diff.
    if (a === undefined || b === undefined) continue;
    if (digestOf(a) !== candidate.digestA || digestOf(b) !== candidate.digestB) continue;
    candidate.difference.detail = await describeContentChange(candidate.file, a, b);
  }
}

/**
 * Reads the regular files among `paths` no larger than `limit` from an uncompressed layer tar, matching
 * member names by their canonical spelling (or exactly as given, for tables made with rule
 * 'path-spelling' off). The last entry for a path wins, as when the layer is applied; a hardlink to a
 * file read earlier gets that file's content. Reads the whole stream, so a digest-checking stream
 * still reports a mismatch at its end. The tar is read by the same reader as the layer pass.
 */
export async function readFilesFromTar(tar: Readable, paths: Set<string>, limit = defaultContentLimit): Promise<Map<string, Buffer>> {
  const collector = new FileCollector(paths, limit);
  const reader = new TarReader(collector);
  for await (const chunk of tar) reader.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : (chunk as Buffer));
  reader.end();
  return collector.found;
}

/** The tar handler of readFilesFromTar. */
class FileCollector implements TarHandler {
  readonly found = new Map<string, Buffer>();
  private current = '';
  private chunks: Buffer[] = [];

  constructor(
    private readonly paths: Set<string>,
    private readonly limit: number,
  ) {}

  entry(header: TarHeader): boolean {
    const name = header.name;
    // The layer pass refuses names that are not UTF-8, so no table path can name one.
    if (name === null) return false;
    const kind = memberKind(header.typeflag, name);
    const canonical = canonicalizePath(name, kind === 'directory');
    // The layer pass refuses these first; a reader of the same bytes must not launder one either.
    if (canonical === null) throw escapingEntry(name);
    const { paths, found } = this;
    const path = paths.has(canonical) ? canonical : paths.has(name) ? name : null;
    if (path === null) return false;
    if (kind === 'file' && header.size <= this.limit) {
      this.current = path;
      this.chunks = [];
      if (header.size > 0) return true;
      found.set(path, Buffer.alloc(0));
      return false;
    }
    const link = kind === 'hardlink' ? header.linkname : null;
    const linkPath = link ? canonicalizePath(link, false) : null;
    if (link && linkPath === null) throw escapingEntry(link);
    const target = link ? (found.get(linkPath!) ?? found.get(link)) : undefined;
    if (target !== undefined) found.set(path, target);
    else found.delete(path);
    return false;
  }

  content(slice: Buffer): void {
    // A slice is a view of the pushed chunk: keep a copy.
    this.chunks.push(Buffer.from(slice));
  }

  contentEnd(): void {
    this.found.set(this.current, Buffer.concat(this.chunks));
    this.chunks = [];
  }
}

function escapingEntry(name: string) {
  return badInput(`entry ${JSON.stringify(name)} leaves the root`, {
    hint: 'its ".." segments climb above the layer root; a runtime would refuse or rewrite it',
  });
}
