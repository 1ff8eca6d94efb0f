/**
 * RPM's package database, in the three forms rpm has written: one header per package, its "header blob" an
 * RPM header without the lead and magic:
 *
 *   int32 BE index count (il), int32 BE data length (dl), il index entries of 16 bytes
 *   (int32 BE tag, type, offset into the data store, count), then the dl-byte data store.
 *
 * - SQLite (rpm >= 4.16: Fedora 33+, RHEL/AlmaLinux/Rocky 9, Amazon Linux 2023): `rpmdb.sqlite` in
 *   `/var/lib/rpm` or `/usr/lib/sysimage/rpm`, table `Packages`, one package per row in its `blob` column;
 * - BerkeleyDB (RHEL/CentOS 7 and 8, AlmaLinux/Rocky 8, Amazon Linux 2): `Packages` there, read by rpm-bdb.ts;
 * - NDB (openSUSE, SUSE Linux Enterprise 15): `Packages.db` there, read by rpm-ndb.ts.
 *
 * The database is the image's, so hostile: the SQLite one is opened in memory from the bytes read out of the
 * image (never a file of the host), read-only, `Packages` must be a plain table; the other two are read by
 * hand with every page, offset and length checked; in all three, records and bytes are capped, and every
 * header's counts, offsets and strings are checked against the blob before they are read.
 *
 * purls are written as Syft writes them: `pkg:rpm/fedora/curl@8.6.0-8.fc40?arch=x86_64&epoch=1&
 * upstream=curl-8.6.0-8.fc40.src.rpm&distro=fedora-40` (namespace: os-release's ID; `upstream`: the source
 * RPM, which advisories name, as dpkg.ts does with Debian source packages).
 */
import Database from "better-sqlite3";
import type { ImageFile } from "./image-files.js";
import { type FoundPackage, purlOf } from "./package.js";
import { bdbPackagesRecords } from "./rpm-bdb.js";
import { ndbPackagesRecords } from "./rpm-ndb.js";

export interface RpmHeader {
  name: string;
  version: string;
  release?: string;
  epoch?: number;
  arch?: string;
  license?: string;
  sourceRpm?: string;
  vendor?: string;
}

const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  VENDOR: 1011,
  LICENSE: 1014,
  ARCH: 1022,
  SOURCERPM: 1044,
} as const;
const WANTED = new Set<number>(Object.values(TAG));
const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;

/** rpm's own limits (hdrchkTags, hdrchkData): more index entries or data than this is not a header. */
export const MAX_HEADER_ENTRIES = 0xffff;
export const MAX_HEADER_DATA = 16 * 1024 * 1024;
/** A string field we keep is at most this long; longer is cut (a licence, a vendor). */
const MAX_STRING = 4096;
/** Rows read from one database: far more than any distribution's package count. */
export const MAX_RPM_ROWS = 100_000;
/** The largest header blob the limits above allow: preamble, index and data. */
export const MAX_HEADER_BLOB = 8 + 16 * MAX_HEADER_ENTRIES + MAX_HEADER_DATA;

/** One package's header blob as a database holds it, or why it could not be had. */
export type RpmRecord = { blob: Buffer } | { problem: string };

/**
 * One header blob to the fields the SBOM needs; throws (with why) on a malformed blob. Unknown tags and
 * types are skipped; a field whose type is not the expected one is ignored.
 */
export function parseRpmHeaderBlob(blob: Buffer): RpmHeader {
  if (blob.length < 8) throw new Error(`a ${blob.length}-byte header is shorter than its 8-byte preamble`);
  const il = blob.readUInt32BE(0);
  const dl = blob.readUInt32BE(4);
  if (il === 0 || il > MAX_HEADER_ENTRIES) throw new Error(`${il} index entries: not a header`);
  if (dl > MAX_HEADER_DATA) throw new Error(`${dl} bytes of data: not a header`);
  const dataStart = 8 + il * 16;
  if (dataStart + dl > blob.length)
    throw new Error(
      `the header says ${il} entries and ${dl} bytes of data, the blob has ${blob.length} bytes`,
    );
  const data = blob.subarray(dataStart, dataStart + dl);

  /** The NUL-terminated string at `offset` of the data store, undefined when it runs past the end. */
  const cString = (offset: number): string | undefined => {
    if (offset < 0 || offset >= data.length) return undefined;
    const end = data.indexOf(0, offset);
    if (end < 0) return undefined;
    return data.toString("utf8", offset, Math.min(end, offset + MAX_STRING));
  };
  const fields = new Map<number, string | number>();
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const tag = blob.readInt32BE(at);
    const type = blob.readUInt32BE(at + 4);
    const offset = blob.readInt32BE(at + 8);
    const count = blob.readUInt32BE(at + 12);
    if (!WANTED.has(tag) || fields.has(tag)) continue;
    if (offset < 0 || offset >= dl)
      throw new Error(`tag ${tag}: offset ${offset} is outside the ${dl}-byte data`);
    if (type === TYPE_INT32) {
      if (count < 1 || offset % 4 !== 0 || offset + 4 > dl) throw new Error(`tag ${tag}: a bad INT32 entry`);
      fields.set(tag, data.readInt32BE(offset));
    } else if (type === TYPE_STRING || type === TYPE_I18NSTRING || type === TYPE_STRING_ARRAY) {
      // an I18N string's first value is the untranslated one
      const s = cString(offset);
      if (s === undefined) throw new Error(`tag ${tag}: its string runs past the data`);
      fields.set(tag, s);
    }
  }
  const str = (tag: number) => {
    const v = fields.get(tag);
    return typeof v === "string" && v !== "" ? v : undefined;
  };
  const name = str(TAG.NAME);
  const version = str(TAG.VERSION);
  if (!name || !version) throw new Error("a header without NAME or VERSION");
  const epoch = fields.get(TAG.EPOCH);
  const out: RpmHeader = { name, version };
  const release = str(TAG.RELEASE);
  if (release) out.release = release;
  if (typeof epoch === "number" && epoch >= 0) out.epoch = epoch;
  const arch = str(TAG.ARCH);
  if (arch) out.arch = arch;
  const license = str(TAG.LICENSE);
  if (license) out.license = license;
  const sourceRpm = str(TAG.SOURCERPM);
  if (sourceRpm) out.sourceRpm = sourceRpm;
  const vendor = str(TAG.VENDOR);
  if (vendor) out.vendor = vendor;
  return out;
}

/**
 * The headers of a database's records, and notes on what could not be read: a malformed record is counted in
 * a note, not the end of the database; at most MAX_RPM_ROWS records are read.
 */
function headersOf(records: Iterable<RpmRecord>): { headers: RpmHeader[]; notes: string[] } {
  const headers: RpmHeader[] = [];
  const notes: string[] = [];
  let bad = 0;
  let firstBad = "";
  let rows = 0;
  for (const r of records) {
    if (++rows > MAX_RPM_ROWS) {
      notes.push(`more than ${MAX_RPM_ROWS} records: the rest were not read`);
      break;
    }
    try {
      if ("problem" in r) throw new Error(r.problem);
      headers.push(parseRpmHeaderBlob(r.blob));
    } catch (err) {
      if (!bad++) firstBad = (err as Error).message;
    }
  }
  if (bad) notes.push(`${bad} package header(s) could not be read (the first: ${firstBad.slice(0, 200)})`);
  return { headers, notes };
}

/**
 * The headers of an rpmdb.sqlite file's bytes, and notes on what could not be read (a malformed row is a
 * note, not the end of the database). Throws when the file is not a readable rpmdb at all.
 */
export function readRpmSqlite(bytes: Buffer): { headers: RpmHeader[]; notes: string[] } {
  if (bytes.length < 100 || bytes.toString("latin1", 0, 16) !== "SQLite format 3\0")
    throw new Error("not an SQLite database");
  // rpm keeps its database in WAL mode (header bytes 18-19 = 2), which an in-memory copy cannot open: the
  // copy is marked as a rollback-journal database instead (the file itself is not changed).
  const copy = Buffer.from(bytes);
  if (copy[18] === 2) copy[18] = 1;
  if (copy[19] === 2) copy[19] = 1;
  const db = new Database(copy, { readonly: true });
  try {
    db.pragma("trusted_schema = OFF");
    db.pragma("cell_size_check = ON");
    // a view or virtual table named Packages could compute forever; generated columns are not rpm's
    const t = db.prepare("SELECT type, sql FROM sqlite_schema WHERE name = 'Packages'").get() as
      | { type: string; sql: string | null }
      | undefined;
    if (!t) throw new Error("no Packages table");
    if (t.type !== "table" || /^\s*CREATE\s+VIRTUAL\b/i.test(t.sql ?? ""))
      throw new Error(`Packages is a ${t.type === "table" ? "virtual table" : t.type}, not rpm's table`);
    const cols = db.prepare("SELECT name, hidden FROM pragma_table_xinfo('Packages')").all() as {
      name: string;
      hidden: number;
    }[];
    const blobCol = cols.find((c) => c.name.toLowerCase() === "blob");
    if (blobCol?.hidden !== 0) throw new Error("the Packages table has no plain blob column");
    const rows = db.prepare("SELECT blob FROM Packages").iterate() as Iterable<{ blob: unknown }>;
    return headersOf(
      (function* () {
        for (const row of rows)
          yield Buffer.isBuffer(row.blob)
            ? { blob: row.blob }
            : { problem: "a row whose blob is not a blob" };
      })(),
    );
  } finally {
    db.close();
  }
}

/**
 * The headers of a BerkeleyDB `Packages` file's bytes (rpm-bdb.ts), with notes as readRpmSqlite's. Throws
 * when the file is not a Berkeley DB hash database at all.
 */
export function readRpmBdb(bytes: Buffer): { headers: RpmHeader[]; notes: string[] } {
  const fileNotes: string[] = [];
  const { headers, notes } = headersOf(bdbPackagesRecords(bytes, MAX_HEADER_BLOB, fileNotes));
  return { headers, notes: [...fileNotes, ...notes] };
}

/** The headers of an NDB `Packages.db` file's bytes (rpm-ndb.ts); throws when it is not an NDB database. */
export function readRpmNdb(bytes: Buffer): { headers: RpmHeader[]; notes: string[] } {
  return headersOf(ndbPackagesRecords(bytes, MAX_HEADER_BLOB));
}

/** gpg-pubkey "packages" are the signing keys rpm imported, not software. */
const isKey = (h: RpmHeader) => h.name === "gpg-pubkey";

export function rpmPackages(
  headers: RpmHeader[],
  distro: { id: string; qualifier?: string } | undefined,
  foundIn: string,
): FoundPackage[] {
  return headers
    .filter((h) => !isKey(h))
    .map((h) => {
      const version = h.release ? `${h.version}-${h.release}` : h.version;
      return {
        ecosystem: "rpm" as const,
        name: h.name,
        version: h.epoch !== undefined ? `${h.epoch}:${version}` : version,
        purl: purlOf("rpm", distro?.id, h.name, version, {
          arch: h.arch,
          epoch: h.epoch !== undefined ? String(h.epoch) : undefined,
          upstream: h.sourceRpm,
          distro: distro?.qualifier,
        }),
        ...(h.license ? { licenses: [h.license] } : {}),
        ...(h.vendor ? { supplier: h.vendor } : {}),
        foundIn,
      };
    });
}

/** Which reader a database file of the image needs, by its name (image-files.ts selects only these). */
function readerFor(path: string): (bytes: Buffer) => { headers: RpmHeader[]; notes: string[] } {
  if (path.endsWith("/rpmdb.sqlite")) return readRpmSqlite;
  if (path.endsWith("/Packages.db")) return readRpmNdb;
  return readRpmBdb;
}

/** An RPM database file of the image (any of the three forms) to its packages; what could not be read goes to `notes`. */
export function rpmDbPackages(
  f: ImageFile,
  distro: { id: string; qualifier?: string } | undefined,
  notes: string[],
): FoundPackage[] {
  if (!f.content) return [];
  const { headers, notes: own } = readerFor(f.path)(f.content);
  for (const n of own) notes.push(`/${f.path}: ${n}`);
  return rpmPackages(headers, distro, `/${f.path}`);
}
