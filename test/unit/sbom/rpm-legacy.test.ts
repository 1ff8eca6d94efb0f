/**
 * RPM's BerkeleyDB and NDB databases (rpm-bdb.ts, rpm-ndb.ts), on fixtures made by libdb's db_load and
 * rpm's own header blobs (test/fixtures/sbom/rpmdb/README.md), then damaged on purpose.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type RpmHeader,
  readRpmBdb,
  readRpmNdb,
  readRpmSqlite,
  rpmDbPackages,
  rpmPackages,
} from "../../../src/sbom/rpm.js";
import { bdbPackagesRecords } from "../../../src/sbom/rpm-bdb.js";
import { rpmdbSqlite } from "./rpmdb-fixture.js";

const dir = join(import.meta.dirname, "../../fixtures/sbom/rpmdb");
const load = (path: string) => readFileSync(join(dir, path));
const BDB = ["bdb-le-512", "bdb-be-1024", "bdb-inpage-8192", "bdb-chksum-512"];

/** The three packages rpm installed into the fixtures, as `rpm -qa` lists them. */
const EXPECTED: RpmHeader[] = [
  {
    name: "hop3-alpha",
    version: "1.2.3",
    release: "4.el8",
    arch: "noarch",
    license: "MIT",
    sourceRpm: "hop3-alpha-1.2.3-4.el8.src.rpm",
    vendor: "Hop3 test fixtures",
  },
  {
    name: "hop3-beta",
    version: "2.0",
    release: "1.el8",
    epoch: 2,
    arch: "x86_64",
    license: "GPL-2.0-or-later AND LGPL-2.1-only",
    sourceRpm: "hop3-beta-2.0-1.el8.src.rpm",
    vendor: "Hop3 test fixtures",
  },
  {
    name: "hop3-gamma",
    version: "0.9.1",
    release: "7.el8",
    arch: "noarch",
    license: "Apache-2.0",
    sourceRpm: "hop3-gamma-0.9.1-7.el8.src.rpm",
    vendor: "Hop3 test fixtures",
  },
];
const byName = (hs: RpmHeader[]) => [...hs].sort((a, b) => a.name.localeCompare(b.name));

/** Hostile input must end, and quickly: `fn` runs within a second. */
function quick<T>(fn: () => T): T {
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    expect(performance.now() - t0).toBeLessThan(1000);
  }
}

/** A BerkeleyDB fixture's layout, found the way libdb lays it out, to damage it precisely. */
function bdbLayout(b: Buffer) {
  const be = b.readUInt32BE(12) === 0x061561;
  const u16 = (at: number) => (be ? b.readUInt16BE(at) : b.readUInt16LE(at));
  const u32 = (at: number) => (be ? b.readUInt32BE(at) : b.readUInt32LE(at));
  /** Writers into a copy of the file. */
  const w32 = (to: Buffer, at: number, v: number) => (be ? to.writeUInt32BE(v, at) : to.writeUInt32LE(v, at));
  const w16 = (to: Buffer, at: number, v: number) => (be ? to.writeUInt16BE(v, at) : to.writeUInt16LE(v, at));
  const pageSize = u32(20);
  const pages = b.length / pageSize;
  const hashPages = [...Array(pages).keys()].filter((p) => b[p * pageSize + 25] === 13);
  /** Every off-page item: where it is in the file, the first overflow page of its chain. */
  const offpage: { at: number; first: number }[] = [];
  for (const p of hashPages) {
    for (let i = 0; i < u16(p * pageSize + 20); i++) {
      const at = p * pageSize + u16(p * pageSize + 26 + i * 2);
      if (b[at] === 3) offpage.push({ at, first: u32(at + 4) });
    }
  }
  const chain = (first: number) => {
    const out: number[] = [];
    for (let p = first; p !== 0; p = u32(p * pageSize + 16)) out.push(p);
    return out;
  };
  return { pageSize, hashPages, offpage, chain, u32, w32, w16 };
}

describe("rpm BerkeleyDB (Packages)", () => {
  it.each(BDB)("%s: rpm's three packages, the counter at key 0 left out, nothing to note", (name) => {
    const { headers, notes } = readRpmBdb(load(`${name}/Packages`));
    expect(notes).toEqual([]);
    expect(byName(headers)).toEqual(EXPECTED);
  });

  it("gives the components an rpmdb.sqlite of the same headers gives", () => {
    const file = load("bdb-le-512/Packages");
    const { offpage, chain } = bdbLayout(file);
    expect(offpage.map((o) => chain(o.first).length)).toEqual([3, 3, 3]); // 512-byte pages
    const records = [...bdbPackagesRecords(file, 1 << 24, [])];
    const blobs = records.map((r) => ("blob" in r ? r.blob : Buffer.alloc(0)));
    const distro = { id: "rocky", qualifier: "rocky-8.10" };
    const fromSqlite = rpmPackages(readRpmSqlite(rpmdbSqlite(blobs)).headers, distro, "/x");
    const fromBdb = rpmPackages(readRpmBdb(load("bdb-le-512/Packages")).headers, distro, "/x");
    expect(fromBdb).toEqual(fromSqlite);
    expect(fromBdb.map((p) => p.purl).sort()).toEqual([
      "pkg:rpm/rocky/hop3-alpha@1.2.3-4.el8?arch=noarch&distro=rocky-8.10&upstream=hop3-alpha-1.2.3-4.el8.src.rpm",
      "pkg:rpm/rocky/hop3-beta@2.0-1.el8?arch=x86_64&distro=rocky-8.10&epoch=2&upstream=hop3-beta-2.0-1.el8.src.rpm",
      "pkg:rpm/rocky/hop3-gamma@0.9.1-7.el8?arch=noarch&distro=rocky-8.10&upstream=hop3-gamma-0.9.1-7.el8.src.rpm",
    ]);
  });

  it("refuses what is not a hash database: wrong magic, a btree, a bad page size, encryption, a short file", () => {
    const good = load("bdb-le-512/Packages");
    expect(() => readRpmBdb(Buffer.alloc(4096))).toThrow(/no hash magic/);
    const btree = Buffer.from(good);
    btree.writeUInt32LE(0x053162, 12);
    expect(() => readRpmBdb(btree)).toThrow(/btree/);
    for (const size of [0, 300, 3000, 1 << 17]) {
      const b = Buffer.from(good);
      b.writeUInt32LE(size, 20);
      expect(() => readRpmBdb(b)).toThrow(/page size/);
    }
    const enc = Buffer.from(good);
    enc[24] = 1;
    expect(() => readRpmBdb(enc)).toThrow(/encrypted/);
    expect(() => readRpmBdb(good.subarray(0, 100))).toThrow(/shorter than one/);
    const meta = Buffer.from(good);
    meta[25] = 13;
    expect(() => readRpmBdb(meta)).toThrow(/not hash metadata/);
  });

  it("a truncated file: the pages present are read, the rest noted", () => {
    const good = load("bdb-le-512/Packages");
    const { pageSize, offpage, chain } = bdbLayout(good);
    // cut inside the last chain: the packages whose pages are all there are still read
    const last = Math.max(...offpage.map((o) => Math.max(...chain(o.first))));
    const { headers, notes } = quick(() => readRpmBdb(good.subarray(0, last * pageSize)));
    expect(notes[0]).toMatch(/^the file has \d+ of its \d+ pages \(truncated\)/);
    expect(notes[1]).toMatch(/package header\(s\) could not be read \(the first: .*beyond the file's/);
    expect(headers.length).toBeGreaterThan(0);
    expect(headers.length).toBeLessThan(3);
    // a last page number far beyond the file: no more than the file is read
    const huge = Buffer.from(good);
    huge.writeUInt32LE(0xffffffff, 32);
    const r = quick(() => readRpmBdb(huge));
    expect(byName(r.headers)).toEqual(EXPECTED);
    expect(r.notes).toEqual([
      `the file has ${good.length / pageSize} of its 4294967296 pages (truncated): the pages missing were not read`,
    ]);
  });

  it("damaged items: a page beyond the file, a looping chain, a huge length, a huge count, an item outside its page", () => {
    for (const name of ["bdb-le-512", "bdb-be-1024"]) {
      const good = load(`${name}/Packages`);
      const { pageSize, hashPages, offpage, chain, u32, w32, w16 } = bdbLayout(good);
      expect(offpage).toHaveLength(3);
      const damaged = (damage: (b: Buffer) => void) => {
        const b = Buffer.from(good);
        damage(b);
        return quick(() => readRpmBdb(b));
      };
      const expectOneBad = (r: { headers: RpmHeader[]; notes: string[] }, why: RegExp) => {
        expect(r.headers).toHaveLength(2);
        expect(r.notes).toHaveLength(1);
        expect(r.notes[0]).toMatch(/^1 package header\(s\) could not be read \(the first: hash page \d+: /);
        expect(r.notes[0]).toMatch(why);
      };
      const [o] = offpage;
      expectOneBad(
        damaged((b) => w32(b, o!.at + 4, 99_999)),
        /overflow page 99999 is beyond the file's/,
      );
      // the chain's last page points back to its first, or a page to itself
      const pages = chain(o!.first);
      expectOneBad(
        damaged((b) => w32(b, pages.at(-1)! * pageSize + 16, pages[0]!)),
        /reached twice/,
      );
      expectOneBad(
        damaged((b) => w32(b, pages[0]! * pageSize + 16, pages[0]!)),
        /reached twice/,
      );
      // two values pointing to the same chain: the second is refused, not read again
      expectOneBad(
        damaged((b) => {
          w32(b, offpage[1]!.at + 4, o!.first);
          w32(b, offpage[1]!.at + 8, u32(o!.at + 8));
        }),
        /reached twice/,
      );
      expectOneBad(
        damaged((b) => w32(b, o!.at + 8, 0xffffffff)),
        /a 4294967295-byte value, over the \d+-byte limit/,
      );
      expectOneBad(
        damaged((b) => w32(b, o!.at + 8, 100)),
        /holds more than the value's 100 bytes/,
      );
      expectOneBad(
        damaged((b) => w16(b, pages.at(-1)! * pageSize + 22, 0xffff)),
        /claims 65535 bytes/,
      );
      expectOneBad(
        damaged((b) => {
          b[pages.at(-1)! * pageSize + 25] = 13; // a hash page in the chain: not data
          w16(b, pages.at(-1)! * pageSize + 20, 0);
        }),
        /is not an overflow page/,
      );
      // a page whose entry count is more than fits, and one whose item offset points into the header
      const page = hashPages.find((p) => offpage.some((x) => Math.floor(x.at / pageSize) === p))!;
      const count = damaged((b) => w16(b, page * pageSize + 20, 0xffff));
      expect(count.notes.join("\n")).toMatch(/claims 65535 entries, more than fit in the page/);
      const outside = damaged((b) => w16(b, page * pageSize + 26 + 2, 3));
      expect(outside.notes.join("\n")).toMatch(/item 1 at 3\.\.\d+ is outside the page's items/);
    }
  });

  it("a file of random bytes behind a valid metadata page ends quickly, with notes or nothing", () => {
    const good = load("bdb-le-512/Packages");
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed & 0xff;
    };
    for (let round = 0; round < 20; round++) {
      const b = Buffer.from(good);
      for (let i = 512; i < b.length; i++) if (rand() < 16) b[i] = rand();
      const r = quick(() => readRpmBdb(b));
      expect(r.headers.length).toBeLessThanOrEqual(3);
    }
  });
});

describe("rpm NDB (Packages.db)", () => {
  it("rpm's three packages, the erased one's free slot skipped, as an rpmdb.sqlite of them gives", () => {
    const { headers, notes } = readRpmNdb(load("ndb/Packages.db"));
    expect(notes).toEqual([]);
    expect(byName(headers)).toEqual(EXPECTED);
  });

  const good = load("ndb/Packages.db");
  /** The used slots of the fixture: where each is and its blob's offset in bytes. */
  const slots = [...Array(254).keys()]
    .map((i) => 32 + i * 16)
    .filter((at) => good.readUInt32LE(at + 8) !== 0)
    .map((at) => ({ at, blob: good.readUInt32LE(at + 8) * 16 }));
  const damaged = (damage: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    damage(b);
    return quick(() => readRpmNdb(b));
  };

  it("refuses what is not an NDB database: wrong magic or version, slot pages beyond the file, a short file", () => {
    expect(slots).toHaveLength(3);
    expect(() => readRpmNdb(Buffer.alloc(8192))).toThrow(/no "RpmP" magic/);
    expect(() => damaged((b) => b.writeUInt32LE(1, 4))).toThrow(/NDB version 1/);
    expect(() => damaged((b) => b.writeUInt32LE(0xffffffff, 12))).toThrow(/4294967295 slot pages/);
    expect(() => damaged((b) => b.writeUInt32LE(0, 12))).toThrow(/0 slot pages/);
    expect(() => readRpmNdb(good.subarray(0, 20))).toThrow(/shorter than the NDB header/);
    expect(() => readRpmNdb(good.subarray(0, 4000))).toThrow(/the file has 4000 bytes/);
  });

  it("a damaged slot or blob is a note; the other packages are read", () => {
    const [s] = slots;
    const cases: [(b: Buffer) => void, RegExp][] = [
      [(b) => b.writeUInt32LE(0x12345678, s!.at), /slot 2 has no "Slot" magic/],
      [(b) => b.writeUInt32LE(0x0fffffff, s!.at + 8), /blocks 268435455\+\d+ are not in the file's blobs/],
      [(b) => b.writeUInt32LE(3, s!.at + 8), /blocks 3\+\d+ are not in the file's blobs/], // inside the slot page
      [(b) => b.writeUInt32LE(0xffffffff, s!.at + 12), /are not in the file's blobs/],
      [(b) => b.writeUInt32LE(0, s!.at + 4), /package 0/],
      [(b) => b.writeUInt32LE(0, s!.blob), /no "BlbS" magic/],
      [(b) => b.writeUInt32LE(77, s!.blob + 4), /it is package 77's/],
      [(b) => b.writeUInt32LE(0xffffffff, s!.blob + 12), /4294967295 bytes, over the \d+-byte limit/],
      [
        (b) => b.writeUInt32LE(b.readUInt32LE(s!.blob + 12) + 200, s!.blob + 12),
        /do not fill its \d+ blocks/,
      ],
      [(b) => b.writeUInt32LE(b.readUInt32LE(s!.blob + 12) + 1, s!.blob + 12), /its tail does not match/],
    ];
    for (const [damage, why] of cases) {
      const r = damaged(damage);
      expect(r.headers).toHaveLength(2);
      expect(r.notes).toHaveLength(1);
      expect(r.notes[0]).toMatch(/^1 package header\(s\) could not be read/);
      expect(r.notes[0]).toMatch(why);
    }
    // truncated inside the last blob: that package is noted, the others read
    const last = Math.max(...slots.map((x) => x.blob));
    const cut = quick(() => readRpmNdb(good.subarray(0, last + 100)));
    expect(cut.headers).toHaveLength(2);
    expect(cut.notes[0]).toMatch(/are not in the file's blobs/);
  });

  it("slots all pointing to one blob: read as often as they say, quickly", () => {
    const many = damaged((b) => {
      for (let at = 32; at < 4096; at += 16) good.copy(b, at, slots[0]!.at, slots[0]!.at + 16);
    });
    expect(many.headers).toHaveLength(254);
    expect(new Set(many.headers.map((h) => h.name)).size).toBe(1);
  });
});

describe("rpm databases in an image", () => {
  it("picks the reader by the file's name, each file's notes prefixed with its path", () => {
    const notes: string[] = [];
    const distro = { id: "opensuse-leap", qualifier: "opensuse-leap-15.6" };
    const ndb = rpmDbPackages(
      { kind: "rpm-db", path: "usr/lib/sysimage/rpm/Packages.db", content: load("ndb/Packages.db") },
      distro,
      notes,
    );
    expect(ndb.map((p) => p.purl).sort()[1]).toBe(
      "pkg:rpm/opensuse-leap/hop3-beta@2.0-1.el8?arch=x86_64&distro=opensuse-leap-15.6&epoch=2&upstream=hop3-beta-2.0-1.el8.src.rpm",
    );
    expect(ndb[0]!.foundIn).toBe("/usr/lib/sysimage/rpm/Packages.db");
    const bdb = Buffer.from(load("bdb-le-512/Packages"));
    bdb.writeUInt32LE(0xffffffff, 32);
    const pkgs = rpmDbPackages(
      { kind: "rpm-db", path: "var/lib/rpm/Packages", content: bdb },
      undefined,
      notes,
    );
    expect(pkgs).toHaveLength(3);
    expect(notes).toEqual([expect.stringMatching(/^\/var\/lib\/rpm\/Packages: the file has 12 of its/)]);
  });
});
