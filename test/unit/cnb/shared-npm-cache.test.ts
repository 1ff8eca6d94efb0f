import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  digestOfContentPath,
  listStore,
  planPrune,
  promoteNpmBlobs,
  pruneStore,
} from "../../../src/build/cnb/shared-npm-cache.js";

const sha512 = (data: string) => createHash("sha512").update(data).digest("hex");
const blobPath = (cacache: string, hex: string) =>
  join(cacache, "content-v2", "sha512", hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));

function putBlob(cacache: string, hex: string, data: string): string {
  const p = blobPath(cacache, hex);
  mkdirSync(join(p, ".."), { recursive: true });
  writeFileSync(p, data);
  return p;
}

describe("digestOfContentPath", () => {
  it("is the hex of a well-formed sha512 content path, else undefined", () => {
    const hex = sha512("x");
    expect(digestOfContentPath(hex.slice(0, 2), hex.slice(2, 4), hex.slice(4))).toBe(hex);
    expect(digestOfContentPath(hex.slice(0, 2), hex.slice(2, 4), `${hex.slice(4)}.tmp`)).toBeUndefined();
    expect(digestOfContentPath(hex.slice(0, 3), hex.slice(3, 5), hex.slice(5))).toBeUndefined();
    expect(digestOfContentPath("AB", "cd", hex.slice(4))).toBeUndefined();
  });
});

describe("promoteNpmBlobs", () => {
  let dir: string;
  let build: string;
  let store: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "hop3-shared-npm-"));
    build = join(dir, "build", "_cacache");
    store = join(dir, "store", "_cacache");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("promotes a blob whose content hashes to its name", () => {
    const hex = sha512("express tarball");
    putBlob(build, hex, "express tarball");
    expect(promoteNpmBlobs(build, store)).toEqual({ promoted: 1, known: 0, rejected: 0 });
    expect(readFileSync(blobPath(store, hex), "utf8")).toBe("express tarball");
  });

  it("rejects a forged blob: the name of a real tarball's digest, other content", () => {
    const real = sha512("the real express");
    putBlob(build, real, "a forged express");
    expect(promoteNpmBlobs(build, store)).toEqual({ promoted: 0, known: 0, rejected: 1 });
    expect(existsSync(blobPath(store, real))).toBe(false);
  });

  it("never shares the index or anything outside content-v2/sha512", () => {
    mkdirSync(join(build, "index-v5", "ab", "cd"), { recursive: true });
    writeFileSync(join(build, "index-v5", "ab", "cd", "x"), "forged index entry");
    mkdirSync(join(build, "content-v2", "sha1", "aa", "bb"), { recursive: true });
    writeFileSync(join(build, "content-v2", "sha1", "aa", "bb", "c".repeat(36)), "sha1 blob");
    expect(promoteNpmBlobs(build, store)).toEqual({ promoted: 0, known: 0, rejected: 0 });
    expect(existsSync(join(store, "index-v5"))).toBe(false);
    expect(existsSync(join(store, "content-v2", "sha1"))).toBe(false);
  });

  it("rejects links, even to a file with the right content, and does not follow linked directories", () => {
    const outside = join(dir, "outside");
    writeFileSync(outside, "secret");
    const hex = sha512("secret");
    const p = blobPath(build, hex);
    mkdirSync(join(p, ".."), { recursive: true });
    symlinkSync(outside, p);
    // a linked directory in place of content-v2/sha512/<aa>
    const other = sha512("other");
    const linked = join(dir, "elsewhere");
    putBlob(linked, other, "other");
    symlinkSync(
      join(linked, "content-v2", "sha512", other.slice(0, 2)),
      join(build, "content-v2", "sha512", other.slice(0, 2)),
    );
    expect(promoteNpmBlobs(build, store)).toEqual({ promoted: 0, known: 0, rejected: 1 });
    expect(listStore(store)).toEqual([]);
  });

  it("counts a blob the store has as known, and marks it used", () => {
    const hex = sha512("ms");
    putBlob(build, hex, "ms");
    const inStore = putBlob(store, hex, "ms");
    utimesSync(inStore, new Date(1000), new Date(1000));
    expect(promoteNpmBlobs(build, store)).toEqual({ promoted: 0, known: 1, rejected: 0 });
    expect(listStore(store)[0]!.usedMs).toBeGreaterThan(1_000_000);
  });
});

describe("pruning", () => {
  it("plans to drop the blobs used longest ago until the store fits", () => {
    const blobs = [
      { path: "a", size: 40, usedMs: 3 },
      { path: "b", size: 40, usedMs: 1 },
      { path: "c", size: 40, usedMs: 2 },
    ];
    expect(planPrune(blobs, 100).map((b) => b.path)).toEqual(["b"]);
    expect(planPrune(blobs, 40).map((b) => b.path)).toEqual(["b", "c"]);
    expect(planPrune(blobs, 120)).toEqual([]);
  });

  it("deletes them from the store", () => {
    const dir = mkdtempSync(join(tmpdir(), "hop3-shared-npm-"));
    try {
      const store = join(dir, "_cacache");
      const old = putBlob(store, sha512("old"), "old-content");
      putBlob(store, sha512("new"), "new-content");
      utimesSync(old, new Date(1000), new Date(1000));
      expect(pruneStore(store, 11)).toEqual({ bytes: 11, removed: 1 });
      expect(existsSync(old)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
