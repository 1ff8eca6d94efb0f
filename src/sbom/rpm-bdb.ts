/**
 * RPM's package database in its BerkeleyDB form (rpm < 4.16: RHEL/CentOS 7 and 8, AlmaLinux/Rocky 8, Amazon
 * Linux 2): `/var/lib/rpm/Packages`, a Berkeley DB hash database whose keys are 4-byte package numbers and
 * whose values are header blobs (rpm.ts). Read as libdb lays it out (dbinc/db_page.h), without libdb:
 *
 *   page 0, the hash metadata: magic 0x061561 at 12 (its byte order is the file's), page size at 20,
 *   encryption at 24, page type 8 at 25, flags at 26 (1: pages carry a checksum), last page number at 32;
 *   every other page starts with a 26-byte header (next page at 16, entry count at 20, "high free offset" at
 *   22, type at 25), then 6 checksum bytes when the flag is set, then the entries' in-page offsets (2 bytes
 *   each). Hash pages (type 13, or 2 before libdb 4) hold key/value pairs of items: type 1 is data on the
 *   page (its length is up to the previous item's offset), type 3 points to a chain of overflow pages (type
 *   7, each holding "high free offset" bytes, chained by next page) with the value's total length.
 *
 * The file is the image's, so hostile: every page number, offset, length and count is checked against the
 * file, every page is read at most once as a hash page and at most once as an overflow page (a chain that
 * loops or meets another chain ends that value), so the work is bounded by the file's size.
 */
import type { RpmRecord } from "./rpm.js";

const HASH_MAGIC = 0x061561;
const BTREE_MAGIC = 0x053162;
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASHMETA = 8;
const P_HASH = 13;
const H_KEYDATA = 1;
const H_DUPLICATE = 2;
const H_OFFPAGE = 3;
const H_OFFDUP = 4;
const PAGE_HEADER = 26;
const CHECKSUM_BYTES = 6;
const DBMETA_CHKSUM = 1;

interface Reader {
  u16(at: number): number;
  u32(at: number): number;
}

function readerOf(bytes: Buffer, bigEndian: boolean): Reader {
  return bigEndian
    ? { u16: (at) => bytes.readUInt16BE(at), u32: (at) => bytes.readUInt32BE(at) }
    : { u16: (at) => bytes.readUInt16LE(at), u32: (at) => bytes.readUInt32LE(at) };
}

interface Layout {
  bytes: Buffer;
  r: Reader;
  pageSize: number;
  /** Pages present in the file (the metadata's last page number may claim more). */
  pages: number;
  /** Where a page's entries (hash) or data (overflow) start. */
  overhead: number;
}

/** The metadata page to the layout; throws on a file that is not a readable Berkeley DB hash database. */
function layoutOf(bytes: Buffer, notes: string[]): Layout {
  if (bytes.length < 512) throw new Error(`a ${bytes.length}-byte file is shorter than one Berkeley DB page`);
  const le = bytes.readUInt32LE(12);
  const be = bytes.readUInt32BE(12);
  if (le !== HASH_MAGIC && be !== HASH_MAGIC)
    throw new Error(
      le === BTREE_MAGIC || be === BTREE_MAGIC
        ? "a Berkeley DB btree, not the hash database rpm writes"
        : "not a Berkeley DB hash database (no hash magic)",
    );
  const r = readerOf(bytes, be === HASH_MAGIC);
  const pageSize = r.u32(20);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0)
    throw new Error(`page size ${pageSize} is not one Berkeley DB uses`);
  if (bytes[24] !== 0) throw new Error("the database is encrypted");
  if (bytes[25] !== P_HASHMETA) throw new Error(`page 0 is of type ${bytes[25]}, not hash metadata`);
  const inFile = Math.floor(bytes.length / pageSize);
  if (inFile < 1) throw new Error(`a ${bytes.length}-byte file is shorter than its ${pageSize}-byte page`);
  const claimed = r.u32(32) + 1;
  if (claimed > inFile)
    notes.push(`the file has ${inFile} of its ${claimed} pages (truncated): the pages missing were not read`);
  return {
    bytes,
    r,
    pageSize,
    pages: Math.min(claimed, inFile),
    overhead: PAGE_HEADER + (bytes[26]! & DBMETA_CHKSUM ? CHECKSUM_BYTES : 0),
  };
}

/**
 * The value an off-page item points to: its overflow chain, concatenated. `used` holds the overflow pages
 * already read (by any chain): meeting one again means a loop or two values sharing pages, both malformed.
 */
function overflowValue(
  l: Layout,
  first: number,
  total: number,
  maxBytes: number,
  used: Set<number>,
): Buffer | string {
  if (total > maxBytes) return `a ${total}-byte value, over the ${maxBytes}-byte limit`;
  const parts: Buffer[] = [];
  let got = 0;
  for (let pgno = first; pgno !== 0; ) {
    if (pgno >= l.pages) return `overflow page ${pgno} is beyond the file's ${l.pages} pages`;
    if (used.has(pgno)) return `overflow page ${pgno} is reached twice (a loop, or chains sharing pages)`;
    used.add(pgno);
    const at = pgno * l.pageSize;
    if (l.bytes[at + 25] !== P_OVERFLOW) return `page ${pgno} is not an overflow page`;
    const len = l.r.u16(at + 22);
    if (l.overhead + len > l.pageSize) return `overflow page ${pgno} claims ${len} bytes`;
    got += len;
    if (got > total) return `the overflow chain holds more than the value's ${total} bytes`;
    parts.push(l.bytes.subarray(at + l.overhead, at + l.overhead + len));
    pgno = l.r.u32(at + 16);
  }
  if (got !== total) return `the overflow chain holds ${got} of the value's ${total} bytes`;
  return Buffer.concat(parts, total);
}

/**
 * The values of a BerkeleyDB hash `Packages` file, one record each (a malformed one says why), in page
 * order. rpm's key 0 holds its next package number, not a header: it is left out. Throws when the file is
 * not a Berkeley DB hash database at all; `notes` gets what concerns the whole file.
 */
export function* bdbPackagesRecords(
  bytes: Buffer,
  maxValueBytes: number,
  notes: string[],
): Generator<RpmRecord> {
  const l = layoutOf(bytes, notes);
  const used = new Set<number>();
  for (let pgno = 1; pgno < l.pages; pgno++) {
    const at = pgno * l.pageSize;
    const type = bytes[at + 25];
    if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
    const entries = l.r.u16(at + 20);
    const inpEnd = l.overhead + entries * 2;
    if (inpEnd > l.pageSize) {
      yield { problem: `hash page ${pgno} claims ${entries} entries, more than fit in the page` };
      continue;
    }
    if (entries % 2 !== 0) yield { problem: `hash page ${pgno} has an odd number of entries (${entries})` };
    const offsets: number[] = [];
    for (let i = 0; i < entries; i++) offsets.push(l.r.u16(at + l.overhead + i * 2));
    /** Item i of the page: where it starts in the file (its type byte) and its length, or why it cannot be. */
    const item = (i: number): { start: number; len: number } | string => {
      const start = offsets[i]!;
      const end = i === 0 ? l.pageSize : offsets[i - 1]!;
      if (start < inpEnd || start >= end || end > l.pageSize)
        return `hash page ${pgno}: item ${i} at ${start}..${end} is outside the page's items`;
      return { start: at + start, len: end - start };
    };
    for (let i = 0; i + 1 < entries; i += 2) {
      const key = item(i);
      const value = item(i + 1);
      if (typeof key === "string" || typeof value === "string") {
        yield { problem: typeof key === "string" ? key : (value as string) };
        continue;
      }
      const keyNumber = bytes[key.start] === H_KEYDATA && key.len === 5 ? l.r.u32(key.start + 1) : undefined;
      const type = bytes[value.start];
      if (type === H_KEYDATA) {
        const data = bytes.subarray(value.start + 1, value.start + value.len);
        if (keyNumber === 0 && data.length <= 8) continue; // rpm's next package number
        yield { blob: data };
      } else if (type === H_OFFPAGE) {
        if (value.len < 12) {
          yield { problem: `hash page ${pgno}: a ${value.len}-byte off-page item` };
          continue;
        }
        const v = overflowValue(l, l.r.u32(value.start + 4), l.r.u32(value.start + 8), maxValueBytes, used);
        yield typeof v === "string" ? { problem: `hash page ${pgno}: ${v}` } : { blob: v };
      } else if (type === H_DUPLICATE || type === H_OFFDUP) {
        yield { problem: `hash page ${pgno}: duplicate values, which rpm does not write` };
      } else yield { problem: `hash page ${pgno}: an item of unknown type ${type}` };
    }
  }
}
