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
// Build information of Go binaries (Go 1.18+): the linker writes a 32-byte header at the start of the
// `.go.buildinfo` section (16-byte aligned): the magic, the pointer size, flags, zero padding; with flag 0x2
// the toolchain version and the module information follow inline as uvarint-length-prefixed strings. Older
// toolchains wrote two pointers into the data segment instead, which this reader does not follow. Same format
// as Go's debug/buildinfo and runtime/debug.ParseBuildInfo.

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

/**
 * Finds a binary's build-info header in its bytes, pushed in order and in any chunks, without keeping them:
 * only the magic at a 16-byte-aligned file offset counts (as in debug/buildinfo), and what follows an inline
 * header is kept up to `window` bytes. A header in the old format is remembered and the search goes on, since
 * the magic can also occur as plain data (a binary that links debug/buildinfo has it in its read-only data).
 */
export class GoBuildInfoScanner {
  /** File offset of the next byte pushed. */
  private offset = 0;
  /** The last bytes pushed when they may begin a header (a header split between chunks). */
  private carry: Buffer = EMPTY;
  private parts: Buffer[] | undefined;
  private got = 0;
  found: GoBuildInfoFormat | undefined;
  /** From the magic on: up to `window` bytes (inline), or the 32-byte header (pointers). */
  bytes: Buffer | undefined;
  constructor(private readonly window = GO_BUILDINFO_WINDOW) {}

  /** True while the bytes after an inline header are being kept. */
  get capturing(): boolean {
    return this.parts !== undefined;
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
        if (this.got >= this.window) this.end();
        return;
      }
      if (format === "pointers" && !this.found) {
        this.found = "pointers";
        this.bytes = Buffer.from(buf.subarray(i, i + HEADER_BYTES));
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

  /** The input's end (or enough of it): an inline header's window is closed, cut to what it holds. */
  end(): void {
    if (!this.parts) return;
    const all = Buffer.concat(this.parts);
    this.parts = undefined;
    const n = inlineLength(all);
    this.bytes = n !== undefined && n < all.length ? Buffer.from(all.subarray(0, n)) : all;
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
}

/** What GoBuildInfoScanner kept (the header on): the version and modules, as runtime/debug.ParseBuildInfo. */
export function parseGoBuildInfo(b: Buffer): GoBuildInfo {
  const format = goBuildInfoFormat(b);
  if (!format) throw new Error("not a Go build-info header");
  const info: GoBuildInfo = { format, deps: [], settings: [], truncated: false };
  if (format === "pointers") return info;
  const v = uvarint(b, HEADER_BYTES);
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
  if (info.format === "pointers")
    return { packages: [], notes: [`Go binary ${binary}: build info in the pre-1.18 format, not read`] };
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
  // the Go distribution's own tools (cmd/go, cmd/compile...) are built from the standard library's tree
  if (!info.main && !info.path?.startsWith("cmd/"))
    notes.push(
      `Go binary ${binary}${info.path ? ` (${info.path})` : ""}: built without module information (GOPATH mode, as Debian builds its Go packages): only its Go version is known`,
    );
  if (info.truncated)
    notes.push(
      `Go binary ${binary}: its build info is longer than the ${GO_BUILDINFO_WINDOW} bytes read: only part of its modules are listed`,
    );
  return { packages, notes };
}
