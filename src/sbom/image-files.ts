/**
 * Reads the few files an SBOM needs out of an image's filesystem, from the docker-archive tar that Podman's
 * API streams (`docker.getImage(ref).get()`): every layer is read once, in the stream's order, keeping only
 * the files that match a rule below; the layers are then applied in the manifest's order, honouring
 * whiteouts (`.wh.NAME` removes NAME, `.wh..wh..opq` empties its directory), so a file deleted by a later
 * layer is not reported. The image is the app developer's, so its content is hostile input: every file is
 * size-capped, every kind count-capped, the total bounded, and what was skipped is reported, never silently
 * dropped.
 */
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { GoBuildInfoScanner } from "./golang.js";

export type FileKind =
  | "dpkg-status"
  | "dpkg-status-d"
  | "deb-copyright"
  | "os-release"
  | "apk-installed"
  | "rpm-sqlite"
  | "rpm-db"
  | "npm-package"
  | "npm-lock"
  | "python-metadata"
  | "gemfile-lock"
  | "composer"
  | "go-vendor"
  | "go-mod"
  /** An executable with Go build information: `content` is what GoBuildInfoScanner kept (magic on). */
  | "go-binary";

interface Rule {
  kind: FileKind;
  test: (path: string) => boolean;
  maxBytes: number;
  maxCount: number;
}

const MB = 1024 * 1024;
/**
 * Lockfiles and manifests of the app, not those that ship inside installed tools (a Ruby gem's VS Code
 * extension has a package-lock.json whose packages are not installed): the system's library and share
 * directories are left out.
 */
const SYSTEM_DIRS = ["usr/lib", "usr/share", "usr/local/lib", "usr/local/share", "usr/libexec"];
const appManifest = (path: string) => !SYSTEM_DIRS.some((d) => path.startsWith(`${d}/`));
const notUnder = (path: string, ...dirs: string[]) =>
  !dirs.some((d) => path.includes(`/${d}/`) || path.startsWith(`${d}/`));

/** Paths are relative to the image root, without a leading slash. */
export const RULES: Rule[] = [
  { kind: "dpkg-status", test: (p) => p === "var/lib/dpkg/status", maxBytes: 64 * MB, maxCount: 1 },
  {
    kind: "dpkg-status-d",
    test: (p) => /^var\/lib\/dpkg\/status\.d\/[^/]+$/.test(p) && !p.endsWith(".md5sums"),
    maxBytes: MB,
    maxCount: 5000,
  },
  {
    kind: "deb-copyright",
    test: (p) => /^usr\/share\/doc\/[^/]+\/copyright$/.test(p),
    maxBytes: MB / 2,
    maxCount: 5000,
  },
  {
    kind: "os-release",
    test: (p) => p === "etc/os-release" || p === "usr/lib/os-release",
    maxBytes: 64 * 1024,
    maxCount: 2,
  },
  { kind: "apk-installed", test: (p) => p === "lib/apk/db/installed", maxBytes: 64 * MB, maxCount: 1 },
  {
    kind: "rpm-sqlite",
    test: (p) => /^(var\/lib\/rpm|usr\/lib\/sysimage\/rpm)\/rpmdb\.sqlite$/.test(p),
    maxBytes: 64 * MB,
    maxCount: 2,
  },
  {
    kind: "rpm-db",
    // BerkeleyDB (Packages) and NDB (Packages.db): as large as the SQLite form's
    test: (p) => /^(var\/lib\/rpm|usr\/lib\/sysimage\/rpm)\/(Packages|Packages\.db)$/.test(p),
    maxBytes: 64 * MB,
    maxCount: 4,
  },
  {
    kind: "npm-package",
    test: (p) => /(^|\/)node_modules\/(@[^/]+\/)?[^/@.][^/]*\/package\.json$/.test(p),
    maxBytes: MB,
    maxCount: 50_000,
  },
  {
    kind: "npm-lock",
    test: (p) => /(^|\/)package-lock\.json$/.test(p) && appManifest(p) && notUnder(p, "node_modules"),
    maxBytes: 32 * MB,
    maxCount: 50,
  },
  {
    kind: "python-metadata",
    test: (p) => /[^/]+\.dist-info\/METADATA$/.test(p),
    maxBytes: MB,
    maxCount: 20_000,
  },
  {
    kind: "gemfile-lock",
    test: (p) =>
      /(^|\/)Gemfile\.lock$/.test(p) && appManifest(p) && notUnder(p, "gems", "bundler", "node_modules"),
    maxBytes: 8 * MB,
    maxCount: 50,
  },
  {
    kind: "composer",
    test: (p) =>
      (/(^|\/)composer\.lock$/.test(p) && appManifest(p) && notUnder(p, "vendor", "node_modules")) ||
      /(^|\/)vendor\/composer\/installed\.json$/.test(p),
    maxBytes: 16 * MB,
    maxCount: 50,
  },
  {
    kind: "go-vendor",
    test: (p) =>
      /(^|\/)vendor\/modules\.txt$/.test(p) && appManifest(p) && notUnder(p, "pkg/mod", "node_modules"),
    maxBytes: 8 * MB,
    maxCount: 50,
  },
  {
    kind: "go-mod",
    test: (p) =>
      /(^|\/)go\.mod$/.test(p) &&
      appManifest(p) &&
      notUnder(p, "pkg/mod", "vendor", "node_modules", "go/src", "go/misc", "go/test"),
    maxBytes: MB,
    maxCount: 50,
  },
];

/**
 * Executables (mode & 0o111, ELF) are searched for Go build information as they stream by, none kept whole:
 * at most `maxBinaries` binaries' build information is kept, at most `maxFileBytes` of each executable and
 * `maxTotalBytes` of all of them are searched (podman's 33 MB binary: ~0.1 s read and searched, warm, on a
 * loaded 2-core machine).
 */
export interface GoBinaryLimits {
  maxBinaries: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}
export const GO_BINARY_LIMITS: GoBinaryLimits = {
  maxBinaries: 200,
  maxFileBytes: 256 * MB,
  maxTotalBytes: 2048 * MB,
};

/** All the collected files together stay under this many bytes. */
export const MAX_TOTAL_BYTES = 256 * MB;
const MAX_MANIFEST_BYTES = 4 * MB;

export interface ImageFile {
  kind: FileKind;
  path: string;
  /** Undefined for a symlink (see `link`) or a file whose presence is all that counts. */
  content?: Buffer;
  link?: string;
}

export interface ImageFiles {
  files: ImageFile[];
  /** What was not read and why (caps reached, oversized files): the SBOM lists it. */
  skipped: string[];
  layers: number;
}

interface LayerResult {
  files: Map<string, ImageFile>;
  whiteouts: string[];
  opaque: string[];
  /** Executables without Go build information: they replace a lower layer's file at the same path. */
  replaced: string[];
}

export function ruleFor(path: string): Rule | undefined {
  return RULES.find((r) => r.test(path));
}

function normalise(name: string): string {
  return name.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
}

type Chunks = AsyncIterable<unknown>;

/** Reads an entry to its end (an entry left unread would stall the tar parser). */
async function drain(s: Chunks): Promise<void> {
  for await (const _ of s) {
    // discarded
  }
}

/** The whole entry, or undefined when it is longer than `max` (read to its end all the same). */
async function readCapped(s: Chunks, max: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of s) {
    const c = chunk as Buffer;
    n += c.length;
    if (n <= max) parts.push(c);
  }
  return n <= max ? Buffer.concat(parts) : undefined;
}

class Budget {
  total = 0;
  /** Distinct paths per kind: a file rewritten by several layers (dpkg's status) counts once. */
  counts = new Map<FileKind, Set<string>>();
  skipped: string[] = [];
  private reportedCaps = new Set<FileKind>();
  goBinaries = new Set<string>();
  scanned = 0;
  scanSpentNoted = false;
  constructor(readonly go: GoBinaryLimits = GO_BINARY_LIMITS) {}
  take(rule: Rule, size: number, path: string): boolean {
    const paths = this.counts.get(rule.kind) ?? new Set<string>();
    this.counts.set(rule.kind, paths);
    if (!paths.has(path) && paths.size >= rule.maxCount) {
      if (!this.reportedCaps.has(rule.kind))
        this.skipped.push(`more than ${rule.maxCount} ${rule.kind} files: the rest were not read`);
      this.reportedCaps.add(rule.kind);
      return false;
    }
    if (size > rule.maxBytes && rule.maxBytes > 0) {
      this.skipped.push(`${path}: ${size} bytes, over the ${rule.maxBytes}-byte limit for ${rule.kind}`);
      return false;
    }
    if (this.total + size > MAX_TOTAL_BYTES) {
      this.skipped.push(`${path}: the ${MAX_TOTAL_BYTES}-byte budget for the files read was spent`);
      return false;
    }
    paths.add(path);
    this.total += size;
    return true;
  }
}

/**
 * An executable entry: searched for Go build information within the limits, the bytes after the header
 * kept; an ELF file without it (or not ELF) is drained. Undefined when nothing was found.
 */
async function scanExecutable(
  s: Chunks,
  path: string,
  size: number,
  budget: Budget,
): Promise<Buffer | undefined> {
  const limits = budget.go;
  if (size < 64 || budget.scanned >= limits.maxTotalBytes) {
    if (size >= 64 && !budget.scanSpentNoted) {
      budget.skipped.push(
        `/${path} and later executables were not searched for Go build information: the ${limits.maxTotalBytes}-byte budget for that was spent`,
      );
      budget.scanSpentNoted = true;
    }
    await drain(s);
    return undefined;
  }
  const scanner = new GoBuildInfoScanner();
  const allowed = Math.min(limits.maxFileBytes, limits.maxTotalBytes - budget.scanned);
  let n = 0;
  let elf: boolean | undefined;
  let head: Buffer = Buffer.alloc(0);
  for await (const chunk of s) {
    const c = chunk as Buffer;
    if (elf === undefined) {
      head = head.length ? Buffer.concat([head, c]) : c;
      if (head.length < 4) continue;
      elf = head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
      if (!elf) continue;
      const first = head.subarray(0, allowed);
      n += first.length;
      scanner.push(first);
      continue;
    }
    if (!elf || scanner.done || (n >= allowed && !scanner.capturing)) continue;
    const part = scanner.capturing ? c : c.subarray(0, allowed - n);
    n += part.length;
    scanner.push(part);
  }
  scanner.end();
  budget.scanned += Math.min(n, allowed);
  if (!elf) return undefined;
  if (!scanner.found && n >= allowed && size > n) {
    if (allowed < limits.maxFileBytes) {
      if (!budget.scanSpentNoted)
        budget.skipped.push(
          `/${path} and later executables were not searched for Go build information: the ${limits.maxTotalBytes}-byte budget for that was spent`,
        );
      budget.scanSpentNoted = true;
    } else
      budget.skipped.push(
        `/${path}: ${size} bytes, only the first ${limits.maxFileBytes} were searched for Go build information (none found there)`,
      );
  }
  if (!scanner.found || !scanner.bytes) return undefined;
  if (!budget.goBinaries.has(path) && budget.goBinaries.size >= limits.maxBinaries) {
    budget.skipped.push(
      `/${path}: more than ${limits.maxBinaries} Go binaries, the build information of this one was not read`,
    );
    return undefined;
  }
  if (budget.total + scanner.bytes.length > MAX_TOTAL_BYTES) {
    budget.skipped.push(`/${path}: the ${MAX_TOTAL_BYTES}-byte budget for the files read was spent`);
    return undefined;
  }
  budget.goBinaries.add(path);
  budget.total += scanner.bytes.length;
  return scanner.bytes;
}

/** One layer tar (plain or gzip-compressed): the matching files, whiteouts and opaque directories. */
async function readLayer(stream: Chunks, budget: Budget): Promise<LayerResult> {
  const result: LayerResult = { files: new Map(), whiteouts: [], opaque: [], replaced: [] };
  // gzip or not is decided on the first bytes (docker-archive layers are plain; OCI blobs may not be)
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next();
  const rest = Readable.from(
    (async function* () {
      if (!first.done) yield first.value;
      for (;;) {
        const n = await it.next();
        if (n.done) return;
        yield n.value;
      }
    })(),
  );
  const head = first.done ? undefined : (first.value as Buffer);
  const gz = head?.[0] === 0x1f && head[1] === 0x8b;
  const input = gz ? rest.pipe(createGunzip()) : rest;
  const extract = tar.extract();
  const done = new Promise<void>((res, rej) => {
    extract.on("finish", res);
    extract.on("error", rej);
    rest.on("error", rej);
    input.on("error", rej);
  });
  extract.on("entry", (header, entry, next) => {
    const path = normalise(header.name);
    const base = path.slice(path.lastIndexOf("/") + 1);
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    const finish = (p: Promise<unknown>) =>
      p.then(
        () => next(),
        (e) => next(e as Error),
      );
    if (base === ".wh..wh..opq") {
      result.opaque.push(dir);
      return finish(drain(entry));
    }
    if (base.startsWith(".wh.")) {
      result.whiteouts.push(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
      return finish(drain(entry));
    }
    const rule = ruleFor(path);
    if (!rule && header.type === "file" && ((header.mode ?? 0) & 0o111) !== 0)
      return finish(
        scanExecutable(entry, path, header.size ?? 0, budget).then((content) => {
          if (content) result.files.set(path, { kind: "go-binary", path, content });
          else result.replaced.push(path);
        }),
      );
    if (!rule || (header.type !== "file" && header.type !== "symlink")) return finish(drain(entry));
    if (header.type === "symlink") {
      if (rule.kind === "os-release" && header.linkname)
        result.files.set(path, { kind: rule.kind, path, link: header.linkname });
      return finish(drain(entry));
    }
    if (!budget.take(rule, header.size ?? 0, path)) return finish(drain(entry));
    if (rule.maxBytes === 0) {
      result.files.set(path, { kind: rule.kind, path });
      return finish(drain(entry));
    }
    finish(
      readCapped(entry, rule.maxBytes).then((content) => {
        if (content) result.files.set(path, { kind: rule.kind, path, content });
      }),
    );
  });
  input.pipe(extract);
  await done;
  return result;
}

function applyLayer(acc: Map<string, ImageFile>, layer: LayerResult): void {
  const removeUnder = (prefix: string, self: boolean) => {
    for (const p of acc.keys()) {
      if ((self && p === prefix) || prefix === "" || p.startsWith(`${prefix}/`)) acc.delete(p);
    }
  };
  for (const dir of layer.opaque) removeUnder(dir, false);
  for (const w of layer.whiteouts) removeUnder(w, true);
  for (const p of layer.replaced) acc.delete(p);
  for (const [p, f] of layer.files) acc.set(p, f);
}

/**
 * A docker-archive stream (manifest.json, one tar per layer) to the files the rules select, as the final
 * image has them.
 */
export async function readImageFiles(
  archive: Readable,
  goLimits: GoBinaryLimits = GO_BINARY_LIMITS,
): Promise<ImageFiles> {
  const budget = new Budget(goLimits);
  const layers = new Map<string, LayerResult>();
  let manifest: unknown;
  const extract = tar.extract();
  const done = new Promise<void>((res, rej) => {
    extract.on("finish", res);
    extract.on("error", rej);
    archive.on("error", rej);
  });
  extract.on("entry", (header, entry, next) => {
    const name = normalise(header.name);
    const step = async () => {
      if (name === "manifest.json") {
        const buf = await readCapped(entry, MAX_MANIFEST_BYTES);
        manifest = buf ? JSON.parse(buf.toString("utf8")) : undefined;
      } else if (
        header.type === "file" &&
        (name.endsWith(".tar") ||
          name.endsWith(".tar.gz") ||
          /^blobs\//.test(name) ||
          /^[0-9a-f]{64}$/.test(name))
      ) {
        layers.set(name, await readLayer(entry, budget));
      } else await drain(entry);
    };
    step().then(
      () => next(),
      (e) => next(e as Error),
    );
  });
  archive.pipe(extract);
  await done;
  const order = Array.isArray(manifest)
    ? ((manifest[0] as { Layers?: unknown })?.Layers as unknown)
    : undefined;
  if (!Array.isArray(order)) throw new Error("the image archive has no manifest.json listing its layers");
  const acc = new Map<string, ImageFile>();
  for (const l of order) {
    const layer = layers.get(normalise(String(l)));
    if (!layer) throw new Error(`the image archive lacks its layer ${String(l)}`);
    applyLayer(acc, layer);
  }
  return { files: [...acc.values()], skipped: budget.skipped, layers: order.length };
}
