/**
 * RPM's package database in its NDB form (openSUSE, SUSE Linux Enterprise 15, whose rpm has no SQLite
 * backend): `/usr/lib/sysimage/rpm/Packages.db`, rpm's own format (lib/backend/ndb/rpmpkg.c), all little-endian:
 *
 *   a 32-byte header ("RpmP", version 0, generation, number of 4096-byte slot pages, next package index),
 *   then the rest of the slot pages: 16-byte slots ("Slot", package index, offset and length of its blob in
 *   16-byte blocks; offset 0: a free slot). A blob is a 16-byte head ("BlbS", package index, generation,
 *   length), the header blob (rpm.ts), zero padding to the block, and a 12-byte tail (Adler-32, length,
 *   "BlbE").
 *
 * The file is the image's, so hostile: the slot pages must be in the file, each slot's blocks must lie after
 * them and inside the file, and its blob's head and tail must agree with the slot; a slot that does not is a
 * record saying why. The checksum is not verified (rpm does not either when it reads a package).
 */
import type { RpmRecord } from "./rpm.js";

const MAGIC = 0x506d7052; // "RpmP"
const SLOT_MAGIC = 0x746f6c53; // "Slot"
const BLOB_MAGIC = 0x53626c42; // "BlbS"
const BLOB_TAIL_MAGIC = 0x45626c42; // "BlbE"
const HEADER_SIZE = 32;
const PAGE_SIZE = 4096;
const SLOT_SIZE = 16;
const BLK_SIZE = 16;
const BLOB_HEAD = 16;
const BLOB_TAIL = 12;

/** What is wrong with a slot's blob (its blocks are in the file), or its length when nothing is. */
function blobProblem(
  bytes: Buffer,
  pkgidx: number,
  blkoff: number,
  blkcnt: number,
  maxBlobBytes: number,
): string | { len: number } {
  const start = blkoff * BLK_SIZE;
  const end = (blkoff + blkcnt) * BLK_SIZE;
  if (bytes.readUInt32LE(start) !== BLOB_MAGIC) return 'no "BlbS" magic';
  const owner = bytes.readUInt32LE(start + 4);
  if (owner !== pkgidx) return `it is package ${owner}'s`;
  const len = bytes.readUInt32LE(start + 12);
  if (len > maxBlobBytes) return `${len} bytes, over the ${maxBlobBytes}-byte limit`;
  // rpm's own check: the blocks hold exactly head, blob and tail, padded to a block
  if (Math.ceil((BLOB_HEAD + len + BLOB_TAIL) / BLK_SIZE) !== blkcnt)
    return `${len} bytes do not fill its ${blkcnt} blocks`;
  if (bytes.readUInt32LE(end - 8) !== len || bytes.readUInt32LE(end - 4) !== BLOB_TAIL_MAGIC)
    return "its tail does not match its head";
  return { len };
}

/**
 * The header blobs of an NDB `Packages.db` file, one record per used slot (a malformed one says why), in slot
 * order. Throws when the file is not an NDB database at all.
 */
export function* ndbPackagesRecords(bytes: Buffer, maxBlobBytes: number): Generator<RpmRecord> {
  if (bytes.length < HEADER_SIZE)
    throw new Error(`a ${bytes.length}-byte file is shorter than the NDB header`);
  if (bytes.readUInt32LE(0) !== MAGIC) throw new Error('not an NDB database (no "RpmP" magic)');
  const version = bytes.readUInt32LE(4);
  if (version !== 0) throw new Error(`NDB version ${version}, not 0`);
  const slotPages = bytes.readUInt32LE(12);
  if (slotPages === 0 || slotPages * PAGE_SIZE > bytes.length)
    throw new Error(`${slotPages} slot pages of ${PAGE_SIZE} bytes, the file has ${bytes.length} bytes`);
  const blocks = Math.floor(bytes.length / BLK_SIZE);
  const firstBlob = (slotPages * PAGE_SIZE) / BLK_SIZE;
  for (let at = HEADER_SIZE, n = HEADER_SIZE / SLOT_SIZE; at < slotPages * PAGE_SIZE; at += SLOT_SIZE, n++) {
    if (bytes.readUInt32LE(at) !== SLOT_MAGIC) {
      yield { problem: `slot ${n} has no "Slot" magic` };
      continue;
    }
    const pkgidx = bytes.readUInt32LE(at + 4);
    const blkoff = bytes.readUInt32LE(at + 8);
    const blkcnt = bytes.readUInt32LE(at + 12);
    if (blkoff === 0) continue; // free
    if (pkgidx === 0 || blkcnt === 0 || blkoff < firstBlob || blkoff + blkcnt > blocks) {
      yield {
        problem: `slot ${n} (package ${pkgidx}): blocks ${blkoff}+${blkcnt} are not in the file's blobs`,
      };
      continue;
    }
    const problem = blobProblem(bytes, pkgidx, blkoff, blkcnt, maxBlobBytes);
    const start = blkoff * BLK_SIZE + BLOB_HEAD;
    yield typeof problem === "string"
      ? { problem: `slot ${n} (package ${pkgidx}): the blob at block ${blkoff}: ${problem}` }
      : { blob: bytes.subarray(start, start + problem.len) };
  }
}
