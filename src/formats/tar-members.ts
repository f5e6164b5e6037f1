/**
 * A tar archive found inside a file (`.tar`, and the tar inside `.tar.gz`/`.tgz`/`.tar.zst`), decoded
 * per member like a layer: type, mode, owner, mtime, link and a sha256 of the content, plus the
 * dialects its writer used. Read by the one tar codec (`tar/reader.ts`) from a stream of chunks, so the
 * archive is never held whole: content is hashed as it passes, and only the members a caller asks for
 * (the inner archives it will open next) are kept, within a byte budget.
 */
import { createHash, type Hash } from 'node:crypto';
import { memberKind } from '../tar/blocks.js';
import type { TarHeader } from '../tar/decode.js';
import { TarReader, type TarHandler } from '../tar/reader.js';
import { OciReproError } from '../errors.js';
import { compareMembers, type FieldChange, formatError, isoFromEpoch, pushChange } from './model.js';

export interface TarMember {
  /** As stored, PAX and GNU long names applied (`./` kept: it is part of what the writer wrote). */
  name: string;
  index: number;
  type: string;
  /** Permission bits in octal, without the file-type bits some writers add. */
  mode: string;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Seconds since the epoch; PAX times keep their fraction. */
  mtime: number;
  size: number;
  linkname: string | null;
  /** sha256 of a regular file's content, hex; undefined for other types. */
  sha256?: string;
}

export interface TarDecoding {
  members: TarMember[];
  /** Header formats and extensions seen (`ustar`, `gnu`, `pax`), sorted. */
  dialects: string[];
}

export interface TarMemberOptions {
  /** Most members decoded (default 100,000); more is an error rather than an unbounded list. */
  maxMembers?: number;
  /** Keep the content of the members this says yes to (by name and size), within `maxHeldBytes`. */
  keep?: (name: string, size: number) => boolean;
  /** Bytes of kept content held at most, all members together (default 16 MiB); a member that would pass it is not kept. */
  maxHeldBytes?: number;
}

export interface TarMemberResult {
  decoding: TarDecoding;
  /** Content of the kept members, by member key (the name, `name (#2)` for a repeat, as compareMembers pairs them). */
  kept: Map<string, Buffer>;
}

/** Decodes the tar read from `chunks` (already uncompressed). Corrupt input is a CORRUPT_ARCHIVE error. */
export async function decodeTarMembers(chunks: AsyncIterable<Uint8Array>, options: TarMemberOptions = {}): Promise<TarMemberResult> {
  const handler = new MemberHandler(options);
  const reader = new TarReader(handler);
  try {
    for await (const chunk of chunks) reader.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    reader.end();
  } catch (error) {
    // The codec's errors are about the bytes; anything else (a caller's stop) passes through.
    if (!(error instanceof OciReproError) || error.message.startsWith('tar: ')) throw error;
    throw formatError('tar', error.message, 'the archive may be truncated or damaged');
  }
  return { decoding: { members: handler.members, dialects: [...reader.dialects].sort() }, kept: handler.kept };
}

const typeNames: Record<string, string> = { file: 'file', directory: 'directory', symlink: 'symlink', hardlink: 'hardlink', char: 'char', block: 'block', fifo: 'fifo' };

class MemberHandler implements TarHandler {
  readonly members: TarMember[] = [];
  readonly kept = new Map<string, Buffer>();
  private readonly seen = new Map<string, number>();
  private hash: Hash | undefined;
  private current: TarMember | undefined;
  private keepKey: string | undefined;
  private keepChunks: Buffer[] = [];
  private held = 0;
  private readonly maxMembers: number;
  private readonly maxHeld: number;

  constructor(private readonly options: TarMemberOptions) {
    this.maxMembers = options.maxMembers ?? 100_000;
    this.maxHeld = options.maxHeldBytes ?? 16 * 1024 * 1024;
  }

  entry(header: TarHeader): boolean {
    if (this.members.length >= this.maxMembers) throw formatError('tar', `more than ${this.maxMembers} members`);
    const name = header.name ?? `(name not UTF-8, member ${this.members.length + 1})`;
    const kind = memberKind(header.typeflag, name);
    const type = kind === null ? `typeflag ${String.fromCharCode(header.typeflag)}` : typeNames[kind]!;
    const member: TarMember = {
      name,
      index: this.members.length,
      type,
      mode: (header.mode & 0o7777).toString(8),
      uid: header.uid,
      gid: header.gid,
      uname: header.uname,
      gname: header.gname,
      mtime: header.mtime,
      size: header.size,
      linkname: header.linkname,
    };
    this.members.push(member);
    const count = (this.seen.get(name) ?? 0) + 1;
    this.seen.set(name, count);
    if (kind !== 'file') return false;
    this.hash = createHash('sha256');
    this.current = member;
    const key = count === 1 ? name : `${name} (#${count})`;
    this.keepKey = undefined;
    if (this.options.keep?.(key, header.size) && this.held + header.size <= this.maxHeld) {
      this.keepKey = key;
      this.keepChunks = [];
      this.held += header.size;
    }
    if (header.size === 0) {
      this.contentEnd();
      return false;
    }
    return true;
  }

  content(slice: Buffer): void {
    this.hash!.update(slice);
    // A slice is a view of the pushed chunk: keep a copy.
    if (this.keepKey !== undefined) this.keepChunks.push(Buffer.from(slice));
  }

  contentEnd(): void {
    this.current!.sha256 = this.hash!.digest('hex');
    if (this.keepKey !== undefined) this.kept.set(this.keepKey, Buffer.concat(this.keepChunks));
    this.keepChunks = [];
    this.keepKey = undefined;
    this.hash = undefined;
    this.current = undefined;
  }
}

const describeTime = (seconds: number) => isoFromEpoch(seconds);

/** Member fields that differ (like a layer's files), members on one side only, order, and the dialects. */
export function compareTarMembers(a: TarDecoding, b: TarDecoding): FieldChange[] {
  const changes: FieldChange[] = [];
  pushChange(changes, 'archive', 'dialects', a.dialects, b.dialects, 'the tar header formats the writer used (ustar, gnu, pax): a different tar tool or version');
  changes.push(
    ...compareMembers(
      a.members,
      b.members,
      (changes, key, ma, mb) => {
        pushChange(changes, key, 'type', ma.type, mb.type, "the member's file type");
        pushChange(changes, key, 'mtime', describeTime(ma.mtime), describeTime(mb.mtime), "the file's modification time (fixed by tar --mtime=@$SOURCE_DATE_EPOCH)");
        pushChange(changes, key, 'uid', ma.uid, mb.uid, "the file's owner (0 with tar --owner=0 --numeric-owner)");
        pushChange(changes, key, 'gid', ma.gid, mb.gid, "the file's group (0 with tar --group=0 --numeric-owner)");
        pushChange(changes, key, 'uname', ma.uname, mb.uname, "the owner's name (empty with tar --numeric-owner)");
        pushChange(changes, key, 'gname', ma.gname, mb.gname, "the group's name (empty with tar --numeric-owner)");
        pushChange(changes, key, 'mode', ma.mode, mb.mode, 'the permission bits, octal (the umask of the build)');
        pushChange(changes, key, 'linkname', ma.linkname, mb.linkname, 'the target of a link');
        pushChange(changes, key, 'size', ma.size, mb.size, "the content's size in bytes");
        pushChange(changes, key, 'content', sha(ma.sha256), sha(mb.sha256), "the member's content");
      },
      { where: 'archive', records: 'the order members were written in (from the first that differs): tar without --sort=name walks the directory in its on-disk order' },
    ),
  );
  return changes;
}

const sha = (hex: string | undefined) => (hex === undefined ? undefined : `sha256:${hex}`);
