/** Runs the tar reader over a buffer in chunks and records what it reports (shared by test/tar/). */
import type { TarHeader } from '../../src/tar/decode.js';
import { TarReader } from '../../src/tar/reader.js';

export interface ReadMember {
  header: TarHeader;
  pax: Record<string, string> | null;
  offset: number;
  content: Buffer;
}

/** Every member of `tar` with its content, pushing `chunkSize` bytes at a time; `dialects` as seen. */
export function readAll(tar: Buffer, chunkSize = tar.length || 1): { members: ReadMember[]; dialects: string[] } {
  const members: ReadMember[] = [];
  let chunks: Buffer[] = [];
  let ended = true;
  const reader = new TarReader({
    entry(header, pax, offset) {
      members.push({ header: { ...header }, pax: pax === null ? null : Object.fromEntries(pax), offset, content: Buffer.alloc(0) });
      chunks = [];
      ended = header.size === 0;
      return true;
    },
    content(slice) {
      chunks.push(Buffer.from(slice));
    },
    contentEnd() {
      members[members.length - 1].content = Buffer.concat(chunks);
      ended = true;
    },
  });
  for (let at = 0; at < tar.length; at += chunkSize) reader.push(tar.subarray(at, at + chunkSize));
  reader.end();
  if (!ended) throw new Error('contentEnd was not called for the last member');
  return { members, dialects: [...reader.dialects].sort() };
}
