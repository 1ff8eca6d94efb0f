/**
 * The npm package cache shared by every app's builds, safe against an app that would poison it.
 *
 * npm's cache (cacache) keeps each tarball under `_cacache/content-v2/sha512/<aa>/<bb>/<rest>`, the hex of its
 * own sha512, and an index (`index-v5`) mapping request URLs to contents. With a lockfile, npm (pacote's
 * tarballStream) reads a package from the cache by the lockfile's `integrity` alone (cacache get.byDigest),
 * and cacache checks the content against that digest as it reads: a wrong file is an EINTEGRITY error, after
 * which npm downloads the package again.
 *
 * So only content is shared, never the index (a build could map a URL to a tarball of its own), and only
 * content that is what its name says:
 *  - the store is the platform's: builds see it read-only (lifecycle.ts mounts it), and the nodejs buildpack
 *    copies the blobs its lockfile names into the build's own cache before `npm ci`;
 *  - after a successful build, the server (this module, trusted code) promotes the blobs of the app's saved
 *    cache into the store only after hashing each file and finding the hash equal to its path; links,
 *    anything but regular files, and everything outside content-v2/sha512 are ignored;
 *  - the store is bounded: beyond its cap, the blobs no build used for longest go first.
 * Builds without a lockfile, and yarn and pnpm, keep their per-app caches only (docs/buildpacks.md).
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from "node:fs";
import { join } from "node:path";

/** The store's cacache directory (what the buildpack sees, read-only, as HOP3_SHARED_NPM_CACHE). */
export const sharedNpmCacheDir = (sharedRoot: string) => join(sharedRoot, "npm", "_cacache");

/** Where an app's saved npm cache is in its layer cache (the hop3/nodejs buildpack's pm-cache layer). */
export const appNpmCacheDir = (appCacheDir: string) =>
  join(appCacheDir, "hop3_nodejs", "pm-cache", "npm", "_cacache");

/** Default cap of the store: 2 GiB of tarballs (a few thousand packages). */
export const DEFAULT_SHARED_NPM_CACHE_BYTES = 2 * 1024 ** 3;

/**
 * The sha512 hex digest a content path names (`aa`, `bb`, `rest`: the three parts under content-v2/sha512),
 * or undefined when the path is not the shape cacache gives a sha512 blob.
 */
export function digestOfContentPath(aa: string, bb: string, rest: string): string | undefined {
  const hex = `${aa}${bb}${rest}`;
  if (aa.length !== 2 || bb.length !== 2 || !/^[0-9a-f]{128}$/.test(hex)) return undefined;
  return hex;
}

/** sha512 hex of a file, read without following a link (a link is refused: undefined). */
export function hashRegularFile(path: string): { hex: string; size: number } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const hash = createHash("sha512");
    const buf = Buffer.allocUnsafe(1 << 16);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
    return { hex: hash.digest("hex"), size: st.size };
  } finally {
    closeSync(fd);
  }
}

export interface PromotionReport {
  /** Blobs copied into the store. */
  promoted: number;
  /** Blobs the store had already (marked as used now). */
  known: number;
  /** Files under content-v2/sha512 whose content is not what their name says, links, odd entries. */
  rejected: number;
}

/** Real directories of `dir` (a link to a directory is not one), by name. */
function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * Copies into the store (`storeCacache`) every blob of a build's cache (`fromCacache`) whose sha512 equals
 * the digest its path names. The build is over and nothing of it runs (lifecycle.ts stops its container
 * before the cache is saved), so what is checked is what is copied.
 */
export function promoteNpmBlobs(fromCacache: string, storeCacache: string): PromotionReport {
  const report: PromotionReport = { promoted: 0, known: 0, rejected: 0 };
  const from = join(fromCacache, "content-v2", "sha512");
  const to = join(storeCacache, "content-v2", "sha512");
  const now = new Date();
  for (const aa of subdirs(from)) {
    for (const bb of subdirs(join(from, aa))) {
      let entries: import("node:fs").Dirent[];
      try {
        entries = readdirSync(join(from, aa, bb), { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries) {
        const digest = digestOfContentPath(aa, bb, e.name);
        if (!digest || !e.isFile()) {
          report.rejected++;
          continue;
        }
        const target = join(to, aa, bb, e.name);
        if (existsSync(target)) {
          // used by this build: the last to go when the store is over its cap
          utimesSync(target, now, now);
          report.known++;
          continue;
        }
        const source = join(from, aa, bb, e.name);
        const seen = hashRegularFile(source);
        if (!seen || seen.hex !== digest) {
          report.rejected++;
          continue;
        }
        mkdirSync(join(to, aa, bb), { recursive: true });
        const tmp = `${target}.tmp-${process.pid}`;
        copyFileSync(source, tmp);
        // what was copied is checked again: the source is the build's, the copy is ours
        if (hashRegularFile(tmp)?.hex !== digest) {
          rmSync(tmp, { force: true });
          report.rejected++;
          continue;
        }
        renameSync(tmp, target);
        report.promoted++;
      }
    }
  }
  return report;
}

export interface StoreBlob {
  path: string;
  size: number;
  usedMs: number;
}

/** Every blob of the store, with its size and when a build last used it. */
export function listStore(storeCacache: string): StoreBlob[] {
  const root = join(storeCacache, "content-v2", "sha512");
  const out: StoreBlob[] = [];
  for (const aa of subdirs(root)) {
    for (const bb of subdirs(join(root, aa))) {
      for (const name of readdirSync(join(root, aa, bb))) {
        const path = join(root, aa, bb, name);
        const st = statSync(path, { throwIfNoEntry: false });
        if (st?.isFile()) out.push({ path, size: st.size, usedMs: st.mtimeMs });
      }
    }
  }
  return out;
}

/** Which blobs to delete so that the store fits in `maxBytes`: those used longest ago first. */
export function planPrune(blobs: StoreBlob[], maxBytes: number): StoreBlob[] {
  let total = blobs.reduce((n, b) => n + b.size, 0);
  const drop: StoreBlob[] = [];
  for (const b of [...blobs].sort((x, y) => x.usedMs - y.usedMs)) {
    if (total <= maxBytes) break;
    drop.push(b);
    total -= b.size;
  }
  return drop;
}

/** Deletes what planPrune says; answers the store's size afterwards. */
export function pruneStore(storeCacache: string, maxBytes: number): { bytes: number; removed: number } {
  const blobs = listStore(storeCacache);
  const drop = planPrune(blobs, maxBytes);
  for (const b of drop) rmSync(b.path, { force: true });
  const bytes = blobs.reduce((n, b) => n + b.size, 0) - drop.reduce((n, b) => n + b.size, 0);
  return { bytes, removed: drop.length };
}
