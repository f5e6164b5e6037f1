/**
 * An incremental tar reader: chunks are pushed in, and a handler receives each member's header (its
 * extended headers already applied) and, when it asks for them, the member's data as slices of the
 * pushed chunks. It allocates nothing per block: one header object is reused for every member, and
 * only PAX and GNU long-name data get a buffer of their own.
 *
 * The checks that belong to the format live here: header checksums and numbers (decode.ts), PAX
 * record framing and numbers, implausible extended headers, an extended header with no member after
 * it, data after a single zero block, GNU sparse and multi-volume members (which this reader cannot
 * read), and a truncated archive (`end`). Everything after the end-of-archive marker is ignored.
 */
import { corruptArchive, unsupported } from '../errors.js';
import { blockSize, isZeroBlock, paddedSize, TypeFlag } from './blocks.js';
import { applyPaxRecords, decodeLongName, decodeTarHeader, emptyHeader, parsePaxRecords, type TarHeader } from './decode.js';

/** Receives what a `TarReader` reads. */
export interface TarHandler {
  /**
   * A member: `header` (reused for the next member: copy what you keep) with its PAX records and GNU
   * long names applied; `pax` the records in force for it (this member's over the global ones), or
   * null; `offset` where its header block starts. Returns true to receive its `header.size` data bytes
   * through `content` and then `contentEnd`; otherwise the data is skipped.
   */
  entry(header: TarHeader, pax: Map<string, string> | null, offset: number): boolean;
  /** The next slice of the member's data; a view of the pushed chunk, valid during the call. */
  content(slice: Buffer): void;
  /** All of the member's data has been given. */
  contentEnd(): void;
  /**
   * With `TarReader.checkPadding`: the zero padding after a member's data holds a non-zero byte at
   * `offset` (once per member).
   */
  paddingNotZero?(offset: number): void;
  /** The end-of-archive marker ends at `offset` (what follows is not read). */
  endOfArchive?(offset: number): void;
}

/** Largest PAX or GNU long-name header accepted; real ones are a few hundred bytes. */
export const maxMetaSize = 16 << 20;

const State = {
  Header: 0,
  Content: 1,
  Meta: 2,
  Skip: 3,
  /** After a zero block: the next block must be zero too. */
  SecondZero: 4,
  /** After the end-of-archive marker. */
  Trailer: 5,
} as const;
type State = (typeof State)[keyof typeof State];

export class TarReader {
  /**
   * Dialects seen: the header formats ('v7', 'ustar', 'gnu') and the extensions used ('pax',
   * 'pax-global', and 'gnu' for long names and volume labels).
   */
  readonly dialects = new Set<string>();
  /** Bytes pushed so far. */
  consumed = 0;
  /** Check the padding after each member's data (see TarHandler.paddingNotZero). */
  checkPadding = false;
  /**
   * During `entry`: where the member starts (its first extended header, else its header block), and
   * its header block (in a pushed chunk or a scratch copy, valid during the call).
   */
  memberOffset = 0;
  headerBlock: Buffer = Buffer.alloc(0);
  headerAt = 0;

  private readonly header = emptyHeader();
  private state: State = State.Header;
  private readonly scratch = Buffer.alloc(blockSize);
  private scratchFill = 0;
  /** Bytes left of the current content, meta data or skipped data. */
  private remaining = 0;
  /** Zero padding after the current data. */
  private padding = 0;
  private metaType = 0;
  private metaData: Buffer = this.scratch;
  private metaFill = 0;
  private metaOffset = 0;
  private pax: Map<string, string> | null = null;
  private globalPax: Map<string, string> | null = null;
  private longName: string | null | undefined = undefined;
  private longLink: string | null | undefined = undefined;
  /** Offset of the first extended header of the member being read, -1 if none. */
  private metaStart = -1;
  /** The bytes being skipped are a member's padding. */
  private inPadding = false;

  constructor(private readonly handler: TarHandler) {}

  push(chunk: Buffer): void {
    const length = chunk.length;
    let pos = 0;
    while (pos < length) {
      switch (this.state) {
        case State.Header:
        case State.SecondZero: {
          let block = chunk;
          let at = pos;
          if (this.scratchFill === 0 && length - pos >= blockSize) {
            pos += blockSize;
          } else {
            const n = Math.min(blockSize - this.scratchFill, length - pos);
            chunk.copy(this.scratch, this.scratchFill, pos, pos + n);
            this.scratchFill += n;
            pos += n;
            if (this.scratchFill < blockSize) break;
            this.scratchFill = 0;
            block = this.scratch;
            at = 0;
          }
          const offset = this.consumed + pos - blockSize;
          if (this.state === State.Header) this.readHeader(block, at, offset);
          else if (isZeroBlock(block, at)) {
            this.state = State.Trailer;
            this.handler.endOfArchive?.(offset + blockSize);
          } else throw invalidAfterEnd(offset);
          break;
        }
        case State.Content: {
          const n = Math.min(this.remaining, length - pos);
          this.handler.content(chunk.subarray(pos, pos + n));
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.handler.contentEnd();
            this.skip(this.padding);
            this.inPadding = this.checkPadding;
          }
          break;
        }
        case State.Meta: {
          const n = Math.min(this.remaining, length - pos);
          chunk.copy(this.metaData, this.metaFill, pos, pos + n);
          this.metaFill += n;
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endMeta();
          break;
        }
        case State.Skip: {
          const n = Math.min(this.remaining, length - pos);
          if (this.inPadding) this.checkZeros(chunk, pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.Header;
          break;
        }
        case State.Trailer:
          // After the end-of-archive marker: not read.
          pos = length;
          break;
      }
    }
    this.consumed += length;
  }

  /** The input has ended: throws "unexpected end of archive" unless it ended between members. */
  end(): void {
    const clean =
      this.scratchFill === 0 &&
      ((this.state === State.Header && this.pax === null && this.longName === undefined && this.longLink === undefined) ||
        this.state === State.SecondZero ||
        this.state === State.Trailer);
    if (!clean) {
      throw corruptArchive('unexpected end of archive', {
        hint: 'the layer tar is truncated',
        data: { offset: this.consumed },
      });
    }
  }

  private readHeader(block: Buffer, at: number, offset: number): void {
    if (isZeroBlock(block, at)) {
      if (this.pax !== null || this.longName !== undefined || this.longLink !== undefined) {
        throw corruptArchive(`invalid tar header at offset ${offset}`, {
          hint: 'an extended header is followed by the end of the archive',
          data: { offset },
        });
      }
      this.state = State.SecondZero;
      return;
    }
    const header = decodeTarHeader(block, at, offset, this.header);
    this.headerBlock = block;
    this.headerAt = at;
    this.dialects.add(header.format);
    switch (header.typeflag) {
      case TypeFlag.paxHeader:
        this.dialects.add('pax');
        return this.beginMeta(header, offset);
      case TypeFlag.paxGlobal:
        this.dialects.add('pax-global');
        return this.beginMeta(header, offset);
      case TypeFlag.gnuLongName:
      case TypeFlag.gnuLongLink:
        this.dialects.add('gnu');
        return this.beginMeta(header, offset);
      case TypeFlag.gnuVolume:
        // A volume label names the archive, not a file.
        this.dialects.add('gnu');
        return this.skip(paddedSize(header.size));
      case TypeFlag.gnuSparse:
      case TypeFlag.gnuMultiVolume:
        throw unsupported(`gnu ${header.typeflag === TypeFlag.gnuSparse ? 'sparse' : 'multi-volume'} entry at offset ${offset}`, {
          hint: 'write the layer without --sparse / --multi-volume',
        });
      default:
        return this.readMember(header, offset);
    }
  }

  /** Padding bytes `chunk[from..to)`: tells the handler of the first one that is not zero. */
  private checkZeros(chunk: Buffer, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      if (chunk[i] !== 0) {
        this.inPadding = false;
        this.handler.paddingNotZero?.(this.consumed + i);
        return;
      }
    }
  }

  private beginMeta(header: TarHeader, offset: number): void {
    if (this.metaStart < 0) this.metaStart = offset;
    if (header.size > maxMetaSize) {
      throw corruptArchive(`invalid tar header at offset ${offset}`, {
        hint: `an extended header of ${header.size} bytes is implausible`,
        data: { offset },
      });
    }
    this.metaType = header.typeflag;
    this.metaData = Buffer.allocUnsafe(header.size);
    this.metaFill = 0;
    this.metaOffset = offset;
    this.remaining = header.size;
    this.padding = paddedSize(header.size) - header.size;
    this.state = State.Meta;
    if (header.size === 0) this.endMeta();
  }

  private endMeta(): void {
    const data = this.metaData;
    switch (this.metaType) {
      case TypeFlag.paxHeader:
        // Records of this member override the global ones; an empty value removes one.
        this.pax ??= new Map(this.globalPax ?? []);
        parsePaxRecords(data, this.pax, this.metaOffset);
        break;
      case TypeFlag.paxGlobal:
        this.globalPax ??= new Map();
        parsePaxRecords(data, this.globalPax, this.metaOffset);
        break;
      case TypeFlag.gnuLongName:
        this.longName = decodeLongName(data);
        break;
      case TypeFlag.gnuLongLink:
        this.longLink = decodeLongName(data);
        break;
    }
    this.metaData = this.scratch;
    this.skip(this.padding);
  }

  private skip(bytes: number): void {
    this.inPadding = false;
    this.remaining = bytes;
    this.state = bytes > 0 ? State.Skip : State.Header;
  }

  private readMember(header: TarHeader, offset: number): void {
    const pax = this.pax ?? this.globalPax;
    this.pax = null;
    if (this.longName !== undefined) header.name = this.longName;
    if (this.longLink !== undefined) header.linkname = this.longLink;
    this.longName = this.longLink = undefined;
    if (pax !== null) {
      applyPaxRecords(header, pax, offset);
      for (const key of pax.keys()) {
        if (key.startsWith('GNU.sparse.')) {
          throw unsupported(`gnu sparse entry at offset ${offset}`, { hint: 'write the layer without --sparse' });
        }
      }
    }
    const size = header.size;
    this.memberOffset = this.metaStart < 0 ? offset : this.metaStart;
    this.metaStart = -1;
    if (this.handler.entry(header, pax, offset) && size > 0) {
      this.remaining = size;
      this.padding = paddedSize(size) - size;
      this.state = State.Content;
    } else {
      // Data nobody asked for (a hardlink with data, a GNU dump-dir listing) is skipped.
      this.skip(paddedSize(size));
    }
  }
}

function invalidAfterEnd(offset: number) {
  return corruptArchive(`invalid tar header at offset ${offset}`, {
    hint: 'a zero block is followed by data; the layer may be two tars concatenated',
    data: { offset },
  });
}
