/**
 * Zip extra fields (APPNOTE 4.5 and Info-ZIP's extrafld.txt) that record times and owners: the
 * extended timestamp (0x5455 "UT"), Info-ZIP's Unix fields (0x7875 "ux", old 0x5855 "UX"), PKWARE's
 * Unix field (0x000d) and NTFS times (0x000a). `zip` writes UT and ux by default, so a member zipped
 * twice differs there even when its DOS time agrees.
 */

export interface ExtraField {
  id: number;
  data: Buffer;
}

export interface DecodedExtras {
  /** Extended timestamp, seconds since the epoch (the central copy holds the mtime only). */
  mtime?: number;
  atime?: number;
  ctime?: number;
  uid?: number;
  gid?: number;
  /** Extra fields not decoded here, by id (`0xcafe`), as hex. */
  other: Record<string, string>;
}

/** Splits an extra area into its fields; a damaged tail is kept as one field of id -1 rather than failing. */
export function splitExtra(area: Buffer): ExtraField[] {
  const fields: ExtraField[] = [];
  let at = 0;
  while (at + 4 <= area.length) {
    const id = area.readUInt16LE(at);
    const size = area.readUInt16LE(at + 2);
    if (at + 4 + size > area.length) break;
    fields.push({ id, data: area.subarray(at + 4, at + 4 + size) });
    at += 4 + size;
  }
  if (at < area.length) fields.push({ id: -1, data: area.subarray(at) });
  return fields;
}

export const hexId = (id: number): string => (id < 0 ? 'damaged' : `0x${id.toString(16).padStart(4, '0')}`);

// FILETIME: 100 ns ticks since 1601-01-01.
const filetimeEpochOffset = 11_644_473_600n;
const filetimeSeconds = (ticks: bigint): number => Number(ticks / 10_000_000n - filetimeEpochOffset);

/** Decodes the time and owner fields of one extra area (local or central). */
export function decodeExtras(fields: readonly ExtraField[]): DecodedExtras {
  const out: DecodedExtras = { other: {} };
  for (const { id, data } of fields) {
    switch (id) {
      case 0x5455: {
        if (data.length < 1) break;
        const flags = data[0]!;
        let at = 1;
        for (const [bit, key] of [[1, 'mtime'], [2, 'atime'], [4, 'ctime']] as const) {
          if ((flags & bit) === 0) continue;
          if (at + 4 > data.length) break; // the central copy stops after the mtime
          out[key] = data.readInt32LE(at);
          at += 4;
        }
        break;
      }
      case 0x7875: {
        // version 1, then a sized little-endian uid and gid
        if (data.length < 3 || data[0] !== 1) break;
        const uidSize = data[1]!;
        if (2 + uidSize + 1 > data.length) break;
        out.uid = readSizedLE(data, 2, uidSize);
        const gidSize = data[2 + uidSize]!;
        if (3 + uidSize + gidSize > data.length) break;
        out.gid = readSizedLE(data, 3 + uidSize, gidSize);
        break;
      }
      case 0x5855:
      case 0x000d: {
        if (data.length >= 8) {
          out.atime = data.readInt32LE(0);
          out.mtime = data.readInt32LE(4);
        }
        if (data.length >= 12) {
          out.uid = data.readUInt16LE(8);
          out.gid = data.readUInt16LE(10);
        }
        break;
      }
      case 0x000a: {
        // reserved(4), then tags; tag 1 holds mtime, atime, ctime as FILETIMEs
        for (let at = 4; at + 4 <= data.length; ) {
          const tag = data.readUInt16LE(at);
          const size = data.readUInt16LE(at + 2);
          if (tag === 1 && size >= 24 && at + 4 + 24 <= data.length) {
            out.mtime = filetimeSeconds(data.readBigUInt64LE(at + 4));
            out.atime = filetimeSeconds(data.readBigUInt64LE(at + 12));
            out.ctime = filetimeSeconds(data.readBigUInt64LE(at + 20));
          }
          at += 4 + size;
        }
        break;
      }
      case 0x0001:
        break; // zip64 sizes, read by the directory decoder
      default:
        out.other[hexId(id)] = data.toString('hex');
    }
  }
  return out;
}

function readSizedLE(data: Buffer, at: number, size: number): number {
  let value = 0;
  for (let i = Math.min(size, 6) - 1; i >= 0; i--) value = value * 256 + data[at + i]!;
  return value;
}
