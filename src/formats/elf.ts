/**
 * ELF objects and executables: the section table, each section's contents hashed (in chunks, never
 * held whole), and the build ids in the notes: the GNU build-id (`.note.gnu.build-id`, a hash the
 * linker computes or a value given with `--build-id=0x…`) and Go's (`.note.go.buildid`, which changes
 * with the build's inputs and flags such as `-trimpath`). Which sections differ says where two builds
 * of a binary part: only the build-id note, only `.comment`, or the code itself.
 */
import { createHash } from 'node:crypto';
import { type ByteSource, compareMembers, type FieldChange, formatError, pushChange, readRange } from './model.js';

export interface ElfSection {
  name: string;
  /** sh_type: 1 PROGBITS, 2 SYMTAB, 3 STRTAB, 7 NOTE, 8 NOBITS, … */
  type: number;
  flags: number;
  address: number;
  offset: number;
  size: number;
  /** sha256 of the section's bytes in the file, hex; empty for NOBITS (.bss), which has none. */
  sha256: string;
}

export interface ElfDecoding {
  /** 32 or 64. */
  bits: number;
  endian: 'little' | 'big';
  /** e_type: 1 relocatable, 2 executable, 3 shared object or PIE, 4 core. */
  type: number;
  machine: number;
  entry: number;
  sections: ElfSection[];
  /** Hex of the GNU build-id note's descriptor. */
  gnuBuildId?: string;
  /** Go's build id string (`actionID/contentID`…). */
  goBuildId?: string;
}

export interface ElfOptions {
  /** Most sections decoded (default 100,000). */
  maxSections?: number;
  /** Largest note or name-table section parsed (default 16 MiB). */
  maxTableBytes?: number;
}

const hashChunk = 1024 * 1024;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const NT_GNU_BUILD_ID = 3;
const NT_GO_BUILD_ID = 4;

/** Decodes an ELF file's section table, section hashes and build ids. */
export async function decodeElf(source: ByteSource, options: ElfOptions = {}): Promise<ElfDecoding> {
  const maxSections = options.maxSections ?? 100_000;
  const maxTable = options.maxTableBytes ?? 16 * 1024 * 1024;
  const ident = await readRange(source, 0, Math.min(64, source.size), 'elf', 'header');
  if (ident.length < 16 || ident.readUInt32BE(0) !== 0x7f454c46) throw formatError('elf', 'no ELF magic (7f 45 4c 46) at byte 0', 'not an ELF file');
  const bits = ident[4] === 1 ? 32 : ident[4] === 2 ? 64 : 0;
  const endian = ident[5] === 1 ? 'little' : ident[5] === 2 ? 'big' : undefined;
  if (!bits || !endian) throw formatError('elf', `unknown class ${ident[4]} or data encoding ${ident[5]}`);
  if (ident.length < (bits === 64 ? 64 : 52)) throw formatError('elf', `header truncated at ${ident.length} bytes`, 'the file may be truncated');
  const r = reader(endian, bits);
  const header = bits === 64
    ? { type: r.u16(ident, 16), machine: r.u16(ident, 18), entry: r.word(ident, 24), shoff: r.word(ident, 40), shentsize: r.u16(ident, 58), shnum: r.u16(ident, 60), shstrndx: r.u16(ident, 62) }
    : { type: r.u16(ident, 16), machine: r.u16(ident, 18), entry: r.word(ident, 24), shoff: r.word(ident, 32), shentsize: r.u16(ident, 46), shnum: r.u16(ident, 48), shstrndx: r.u16(ident, 50) };
  const base = { bits, endian, type: header.type, machine: header.machine, entry: header.entry } as const;
  if (header.shoff === 0) return { ...base, sections: [] };
  const entrySize = bits === 64 ? 64 : 40;
  if (header.shentsize < entrySize) throw formatError('elf', `section header size ${header.shentsize} is below ${entrySize}`);
  const rawSection = async (index: number) => {
    const bytes = await readRange(source, header.shoff + index * header.shentsize, entrySize, 'elf', `section header ${index}`);
    return bits === 64
      ? { name: r.u32(bytes, 0), type: r.u32(bytes, 4), flags: r.word(bytes, 8), address: r.word(bytes, 16), offset: r.word(bytes, 24), size: r.word(bytes, 32), link: r.u32(bytes, 40), align: r.word(bytes, 48) }
      : { name: r.u32(bytes, 0), type: r.u32(bytes, 4), flags: r.u32(bytes, 8), address: r.u32(bytes, 12), offset: r.u32(bytes, 16), size: r.u32(bytes, 20), link: r.u32(bytes, 24), align: r.u32(bytes, 32) };
  };
  // More than 0xff00 sections: the count and the name-table index live in section 0 (gABI).
  const zero = await rawSection(0);
  const count = header.shnum === 0 ? zero.size : header.shnum;
  const nameIndex = header.shstrndx === 0xffff ? zero.link : header.shstrndx;
  if (count > maxSections) throw formatError('elf', `${count} sections, more than the limit of ${maxSections}`);
  const raw = [];
  for (let i = 0; i < count; i++) raw.push(await rawSection(i));
  const nameTable = raw[nameIndex];
  const names = nameTable && nameTable.type !== SHT_NOBITS && nameIndex !== 0
    ? await readTable(source, nameTable.offset, nameTable.size, maxTable, 'section name table')
    : Buffer.alloc(0);
  const sections: ElfSection[] = [];
  let gnuBuildId: string | undefined;
  let goBuildId: string | undefined;
  for (const s of raw) {
    const name = s.name < names.length ? names.toString('latin1', s.name, zeroAt(names, s.name)) : `#${sections.length}`;
    const inFile = s.type !== SHT_NOBITS;
    if (inFile && s.offset + s.size > source.size) {
      throw formatError('elf', `section ${name} (bytes ${s.offset}..${s.offset + s.size}) lies past the end of the ${source.size}-byte file`, 'the file may be truncated');
    }
    sections.push({ name, type: s.type, flags: s.flags, address: s.address, offset: s.offset, size: s.size, sha256: inFile ? await hashRange(source, s.offset, s.size) : '' });
    if (inFile && (s.type === SHT_NOTE || name.startsWith('.note')) && s.size <= maxTable) {
      const notes = readNotes(await readRange(source, s.offset, s.size, 'elf', `notes ${name}`), r, s.align === 8 ? 8 : 4);
      for (const note of notes) {
        if (note.name === 'GNU' && note.type === NT_GNU_BUILD_ID) gnuBuildId ??= note.desc.toString('hex');
        if (note.name === 'Go' && note.type === NT_GO_BUILD_ID) goBuildId ??= note.desc.toString('latin1');
      }
    }
  }
  return { ...base, sections: sections.slice(1), gnuBuildId, goBuildId };
}

interface Reader {
  u16(b: Buffer, at: number): number;
  u32(b: Buffer, at: number): number;
  /** An address or offset: 4 or 8 bytes by class. */
  word(b: Buffer, at: number): number;
}

function reader(endian: 'little' | 'big', bits: number): Reader {
  const le = endian === 'little';
  const u32 = (b: Buffer, at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  return {
    u16: (b, at) => (le ? b.readUInt16LE(at) : b.readUInt16BE(at)),
    u32,
    word: bits === 64 ? (b, at) => Number(le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at)) : u32,
  };
}

async function readTable(source: ByteSource, offset: number, size: number, max: number, what: string): Promise<Buffer> {
  if (size > max) throw formatError('elf', `${what} of ${size} bytes, more than the limit of ${max}`);
  return readRange(source, offset, size, 'elf', what);
}

function zeroAt(bytes: Buffer, from: number): number {
  const at = bytes.indexOf(0, from);
  return at < 0 ? bytes.length : at;
}

interface Note {
  name: string;
  type: number;
  desc: Buffer;
}

/** The notes of a note section; a malformed note ends the list (the section is still hashed). */
function readNotes(bytes: Buffer, r: Reader, align: number): Note[] {
  const notes: Note[] = [];
  const pad = (n: number) => Math.ceil(n / align) * align;
  for (let at = 0; at + 12 <= bytes.length; ) {
    const nameSize = r.u32(bytes, at);
    const descSize = r.u32(bytes, at + 4);
    const type = r.u32(bytes, at + 8);
    const descAt = at + 12 + pad(nameSize);
    if (descAt + descSize > bytes.length) break;
    const name = bytes.toString('latin1', at + 12, at + 12 + nameSize).replace(/\0+$/, '');
    notes.push({ name, type, desc: bytes.subarray(descAt, descAt + descSize) });
    at = descAt + pad(descSize);
  }
  return notes;
}

async function hashRange(source: ByteSource, start: number, length: number): Promise<string> {
  const hash = createHash('sha256');
  for (let done = 0; done < length; done += hashChunk) {
    hash.update(await readRange(source, start + done, Math.min(hashChunk, length - done), 'elf', 'section data'));
  }
  return hash.digest('hex');
}

const sectionRecords: Record<string, string> = {
  '.note.gnu.build-id': 'the GNU build-id note: a hash of the linked output, or the value given to --build-id',
  '.note.go.buildid': "Go's build id note: hashes of the build's inputs and of its output",
  '.comment': 'the compiler and linker versions that built the file',
  '.gnu_debuglink': 'the name and CRC of the separate debug file',
  '.symtab': 'the symbol table',
  '.strtab': 'symbol names',
};
const recordsOf = (name: string): string =>
  sectionRecords[name] ?? (name.startsWith('.debug') ? 'debug information (DWARF): paths, producer strings, line tables' : "the section's contents");

/** Build ids, header fields and the sections that differ (by name, contents compared by hash). */
export function compareElf(a: ElfDecoding, b: ElfDecoding): FieldChange[] {
  const changes: FieldChange[] = [];
  pushChange(changes, 'notes', 'gnu-build-id', a.gnuBuildId, b.gnuBuildId, 'the GNU build-id: a hash of the linked output, or the value given to --build-id');
  pushChange(changes, 'notes', 'go-build-id', a.goBuildId, b.goBuildId, "Go's build id: changes with the build's inputs, paths (-trimpath) and VCS stamping (-buildvcs)");
  pushChange(changes, 'header', 'class', `${a.bits}-bit ${a.endian}`, `${b.bits}-bit ${b.endian}`, 'word size and byte order');
  pushChange(changes, 'header', 'machine', a.machine, b.machine, 'the target architecture (e_machine)');
  pushChange(changes, 'header', 'type', a.type, b.type, 'object, executable, shared object or PIE');
  pushChange(changes, 'header', 'entry', hex(a.entry), hex(b.entry), 'the entry point address');
  changes.push(...compareMembers(a.sections, b.sections, (out, name, sa, sb) => {
    pushChange(out, name, 'sha256', sa.sha256, sb.sha256, recordsOf(name));
    pushChange(out, name, 'size', sa.size, sb.size, "the section's size in bytes");
    pushChange(out, name, 'address', hex(sa.address), hex(sb.address), 'where the section is loaded: moves when an earlier section grows');
    pushChange(out, name, 'type', sa.type, sb.type, 'the section type');
    pushChange(out, name, 'flags', sa.flags, sb.flags, 'the section flags');
  }, { where: 'sections', records: 'the order of the sections in the file (from the first that differs)' }));
  return changes;
}

const hex = (n: number): string => `0x${n.toString(16)}`;
