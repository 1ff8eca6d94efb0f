/**
 * RPM header blobs and SQLite rpmdbs built in the tests, per the format rpm.ts reads: int32 BE index count,
 * int32 BE data length, 16-byte index entries (tag, type, offset, count), then the data store.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";

export type Field = { tag: number; type: 4; value: number } | { tag: number; type: 6 | 9; value: string };

export function headerBlob(fields: Field[]): Buffer {
  const index: Buffer[] = [];
  const data: Buffer[] = [];
  let size = 0;
  for (const f of fields) {
    if (f.type === 4) {
      const pad = (4 - (size % 4)) % 4; // INT32 is 4-aligned in the data store
      if (pad) {
        data.push(Buffer.alloc(pad));
        size += pad;
      }
    }
    const bytes =
      f.type === 4
        ? (() => {
            const b = Buffer.alloc(4);
            b.writeInt32BE(f.value);
            return b;
          })()
        : Buffer.from(`${f.value}\0`, "utf8");
    const e = Buffer.alloc(16);
    e.writeInt32BE(f.tag, 0);
    e.writeUInt32BE(f.type, 4);
    e.writeInt32BE(size, 8);
    e.writeUInt32BE(1, 12);
    index.push(e);
    data.push(bytes);
    size += bytes.length;
  }
  const pre = Buffer.alloc(8);
  pre.writeUInt32BE(fields.length, 0);
  pre.writeUInt32BE(size, 4);
  return Buffer.concat([pre, ...index, ...data]);
}

export interface TestRpm {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  arch?: string;
  license?: string;
  sourceRpm?: string;
  vendor?: string;
}

export function rpmBlob(p: TestRpm): Buffer {
  const fields: Field[] = [
    { tag: 1000, type: 6, value: p.name },
    { tag: 1001, type: 6, value: p.version },
    { tag: 1002, type: 6, value: p.release },
  ];
  if (p.epoch !== undefined) fields.push({ tag: 1003, type: 4, value: p.epoch });
  if (p.vendor) fields.push({ tag: 1011, type: 6, value: p.vendor });
  if (p.license) fields.push({ tag: 1014, type: 6, value: p.license });
  if (p.arch) fields.push({ tag: 1022, type: 6, value: p.arch });
  if (p.sourceRpm) fields.push({ tag: 1044, type: 6, value: p.sourceRpm });
  return headerBlob(fields);
}

/** The bytes of an rpmdb.sqlite as rpm writes it (WAL mode, table Packages) holding `blobs`. */
export function rpmdbSqlite(blobs: Buffer[], schema?: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "hop3-rpmdb-"));
  try {
    const path = join(dir, "rpmdb.sqlite");
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.exec(schema ?? "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)");
    if (!schema) {
      const ins = db.prepare("INSERT INTO Packages (blob) VALUES (?)");
      for (const b of blobs) ins.run(b);
    }
    db.close();
    return readFileSync(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Rocky 9's openssl-libs, as its rpmdb holds it: epoch, source RPM and vendor set. */
export const ROCKY_OPENSSL: TestRpm = {
  name: "openssl-libs",
  version: "3.0.7",
  release: "27.el9",
  epoch: 1,
  arch: "x86_64",
  license: "Apache-2.0",
  sourceRpm: "openssl-3.0.7-27.el9.src.rpm",
  vendor: "Rocky Enterprise Software Foundation",
};
