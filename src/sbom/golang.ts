/**
 * Go: the modules an app vendors (vendor/modules.txt) or requires (go.mod), and those a Go binary was built
 * with (its embedded build information, below).
 */
import { type FoundPackage, purlOf } from "./package.js";

function goModule(path: string, version: string, foundIn: string): FoundPackage {
  const i = path.lastIndexOf("/");
  return {
    ecosystem: "golang",
    name: path,
    version,
    purl: purlOf(
      "golang",
      i > 0 ? path.slice(0, i) : undefined,
      i > 0 ? path.slice(i + 1) : path,
      version || undefined,
    ),
    foundIn,
  };
}

/** `# example.com/mod v1.2.3` lines; replaced modules (`=>`) are listed at the version they resolve to. */
export function parseVendorModules(text: string, foundIn: string): FoundPackage[] {
  const out: FoundPackage[] = [];
  for (const line of text.split("\n")) {
    const m = /^# (\S+) (v\S+)(?: => (\S+) (v\S+))?\s*$/.exec(line);
    if (m) out.push(goModule(m[3] ?? m[1]!, m[4] ?? m[2]!, foundIn));
  }
  return out;
}

export function parseGoMod(text: string, foundIn: string): FoundPackage[] {
  const out: FoundPackage[] = [];
  let inRequire = false;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\/\/.*$/, "").trim();
    if (/^require\s*\($/.test(line)) {
      inRequire = true;
      continue;
    }
    if (inRequire && line === ")") {
      inRequire = false;
      continue;
    }
    const m = (inRequire ? /^(\S+)\s+(v\S+)$/ : /^require\s+(\S+)\s+(v\S+)$/).exec(line);
    if (m) out.push(goModule(m[1]!, m[2]!, foundIn));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Build information of Go binaries: the linker writes a 32-byte header at the start of the `.go.buildinfo`
// section (16-byte aligned): the magic, the pointer size, flags, then either (Go 1.18+, flag 0x2) zero padding
// followed inline by the toolchain version and the module information as uvarint-length-prefixed strings, or
// (Go 1.13 to 1.17) two pointers to those strings elsewhere in the binary, followed below. Same format as Go's
// debug/buildinfo and runtime/debug.ParseBuildInfo.

export const GO_BUILDINFO_MAGIC = Buffer.from("\xff Go buildinf:", "latin1");
const HEADER_BYTES = 32;
const BUILDINFO_ALIGN = 16;
const FLAG_INLINE = 0x2;
/** cmd/go/internal/modload's infoStart and infoEnd, around the module information. */
const INFO_START = Buffer.from("3077af0c9274080241e1c107e6d618e6", "hex");
const INFO_END = Buffer.from("f932433186182072008242104116d8f2", "hex");
/** Bytes kept after the magic: terraform's build info, 249 modules, is 22 KB. */
export const GO_BUILDINFO_WINDOW = 128 * 1024;

export type GoBuildInfoFormat = "inline" | "pointers";

/** The format of the header at the start of `b`, or undefined when it is not one (the magic as plain data). */
export function goBuildInfoFormat(b: Buffer): GoBuildInfoFormat | undefined {
  if (b.length < HEADER_BYTES || !b.subarray(0, GO_BUILDINFO_MAGIC.length).equals(GO_BUILDINFO_MAGIC))
    return undefined;
  const ptr = b[14];
  const flags = b[15]!;
  if (ptr !== 4 && ptr !== 8) return undefined;
  if (flags & FLAG_INLINE) return b.subarray(16, HEADER_BYTES).every((x) => x === 0) ? "inline" : undefined;
  return flags <= 1 ? "pointers" : undefined;
}

const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------------------------------------------------
// Go 1.13 to 1.17 (flag 0x2 clear): at 16 and 16 + the pointer size, in the binary's byte order, the virtual
// addresses of two Go string headers (data pointer, length): runtime.buildVersion's ("go1.15.9") and
// runtime.modinfo's (the module information, framed by INFO_START and INFO_END as in the new format; empty in
// GOPATH mode). They are followed through the ELF program headers (PT_LOAD: vaddr, offset, filesz, memsz), as
// debug/buildinfo's elfExe.ReadData does; an address in a segment's zero-filled tail (.bss) reads as zeros,
// as the program sees it. Only ELF is followed: Hop3 searches ELF executables only (image-files.ts), and the
// header of a PE or Mach-O file given to this reader is noted as not read.
//
// The file is streamed once and not kept, but the strings lie on both sides of the header: cmd/link puts
// `.go.buildinfo` first in the data segment, the string headers after it (in .data or .noptrdata, or in .bss
// when the string is empty), and the strings' bytes before it, in .rodata. So the scanner keeps:
//  - the file's first 4 KiB (the ELF header and, as linkers lay them, the program headers; else those too),
//  - until the strings are in hand, the bytes from each "go1." or "devel " (a toolchain version may start
//    there) and from each INFO_START (module information starts there): a bounded number of each, for the
//    strings whose bytes stream by before the pointer to them is read (not searched for in the executable
//    segments of a file with a read-only segment apart, where linkers put the strings: the search costs
//    about as much as the magic's, ~0.5 ms per MB),
//  - the ranges that the header then leads to and that lie ahead, as they stream by.
// A string is read only from bytes kept at exactly the file offset its pointer leads to: what was kept
// because it looked like a version is used only when the pointers lead to it, never guessed from.
// Every address, length and count is bounded; a pointer leading outside the file's segments, a length past
// its segment or a cut file is a reason in a 'not read' note, never an exception or a large allocation.

/** File offsets beyond this (1 TiB) are a hostile file's, not a binary's. */
const MAX_FILE_OFFSET = 2 ** 40;
/** A program header table larger than this (over 1,000 entries) is not followed. */
const MAX_PHDR_BYTES = 64 * 1024;
const ELF_HEADER_BYTES = 64;
/** Kept from the start of the file: the ELF header and, in any binary of a linker's, the program headers. */
const FILE_HEAD_BYTES = 4096;
/** "go1.15.9", "devel +8a0fbd75a5 Thu Jan 1 00:00:00 2021 +0000": longer is not a toolchain version. */
const MAX_VERSION_BYTES = 128;
const VERSION_STARTS = [Buffer.from("go1."), Buffer.from("devel ")];
const MAX_VERSION_CANDIDATES = 256;
const MAX_MODINFO_CANDIDATES = 4;
/** Ranges followed after the header: program headers, two string headers, two strings, and room to spare. */
const MAX_WANTED = 16;
/** How far past the header a string header or a string is awaited (the data segment follows the header). */
const MAX_REACH = 64 * 1024 * 1024;
/** Bytes of a chunk's end kept to find a pattern cut by the next chunk: the longest pattern, less one. */
const EDGE_BYTES = 15;

/** Bytes of the file kept from `start` on: `filled` of them so far (they arrive in order). */
interface Kept {
  start: number;
  data: Buffer;
  filled: number;
}
/** The bytes at a file offset, or undefined when they were not kept. */
type ReadAt = (offset: number, length: number) => Buffer | undefined;
/** A file range not (yet) in hand. */
interface Need {
  offset: number;
  length: number;
  what: string;
}
type Got<T> = { value: T } | { need: Need } | { error: string };

interface Segment {
  /** PF_X 1, PF_W 2, PF_R 4. */
  flags: number;
  vaddr: bigint;
  offset: bigint;
  filesz: bigint;
  memsz: bigint;
}
interface Elf {
  is64: boolean;
  littleEndian: boolean;
  loads: Segment[];
}

/** Where following a pre-1.18 header ended. */
type Followed =
  | { error: string }
  | { version: string; mod: Buffer; modLength: number }
  | { version: string; modError: string };

const hex = (n: bigint | number) => `0x${n.toString(16)}`;

function readRange(read: ReadAt, offset: number, length: number, what: string): Got<Buffer> {
  const b = read(offset, length);
  return b ? { value: b } : { need: { offset, length, what } };
}

/** The ELF file's class, byte order and PT_LOAD segments. */
function elfOf(read: ReadAt): Got<Elf> {
  const h = readRange(read, 0, ELF_HEADER_BYTES, "the ELF header");
  if (!("value" in h)) return h;
  const e = h.value;
  if (e.readUInt32BE(0) !== 0x7f454c46) return { error: "not an ELF file (only ELF binaries are followed)" };
  const cls = e[4]!;
  const data = e[5]!;
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2))
    return { error: `an ELF file of unknown class ${cls} or byte order ${data}` };
  const is64 = cls === 2;
  const le = data === 1;
  const u16 = (b: Buffer, at: number) => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (b: Buffer, at: number) => BigInt(le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const u64 = (b: Buffer, at: number) => (le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at));
  const phoff = is64 ? u64(e, 0x20) : u32(e, 0x1c);
  const phentsize = u16(e, is64 ? 0x36 : 0x2a);
  const phnum = u16(e, is64 ? 0x38 : 0x2c);
  if (phnum === 0) return { error: "the ELF file has no program headers" };
  if (phentsize < (is64 ? 56 : 32) || phnum * phentsize > MAX_PHDR_BYTES)
    return {
      error: `its program header table (${phnum} entries of ${phentsize} bytes) is not one to follow`,
    };
  if (phoff > BigInt(MAX_FILE_OFFSET))
    return { error: `its program headers are at an impossible file offset (${hex(phoff)})` };
  const t = readRange(read, Number(phoff), phnum * phentsize, "the ELF program headers");
  if (!("value" in t)) return t;
  const loads: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = t.value.subarray(i * phentsize);
    if (u32(p, 0) !== 1n) continue; // PT_LOAD
    loads.push(
      is64
        ? {
            flags: Number(u32(p, 4)),
            offset: u64(p, 8),
            vaddr: u64(p, 16),
            filesz: u64(p, 32),
            memsz: u64(p, 40),
          }
        : {
            flags: Number(u32(p, 24)),
            offset: u32(p, 4),
            vaddr: u32(p, 8),
            filesz: u32(p, 16),
            memsz: u32(p, 20),
          },
    );
  }
  if (!loads.length) return { error: "the ELF file has no loadable segment" };
  return { value: { is64, littleEndian: le, loads } };
}

/**
 * Where `length` bytes at virtual address `addr` are: at a file offset (all in a segment's file bytes) or
 * zeros (all in the segment's tail past its file bytes, .bss), in the first PT_LOAD segment holding `addr`.
 */
function locate(
  elf: Elf,
  addr: bigint,
  length: bigint,
  what: string,
): { offset: number } | { zero: true } | { error: string } {
  for (const s of elf.loads) {
    // biome-ignore lint/complexity/useMathMinMax: bigints, which Math.max does not take
    const size = s.memsz > s.filesz ? s.memsz : s.filesz;
    if (addr < s.vaddr || addr - s.vaddr >= size) continue;
    const rel = addr - s.vaddr;
    if (rel + length <= s.filesz) {
      const offset = s.offset + rel;
      if (offset + length > BigInt(MAX_FILE_OFFSET))
        return { error: `${what} (at ${hex(addr)}) is at an impossible file offset (${hex(offset)})` };
      return { offset: Number(offset) };
    }
    if (rel >= s.filesz && rel + length <= size) return { zero: true };
    return { error: `${what} (${length} bytes at ${hex(addr)}) runs past the end of its segment` };
  }
  return { error: `${what} (at ${hex(addr)}) is outside every loaded segment` };
}

/**
 * The Go string whose header (data pointer, length) is at `addr`: up to `max` of its bytes (the version's
 * over `max` is an error, the module information's is cut) and its full length.
 */
function goString(
  elf: Elf,
  read: ReadAt,
  ptr: (b: Buffer, at: number) => bigint,
  ptrSize: number,
  addr: bigint,
  what: string,
  max: number,
  cut: boolean,
): Got<{ bytes: Buffer; length: number }> {
  const where = locate(elf, addr, BigInt(2 * ptrSize), `${what}'s string header`);
  if ("error" in where) return where;
  let header: Buffer;
  if ("zero" in where) header = Buffer.alloc(2 * ptrSize);
  else {
    const h = readRange(read, where.offset, 2 * ptrSize, `${what}'s string header`);
    if (!("value" in h)) return h;
    header = h.value;
  }
  const data = ptr(header, 0);
  const length = ptr(header, ptrSize);
  if (length === 0n) return { value: { bytes: EMPTY, length: 0 } };
  if (!cut && length > BigInt(max)) return { error: `${what} is said to be ${length} bytes long` };
  const at = locate(elf, data, length, what);
  if ("error" in at) return at;
  if ("zero" in at) return { error: `${what} (at ${hex(data)}) is in zero-filled memory` };
  const n = length > BigInt(max) ? max : Number(length);
  const b = readRange(read, at.offset, n, what);
  if (!("value" in b)) return b;
  return { value: { bytes: b.value, length: Number(length) } };
}

/**
 * Follows a pre-1.18 header (undefined: not found yet, only the ELF headers are asked for) through the bytes
 * `read` has: the ranges it still needs, or where it ended.
 */
function followPointers(
  header: Buffer | undefined,
  read: ReadAt,
  window: number,
): { needs: Need[]; result?: Followed } {
  const elf = elfOf(read);
  if ("need" in elf) return { needs: [elf.need] };
  if (!header) return { needs: [] };
  if ("error" in elf) return { needs: [], result: elf };
  const ptrSize = header[14]!;
  const big = (header[15]! & 1) === 1;
  const { is64, littleEndian } = elf.value;
  if (is64 !== (ptrSize === 8))
    return {
      needs: [],
      result: { error: `its header has ${ptrSize}-byte pointers, the ELF file is ${is64 ? 64 : 32}-bit` },
    };
  if (littleEndian === big)
    return {
      needs: [],
      result: {
        error: `its header says ${big ? "big" : "little"}-endian, the ELF file is ${littleEndian ? "little" : "big"}-endian`,
      },
    };
  const ptr = (b: Buffer, at: number): bigint =>
    ptrSize === 8
      ? big
        ? b.readBigUInt64BE(at)
        : b.readBigUInt64LE(at)
      : BigInt(big ? b.readUInt32BE(at) : b.readUInt32LE(at));
  const follow = (at: number, what: string, max: number, cut: boolean) =>
    goString(elf.value, read, ptr, ptrSize, ptr(header, at), what, max, cut);
  const v = follow(16, "the Go version", MAX_VERSION_BYTES, false);
  if ("error" in v) return { needs: [], result: v };
  const m = follow(16 + ptrSize, "the module information", window, true);
  const needs = [v, m].flatMap((g) => ("need" in g ? [g.need] : []));
  if (needs.length || !("value" in v)) return { needs };
  const version = v.value.bytes.toString("latin1");
  if (!version) return { needs: [], result: { error: "its Go version is empty" } };
  if (!/^[\x20-\x7e]+$/.test(version))
    return { needs: [], result: { error: `its Go version is not text (${v.value.bytes.length} bytes)` } };
  if ("error" in m) return { needs: [], result: { version, modError: m.error } };
  if (!("value" in m)) return { needs };
  return { needs: [], result: { version, mod: m.value.bytes, modLength: m.value.length } };
}

function uvarintBytes(n: number): Buffer {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Buffer.from(out);
}
const lengthPrefixed = (b: Buffer | string) => {
  const bytes = typeof b === "string" ? Buffer.from(b) : b;
  return Buffer.concat([uvarintBytes(bytes.length), bytes]);
};

/**
 * What follows a pre-1.18 header in GoBuildInfoScanner.bytes: one byte, then
 * - 1: the version and the module information as in the inline format (uvarint length, bytes; the
 *   module information's length is its full one, its bytes are cut at the window as an inline one's),
 * - 2: the version, then why the module information was not read,
 * - 0: why nothing was read.
 */
const FOLLOWED_READ = 1;
const FOLLOWED_VERSION_ONLY = 2;
const FOLLOWED_NOT_READ = 0;

function followedBytes(f: Followed): Buffer {
  if ("error" in f) return Buffer.concat([Buffer.from([FOLLOWED_NOT_READ]), lengthPrefixed(f.error)]);
  if ("modError" in f)
    return Buffer.concat([
      Buffer.from([FOLLOWED_VERSION_ONLY]),
      lengthPrefixed(f.version),
      lengthPrefixed(f.modError),
    ]);
  return Buffer.concat([
    Buffer.from([FOLLOWED_READ]),
    lengthPrefixed(f.version),
    uvarintBytes(f.modLength),
    f.mod,
  ]);
}

/**
 * Finds a binary's build-info header in its bytes, pushed in order and in any chunks, without keeping them:
 * only the magic at a 16-byte-aligned file offset counts (as in debug/buildinfo), and what follows an inline
 * header is kept up to `window` bytes. A header in the old format is remembered and the search goes on, since
 * the magic can also occur as plain data (a binary that links debug/buildinfo has it in its read-only data);
 * the strings it points to are read from the few ranges kept for it (above) when the input ends (`end()`).
 */
export class GoBuildInfoScanner {
  /** File offset of the next byte pushed. */
  private offset = 0;
  /** The last bytes pushed when they may begin a header (a header split between chunks). */
  private carry: Buffer = EMPTY;
  private parts: Buffer[] | undefined;
  private got = 0;
  /** Pre-1.18: the header, its file offset, the ranges followed and the candidates kept before it. */
  private header: Buffer | undefined;
  private headerAt = -1;
  private wanted: Kept[] = [{ start: 0, data: Buffer.alloc(FILE_HEAD_BYTES), filled: 0 }];
  private candidates: Kept[] = [];
  private versionCandidates = 0;
  private modCandidates = 0;
  /** The last bytes pushed, for a candidate's pattern cut between chunks. */
  private edge: Buffer = EMPTY;
  /** The pre-1.18 header's strings are in hand (or cannot be): no more candidates. */
  private settled = false;
  /** File ranges of the executable segments not searched for candidates, and of the others (elfOf). */
  private code: { code: [number, number][]; other: [number, number][] } | undefined;
  found: GoBuildInfoFormat | undefined;
  /**
   * From the magic on: up to `window` bytes (inline); the 32-byte header (pointers), followed after `end()`
   * by what was read through its pointers (followedBytes).
   */
  bytes: Buffer | undefined;
  constructor(private readonly window = GO_BUILDINFO_WINDOW) {}

  /** True while the bytes after an inline header, or ranges a pre-1.18 header leads to, are being kept. */
  get capturing(): boolean {
    return (
      this.parts !== undefined ||
      (this.found === "pointers" && this.wanted.some((k) => k.filled < k.data.length))
    );
  }
  /** True when an inline header and its window are in hand: later bytes are not needed. */
  get done(): boolean {
    return this.found === "inline" && this.parts === undefined;
  }

  push(chunk: Buffer): void {
    if (this.done) return;
    if (this.parts) {
      const take = chunk.subarray(0, this.window - this.got);
      this.parts.push(Buffer.from(take));
      this.got += take.length;
      this.offset += chunk.length;
      if (this.got >= this.window) this.end();
      return;
    }
    const at = this.offset;
    let grew = this.keep(chunk, at);
    const before = this.found;
    this.search(chunk);
    if (this.found === "pointers" && before !== "pointers") grew = true;
    if (grew && this.found !== "inline") this.plan(chunk, at);
  }

  private search(chunk: Buffer): void {
    const base = this.offset - this.carry.length;
    const buf = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    this.offset += chunk.length;
    this.carry = EMPTY;
    let from = 0;
    for (;;) {
      const i = buf.indexOf(GO_BUILDINFO_MAGIC, from);
      if (i < 0) break;
      from = i + 1;
      if ((base + i) % BUILDINFO_ALIGN !== 0) continue;
      if (i + HEADER_BYTES > buf.length) {
        this.carry = Buffer.from(buf.subarray(i));
        return;
      }
      const format = goBuildInfoFormat(buf.subarray(i, i + HEADER_BYTES));
      if (format === "inline") {
        const first = Buffer.from(buf.subarray(i, i + this.window));
        this.found = "inline";
        this.parts = [first];
        this.got = first.length;
        this.wanted = [];
        this.candidates = [];
        if (this.got >= this.window) this.end();
        return;
      }
      if (format === "pointers" && !this.found) {
        this.found = "pointers";
        this.header = Buffer.from(buf.subarray(i, i + HEADER_BYTES));
        this.headerAt = base + i;
        this.bytes = this.header;
      }
    }
    // a magic cut by the chunk's end: keep from the first aligned position that starts like it
    for (let p = Math.max(from, buf.length - GO_BUILDINFO_MAGIC.length + 1); p < buf.length; p++) {
      if ((base + p) % BUILDINFO_ALIGN !== 0) continue;
      const tail = buf.subarray(p);
      if (tail.equals(GO_BUILDINFO_MAGIC.subarray(0, tail.length))) {
        this.carry = Buffer.from(tail);
        return;
      }
    }
  }

  /** Copies what `k` lacks from `bytes` (at file offset `at`): true when that completed it. */
  private static fill(k: Kept, bytes: Buffer, at: number): boolean {
    const from = k.start + k.filled;
    if (k.filled === k.data.length || at > from || at + bytes.length <= from) return false;
    const n = Math.min(k.start + k.data.length, at + bytes.length) - from;
    bytes.copy(k.data, k.filled, from - at, from - at + n);
    k.filled += n;
    return k.filled === k.data.length;
  }

  /** The chunk's part of every kept range, and new candidates. True when a wanted range completed. */
  private keep(chunk: Buffer, at: number): boolean {
    let completed = false;
    for (const k of this.wanted) if (GoBuildInfoScanner.fill(k, chunk, at)) completed = true;
    for (const k of this.candidates) GoBuildInfoScanner.fill(k, chunk, at);
    if (!this.settled && !this.inCode(at, chunk.length)) this.collect(chunk, at);
    const last = chunk.length >= EDGE_BYTES ? chunk : Buffer.concat([this.edge, chunk]);
    this.edge = Buffer.from(last.subarray(Math.max(0, last.length - EDGE_BYTES)));
    return completed;
  }

  /**
   * True when the chunk is all in executable segments' file bytes and in no other segment's, in a file that
   * has a read-only segment apart (where cmd/link, or the host linker, puts the strings): not searched.
   */
  private inCode(at: number, length: number): boolean {
    if (!this.code) {
      const elf = elfOf(this.readKept);
      if ("need" in elf) return false; // not yet
      if ("error" in elf) this.code = { code: [], other: [] };
      if (!("value" in elf)) return false;
      const range = (s: Segment): [number, number] =>
        s.offset + s.filesz > BigInt(MAX_FILE_OFFSET)
          ? [0, 0]
          : [Number(s.offset), Number(s.offset + s.filesz)];
      const readOnly = elf.value.loads.some((s) => (s.flags & 3) === 0 && s.filesz > 0n);
      this.code = { code: [], other: [] };
      for (const s of elf.value.loads)
        (readOnly && s.flags & 1 ? this.code.code : this.code.other).push(range(s));
    }
    const end = at + length;
    return (
      this.code.code.some(([a, b]) => a <= at && end <= b) &&
      !this.code.other.some(([a, b]) => a < end && at < b)
    );
  }

  /** New candidates from the chunk (at file offset `at`), and those that began in the previous chunk. */
  private collect(chunk: Buffer, at: number): void {
    const edge = this.edge;
    const across = edge.length ? Buffer.concat([edge, chunk.subarray(0, EDGE_BYTES)]) : EMPTY;
    const kinds: [Buffer, boolean][] = [
      ...VERSION_STARTS.map((p): [Buffer, boolean] => [p, false]),
      [INFO_START, true],
    ];
    for (const [pattern, mod] of kinds) {
      const take = (start: number): boolean => {
        if (
          mod
            ? this.modCandidates >= MAX_MODINFO_CANDIDATES
            : this.versionCandidates >= MAX_VERSION_CANDIDATES
        )
          return false;
        if (mod) this.modCandidates++;
        else this.versionCandidates++;
        const k: Kept = { start, data: Buffer.alloc(mod ? this.window : MAX_VERSION_BYTES), filled: 0 };
        GoBuildInfoScanner.fill(k, edge, at - edge.length);
        GoBuildInfoScanner.fill(k, chunk, at);
        this.candidates.push(k);
        return true;
      };
      // a pattern that began in the previous chunk's last bytes and ends in this one
      for (let i = across.indexOf(pattern); i >= 0 && i < edge.length; i = across.indexOf(pattern, i + 1))
        if (i + pattern.length > edge.length && !take(at - edge.length + i)) break;
      for (let i = chunk.indexOf(pattern); i >= 0; i = chunk.indexOf(pattern, i + 1))
        if (!take(at + i)) break;
    }
  }

  private readonly readKept: ReadAt = (offset, length) => {
    for (const k of [...this.wanted, ...this.candidates])
      if (k.start <= offset && offset + length <= k.start + k.filled)
        return k.data.subarray(offset - k.start, offset - k.start + length);
    return undefined;
  };

  /** Keeps the ranges the ELF headers and a pre-1.18 header lead to, from this chunk (at `at`) on. */
  private plan(chunk: Buffer, at: number): void {
    // a range completed from this chunk can lead to another in it: a few rounds (there are 3 steps at most)
    for (let round = 0; round < 4; round++) {
      const { needs, result } = followPointers(this.header, this.readKept, this.window);
      if (result) this.settled = true;
      let completed = false;
      for (const n of needs) {
        if (n.offset < at || this.wanted.length >= MAX_WANTED) continue; // gone by: said at the end
        if (this.header && n.offset > this.headerAt + MAX_REACH) continue;
        if (this.wanted.some((k) => k.start === n.offset && k.data.length >= n.length)) continue;
        const k: Kept = { start: n.offset, data: Buffer.alloc(n.length), filled: 0 };
        this.wanted.push(k);
        if (GoBuildInfoScanner.fill(k, chunk, at)) completed = true;
      }
      if (!completed) return;
    }
  }

  /** Why a range needed at the end is not in hand. */
  private missing(n: Need): string {
    const why =
      n.offset + n.length > this.offset
        ? `beyond the ${this.offset} bytes read`
        : n.offset < this.headerAt
          ? "before the build-info header, and not kept"
          : n.offset > this.headerAt + MAX_REACH
            ? `more than ${MAX_REACH} bytes past the build-info header`
            : "not kept";
    return `${n.what} (${n.length} bytes at file offset ${hex(n.offset)}) is ${why}`;
  }

  /**
   * The input's end (or enough of it): an inline header's window is closed, cut to what it holds; a
   * pre-1.18 header's pointers are followed through the bytes kept for them.
   */
  end(): void {
    if (this.parts) {
      const all = Buffer.concat(this.parts);
      this.parts = undefined;
      const n = inlineLength(all);
      this.bytes = n !== undefined && n < all.length ? Buffer.from(all.subarray(0, n)) : all;
      return;
    }
    if (this.found === "pointers" && this.header && this.bytes === this.header) {
      const { needs, result } = followPointers(this.header, this.readKept, this.window);
      const followed = result ?? { error: needs.length ? this.missing(needs[0]!) : "nothing to follow" };
      this.bytes = Buffer.concat([this.header, followedBytes(followed)]);
    }
    this.wanted = [];
    this.candidates = [];
  }
}

/** A uvarint at `at`: its value and the offset after it, or undefined when cut short. */
function uvarint(b: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < b.length && i < at + 10; i++) {
    const c = b[i]!;
    value += (c & 0x7f) * scale;
    if (c < 0x80) return { value, next: i + 1 };
    scale *= 128;
  }
  return undefined;
}

/** Length of header + version + module information, when the bytes hold the two lengths. */
function inlineLength(b: Buffer): number | undefined {
  const v = uvarint(b, HEADER_BYTES);
  if (!v) return undefined;
  const m = uvarint(b, v.next + v.value);
  return m ? m.next + m.value : undefined;
}

export interface GoModule {
  path: string;
  version: string;
  sum?: string;
  replace?: GoModule;
}

export interface GoBuildInfo {
  format: GoBuildInfoFormat;
  /** The toolchain's version, as the binary has it: go1.22.3, go1.21rc2, `devel ...`. */
  goVersion?: string;
  /** The main package's import path. */
  path?: string;
  main?: GoModule;
  deps: GoModule[];
  settings: [string, string][];
  /** The module information went beyond the bytes kept: only its complete lines were read. */
  truncated: boolean;
  /** Pre-1.18: why the build information could not be read through its pointers. */
  unread?: string;
  /** Pre-1.18: why the module information could not be read (the version was). */
  modulesUnread?: string;
}

/** A length-prefixed string at `at` (in bytes the scanner wrote, so never cut short but by a bug). */
function prefixedString(b: Buffer, at: number): { value: string; next: number } {
  const n = uvarint(b, at);
  if (!n || n.next + n.value > b.length) throw new Error("the build information is cut short");
  return { value: b.subarray(n.next, n.next + n.value).toString("utf8"), next: n.next + n.value };
}

/**
 * What GoBuildInfoScanner kept (the header on): the version and modules, as runtime/debug.ParseBuildInfo;
 * for a pre-1.18 header, what its pointers led to (or why they could not be followed).
 */
export function parseGoBuildInfo(b: Buffer): GoBuildInfo {
  const format = goBuildInfoFormat(b);
  if (!format) throw new Error("not a Go build-info header");
  const info: GoBuildInfo = { format, deps: [], settings: [], truncated: false };
  if (format === "inline") return readVersionAndModules(b, HEADER_BYTES, info);
  const status = b[HEADER_BYTES];
  if (status === FOLLOWED_READ) return readVersionAndModules(b, HEADER_BYTES + 1, info);
  if (status === FOLLOWED_VERSION_ONLY) {
    const v = prefixedString(b, HEADER_BYTES + 1);
    info.goVersion = v.value;
    info.modulesUnread = prefixedString(b, v.next).value;
  } else
    info.unread =
      status === FOLLOWED_NOT_READ
        ? prefixedString(b, HEADER_BYTES + 1).value
        : "its pointers were not followed";
  return info;
}

/** The version and the module information as uvarint-length-prefixed strings at `at`. */
function readVersionAndModules(b: Buffer, at: number, info: GoBuildInfo): GoBuildInfo {
  const v = uvarint(b, at);
  if (!v || v.next + v.value > b.length) throw new Error("the Go version is cut short");
  info.goVersion = b.subarray(v.next, v.next + v.value).toString("utf8");
  const m = uvarint(b, v.next + v.value);
  if (!m) throw new Error("the module information is cut short");
  let mod = b.subarray(m.next, m.next + m.value);
  info.truncated = m.next + m.value > b.length;
  if (info.truncated) {
    // keep the complete lines; the end sentinel is gone
    mod = mod.subarray(0, mod.lastIndexOf(0x0a) + 1);
    mod = mod.subarray(0, 16).equals(INFO_START) ? mod.subarray(16) : EMPTY;
  } else if (
    mod.length >= 33 &&
    mod[mod.length - 17] === 0x0a &&
    mod.subarray(0, 16).equals(INFO_START) &&
    mod.subarray(mod.length - 16).equals(INFO_END)
  ) {
    mod = mod.subarray(16, mod.length - 16);
  } else mod = EMPTY; // no module information (GOPATH mode, as Debian builds its Go packages)
  let last: GoModule | undefined;
  const moduleOf = (cols: string[], line: string): GoModule => {
    if (cols.length < 2 || cols.length > 3 || !cols[0])
      throw new Error(`bad module line: ${line.slice(0, 100)}`);
    return { path: cols[0], version: cols[1]!, ...(cols[2] ? { sum: cols[2] } : {}) };
  };
  for (const line of mod.toString("utf8").split("\n")) {
    const tab = line.indexOf("\t");
    if (tab < 0) continue;
    const key = line.slice(0, tab);
    const cols = line.slice(tab + 1).split("\t");
    if (key === "path") info.path = line.slice(tab + 1);
    else if (key === "mod") last = info.main = moduleOf(cols, line);
    else if (key === "dep") {
      last = moduleOf(cols, line);
      info.deps.push(last);
    } else if (key === "=>") {
      if (cols.length !== 3 || !last) throw new Error(`bad replacement line: ${line.slice(0, 100)}`);
      last.replace = { path: cols[0]!, version: cols[1]!, ...(cols[2] ? { sum: cols[2] } : {}) };
      last = undefined;
    } else if (key === "build") {
      const eq = line.indexOf("=", tab + 1);
      if (eq > 0) info.settings.push([line.slice(tab + 1, eq), line.slice(eq + 1)]);
    }
  }
  return info;
}

/**
 * go1.22.3 -> 1.22.3, go1.20 -> 1.20.0, go1.21rc2 -> 1.21.0-rc.2 (as x/vuln's GoTagToSemver, without its
 * `v`); undefined for a development toolchain. OSV's Go ecosystem lists the standard library as the package
 * `stdlib` with SEMVER ranges written without a `v` ("fixed": "1.21.11"), and Syft's and osv-scanner's
 * `pkg:golang/stdlib@1.22.3` agree; Hop3's comparator reads both spellings.
 */
export function stdlibVersion(goVersion: string): string | undefined {
  const m = /^go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?(?=$|[\s+-])/.exec(goVersion);
  if (!m) return undefined;
  return `${m[1]}.${m[2]}.${m[3] ?? "0"}${m[4] ? `-${m[4]}.${m[5]}` : ""}`;
}

/** A binary's build information as packages (main module, dependencies, standard library) and notes. */
export function goBinaryPackages(
  info: GoBuildInfo,
  binary: string,
): { packages: FoundPackage[]; notes: string[] } {
  if (info.format === "pointers" && info.goVersion === undefined)
    return {
      packages: [],
      notes: [
        `Go binary ${binary}: build info in the pre-1.18 format, not read: ${info.unread ?? "its pointers were not followed"}`,
      ],
    };
  const packages: FoundPackage[] = [];
  const notes: string[] = [];
  const add = (m: GoModule, main: boolean) => {
    const r = m.replace;
    const props: Record<string, string> = main ? { "hop3:go:module": "main" } : {};
    let pkg: FoundPackage;
    if (r?.version) {
      pkg = goModule(r.path, r.version, binary);
      props["hop3:go:replaces"] = `${m.path}@${m.version}`;
    } else {
      // a real version, or (devel) for a main module built from its checkout (no version in the purl)
      pkg = /^v\d/.test(m.version)
        ? goModule(m.path, m.version, binary)
        : { ...goModule(m.path, "", binary), version: m.version };
      if (r) props["hop3:go:replaced-by"] = r.path; // a local directory: its code, not the module's
    }
    if (Object.keys(props).length) pkg.properties = props;
    packages.push(pkg);
  };
  if (info.main) add(info.main, true);
  for (const d of info.deps) add(d, false);
  const std = info.goVersion ? stdlibVersion(info.goVersion) : undefined;
  if (std)
    packages.push({
      ...goModule("stdlib", std, binary),
      properties: { "hop3:go:toolchain": info.goVersion! },
    });
  else
    notes.push(
      `Go binary ${binary}: built by a Go toolchain whose version is not a release (${(info.goVersion ?? "none").slice(0, 80)}): its standard library version is unknown`,
    );
  if (info.modulesUnread)
    notes.push(
      `Go binary ${binary}: module information in the pre-1.18 format, not read: ${info.modulesUnread}: only its Go version is known`,
    );
  // the Go distribution's own tools (cmd/go, cmd/compile...) are built from the standard library's tree
  else if (!info.main && !info.path?.startsWith("cmd/"))
    notes.push(
      `Go binary ${binary}${info.path ? ` (${info.path})` : ""}: built without module information (GOPATH mode, as Debian builds its Go packages): only its Go version is known`,
    );
  if (info.truncated)
    notes.push(
      `Go binary ${binary}: its build info is longer than the ${GO_BUILDINFO_WINDOW} bytes read: only part of its modules are listed`,
    );
  return { packages, notes };
}
