/**
 * Go 1.13-1.17 build information (golang.ts): a header of two pointers followed through the ELF program
 * headers to the Go version and the module information, in a single pass over the file. On two real binaries
 * built by Go 1.15 (Debian 11's webhook, GOPATH mode, and esbuild's npm release, module mode; trimmed:
 * test/fixtures/sbom/go-legacy/README.md), on variants of the first made here (module information laid
 * where the linker lays it, hostile pointers and lengths, a cut file, a flipped byte-order flag), and on
 * small ELF files of the other classes and byte orders.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { buildCycloneDx } from "../../../src/sbom/cyclonedx.js";
import { GoBuildInfoScanner, goBinaryPackages, parseGoBuildInfo } from "../../../src/sbom/golang.js";
import { readImageFiles } from "../../../src/sbom/image-files.js";
import { inventory } from "../../../src/sbom/inventory.js";
import { validateCycloneDx } from "../../sbom-schemas.js";

const fixture = (name: string) =>
  gunzipSync(readFileSync(join(import.meta.dirname, "../../fixtures/sbom/go-legacy", name)));
/** Debian 11's webhook 2.6.9-1+b7: Go 1.15.9, GOPATH mode (no module information). */
const WEBHOOK = fixture("webhook.gz");
/** esbuild-linux-64 0.8.30 from the npm registry: Go 1.15.5, module mode. */
const ESBUILD = fixture("esbuild.gz");
/** The binary's layout, as readelf shows it (README.md): every file offset is its address less 0x400000. */
const BASE = 0x400000;
const HEADER_AT = 0x668000; // .go.buildinfo
const VERSION_HEADER_AT = 0x6a12c0; // runtime.buildVersion's string header, in .data
const VERSION_AT = 0x425504; // "go1.15.9", in .rodata
const MODINFO_HEADER_ADDR = 0xaadc70; // runtime.modinfo's string header, in .bss: ""
/** Zero bytes of the trimmed file, in .rodata (before the header) and .noptrdata and .data (after it). */
const RODATA_FREE = 0x500000;
const NOPTRDATA_FREE = 0x680000;
const DATA_FREE = 0x6a2000;

const START = Buffer.from("3077af0c9274080241e1c107e6d618e6", "hex");
const END = Buffer.from("f932433186182072008242104116d8f2", "hex");

function scan(bytes: Buffer, chunk: number): GoBuildInfoScanner {
  const s = new GoBuildInfoScanner();
  for (let i = 0; i < bytes.length; i += chunk) s.push(bytes.subarray(i, i + chunk));
  s.end();
  return s;
}

function read(bytes: Buffer, chunk = 64 * 1024, binary = "/usr/bin/webhook") {
  const s = scan(bytes, chunk);
  expect(s.found).toBe("pointers");
  const info = parseGoBuildInfo(s.bytes!);
  return { info, ...goBinaryPackages(info, binary), kept: s.bytes!.length };
}

/** A copy of the fixture changed by `edit`. */
function variant(edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(WEBHOOK);
  edit(b);
  return b;
}

/**
 * The fixture with module information, as a module-mode build has it: the framed string at file offset
 * `bytesAt` (.rodata before the header, as go.string.* symbols are, or after it), a string header for it in
 * .data, and the header's second pointer at that string header (Debian's build points into .bss: "").
 */
function withModInfo(lines: string[], bytesAt = RODATA_FREE, length?: bigint): Buffer {
  const mod = Buffer.concat([START, Buffer.from(`${lines.join("\n")}\n`), END]);
  return variant((b) => {
    mod.copy(b, bytesAt);
    b.writeBigUInt64LE(BigInt(bytesAt + BASE), DATA_FREE);
    b.writeBigUInt64LE(length ?? BigInt(mod.length), DATA_FREE + 8);
    b.writeBigUInt64LE(BigInt(DATA_FREE + BASE), HEADER_AT + 24);
  });
}

const WEBHOOK_MODULES = [
  "path\tgithub.com/adnanh/webhook",
  "mod\tgithub.com/adnanh/webhook\t(devel)\t",
  "dep\tgithub.com/fsnotify/fsnotify\tv1.4.9\t",
  "dep\tgithub.com/urfave/negroni\tv0.2.0\t",
];

describe("pre-1.18 Go build information: a real Go 1.15.9 binary", () => {
  it("the fixture is Debian's binary, trimmed: its header, and the string it leads to before it", () => {
    expect(WEBHOOK.length).toBe(7_000_984);
    const header = WEBHOOK.subarray(HEADER_AT, HEADER_AT + 32);
    expect(header.subarray(0, 16).toString("latin1")).toBe("\xff Go buildinf:\x08\x00");
    expect(header.readBigUInt64LE(16)).toBe(BigInt(VERSION_HEADER_AT + BASE));
    expect(header.readBigUInt64LE(24)).toBe(BigInt(MODINFO_HEADER_ADDR));
    expect(WEBHOOK.readBigUInt64LE(VERSION_HEADER_AT)).toBe(BigInt(VERSION_AT + BASE));
    expect(WEBHOOK.subarray(VERSION_AT, VERSION_AT + 8).toString()).toBe("go1.15.9");
    // what the test variants write to is zero
    for (const at of [RODATA_FREE, NOPTRDATA_FREE, DATA_FREE])
      expect(WEBHOOK.subarray(at, at + 4096).every((x) => x === 0)).toBe(true);
  });

  it("reads go1.15.9 as the standard library, in any chunking; no module information (GOPATH build), said so", () => {
    for (const chunk of [4093, 64 * 1024, WEBHOOK.length]) {
      const { info, packages, notes, kept } = read(WEBHOOK, chunk);
      expect(info, `chunk ${chunk}`).toMatchObject({ format: "pointers", goVersion: "go1.15.9", deps: [] });
      expect(info.main).toBeUndefined();
      expect(info.unread).toBeUndefined();
      expect(kept, `chunk ${chunk}`).toBeLessThan(100); // the header and the two strings, not the file
      expect(packages.map((p) => [p.name, p.version, p.purl, p.foundIn, p.properties])).toEqual([
        [
          "stdlib",
          "1.15.9",
          "pkg:golang/stdlib@1.15.9",
          "/usr/bin/webhook",
          { "hop3:go:toolchain": "go1.15.9" },
        ],
      ]);
      expect(notes).toEqual([
        "Go binary /usr/bin/webhook: built without module information (GOPATH mode, as Debian builds its Go packages): only its Go version is known",
      ]);
    }
  });

  it("esbuild (Go 1.15.5, module mode): its main module, its dependency at its exact version and sum", () => {
    for (const chunk of [4093, 64 * 1024, ESBUILD.length]) {
      const { info, packages, notes } = read(ESBUILD, chunk, "/usr/local/bin/esbuild");
      expect(info, `chunk ${chunk}`).toMatchObject({
        format: "pointers",
        goVersion: "go1.15.5",
        path: "github.com/evanw/esbuild/cmd/esbuild",
        main: { path: "github.com/evanw/esbuild", version: "(devel)" },
        deps: [
          {
            path: "golang.org/x/sys",
            version: "v0.0.0-20200501145240-bc7a7d42d5c3",
            sum: "h1:5B6i6EAiSYyejWfvc5Rc9BbI3rzIsrrXfAQBWnYfn+w=",
          },
        ],
        truncated: false,
      });
      expect(notes).toEqual([]);
      expect(packages.map((p) => [p.name, p.version, p.purl, p.properties])).toEqual([
        [
          "github.com/evanw/esbuild",
          "(devel)",
          "pkg:golang/github.com/evanw/esbuild",
          { "hop3:go:module": "main" },
        ],
        [
          "golang.org/x/sys",
          "v0.0.0-20200501145240-bc7a7d42d5c3",
          "pkg:golang/golang.org/x/sys@v0.0.0-20200501145240-bc7a7d42d5c3",
          undefined,
        ],
        ["stdlib", "1.15.5", "pkg:golang/stdlib@1.15.5", { "hop3:go:toolchain": "go1.15.5" }],
      ]);
    }
  });

  it("module information laid before the header (.rodata) or after it: its modules at their versions", () => {
    // before the header; after it but before its string header; after its string header
    for (const at of [RODATA_FREE, NOPTRDATA_FREE, DATA_FREE + 0x1000])
      for (const chunk of [4093, 64 * 1024]) {
        const { info, packages, notes } = read(withModInfo(WEBHOOK_MODULES, at), chunk);
        expect(info.path).toBe("github.com/adnanh/webhook");
        expect(notes, `at ${at.toString(16)}, chunk ${chunk}`).toEqual([]);
        expect(packages.map((p) => [p.name, p.version, p.purl])).toEqual([
          ["github.com/adnanh/webhook", "(devel)", "pkg:golang/github.com/adnanh/webhook"],
          ["github.com/fsnotify/fsnotify", "v1.4.9", "pkg:golang/github.com/fsnotify/fsnotify@v1.4.9"],
          ["github.com/urfave/negroni", "v0.2.0", "pkg:golang/github.com/urfave/negroni@v0.2.0"],
          ["stdlib", "1.15.9", "pkg:golang/stdlib@1.15.9"],
        ]);
      }
  });

  it("module information longer than the window: its complete lines, said so", () => {
    const many = Array.from({ length: 6000 }, (_, i) => `dep\texample.com/m${i}\tv1.0.${i}\t`);
    const { info, packages, notes } = read(withModInfo(["mod\texample.com/big\tv1.0.0\t", ...many]));
    expect(info.truncated).toBe(true);
    expect(info.deps.length).toBeGreaterThan(1000);
    expect(info.deps.length).toBeLessThan(6000);
    expect(packages.at(-1)?.purl).toBe("pkg:golang/stdlib@1.15.9");
    expect(notes.join("\n")).toMatch(/longer than the 131072 bytes read: only part of its modules/);
  });

  it("in an image: components of a schema-valid SBOM, and the notes", async () => {
    const pack = tar.pack();
    pack.entry({ name: "usr/bin/webhook", mode: 0o755 }, WEBHOOK);
    pack.entry({ name: "usr/local/bin/esbuild", mode: 0o755 }, ESBUILD);
    pack.entry(
      { name: "usr/local/bin/broken", mode: 0o755 },
      variant((b) => b.writeUInt8(1, HEADER_AT + 15)),
    );
    pack.finalize();
    const layer: Buffer[] = [];
    for await (const c of pack) layer.push(c as Buffer);
    const outer = tar.pack();
    const name = `${"c".repeat(64)}.tar`;
    outer.entry({ name }, Buffer.concat(layer));
    outer.entry(
      { name: "manifest.json" },
      JSON.stringify([{ Config: "c.json", RepoTags: [], Layers: [name] }]),
    );
    outer.finalize();
    const archive: Buffer[] = [];
    for await (const c of outer) archive.push(c as Buffer);
    const inv = inventory(await readImageFiles(Readable.from([Buffer.concat(archive)])));
    expect(inv.packages.filter((p) => p.ecosystem === "golang").map((p) => [p.purl, p.foundIn])).toEqual([
      ["pkg:golang/stdlib@1.15.9", "/usr/bin/webhook"],
      ["pkg:golang/github.com/evanw/esbuild", "/usr/local/bin/esbuild"],
      ["pkg:golang/golang.org/x/sys@v0.0.0-20200501145240-bc7a7d42d5c3", "/usr/local/bin/esbuild"],
      ["pkg:golang/stdlib@1.15.5", "/usr/local/bin/esbuild"],
    ]);
    expect(inv.incomplete).toEqual(
      expect.arrayContaining([
        "Go binary /usr/bin/webhook: built without module information (GOPATH mode, as Debian builds its Go packages): only its Go version is known",
        "Go binary /usr/local/bin/broken: build info in the pre-1.18 format, not read: its header says big-endian, the ELF file is little-endian",
      ]),
    );
    const doc = buildCycloneDx(
      {
        app: "hooks",
        release: 1,
        image: "localhost/hop3/hooks:r1",
        imageId: `sha256:${"ab".repeat(32)}`,
        sourceKind: "containerfile",
        hop3Version: "0.1.0",
        timestamp: new Date("2026-12-06T06:00:00Z"),
      },
      inv,
    );
    expect(validateCycloneDx(doc), JSON.stringify(validateCycloneDx.errors)).toBe(true);
  });
});

describe("pre-1.18 Go build information: hostile and damaged binaries are a 'not read' note with the reason", () => {
  const notRead = (bytes: Buffer, reason: RegExp, chunks = [4093, 64 * 1024, bytes.length]) => {
    for (const chunk of chunks) {
      let got: ReturnType<typeof read> | undefined;
      expect(() => {
        got = read(bytes, chunk);
      }).not.toThrow();
      expect(got!.packages, `chunk ${chunk}`).toEqual([]);
      expect(got!.notes).toHaveLength(1);
      expect(got!.notes[0]).toMatch(
        /^Go binary \/usr\/bin\/webhook: build info in the pre-1\.18 format, not read: /,
      );
      expect(got!.notes[0]).toMatch(reason);
      expect(got!.kept).toBeLessThan(400);
    }
  };
  const versionHeader = (data: bigint, length: bigint) =>
    variant((b) => {
      b.writeBigUInt64LE(data, VERSION_HEADER_AT);
      b.writeBigUInt64LE(length, VERSION_HEADER_AT + 8);
    });

  it("a pointer outside every segment", () => {
    notRead(
      variant((b) => b.writeBigUInt64LE(0xdead0000n, HEADER_AT + 16)),
      /the Go version's string header \(at 0xdead0000\) is outside every loaded segment$/,
    );
    notRead(
      variant((b) => b.writeBigUInt64LE(0xffffffffffffffffn, HEADER_AT + 16)),
      /outside every loaded segment$/,
    );
    notRead(versionHeader(0x10n, 8n), /the Go version \(at 0x10\) is outside every loaded segment$/);
  });

  it("a huge or impossible length; a string in zero-filled memory; an empty version", () => {
    notRead(
      versionHeader(BigInt(VERSION_AT + BASE), 1n << 62n),
      /the Go version is said to be 4611686018427387904 bytes long$/,
    );
    // within the version's bound, past the end of .rodata's segment (0xa67388)
    notRead(
      versionHeader(0xa67380n, 100n),
      /the Go version \(100 bytes at 0xa67380\) runs past the end of its segment$/,
    );
    notRead(versionHeader(0xab0000n, 8n), /the Go version \(at 0xab0000\) is in zero-filled memory$/);
    notRead(
      variant((b) => b.writeBigUInt64LE(BigInt(MODINFO_HEADER_ADDR), HEADER_AT + 16)),
      /its Go version is empty$/,
    );
    // the module information's length: the version is read, the modules are not
    const { packages, notes } = read(withModInfo(WEBHOOK_MODULES, RODATA_FREE, 1n << 40n));
    expect(packages.map((p) => p.purl)).toEqual(["pkg:golang/stdlib@1.15.9"]);
    expect(notes).toEqual([
      "Go binary /usr/bin/webhook: module information in the pre-1.18 format, not read: the module information (1099511627776 bytes at 0x900000) runs past the end of its segment: only its Go version is known",
    ]);
  });

  it("a string header pointing at itself, or at bytes that were not kept", () => {
    notRead(versionHeader(BigInt(VERSION_HEADER_AT + BASE), 16n), /its Go version is not text \(16 bytes\)$/);
    // 4 bytes before "go1.15.9": the bytes kept start at the version, not before it (pushed as one chunk,
    // the whole file is in hand, and those bytes are read: zeros, not a version)
    const before = versionHeader(BigInt(VERSION_AT + BASE - 4), 12n);
    notRead(
      before,
      /the Go version \(12 bytes at file offset 0x425500\) is before the build-info header, and not kept$/,
      [4093, 64 * 1024],
    );
    notRead(before, /its Go version is not text \(12 bytes\)$/, [before.length]);
  });

  it("a cut file", () => {
    notRead(
      WEBHOOK.subarray(0, 0x6a0000),
      /the Go version's string header \(16 bytes at file offset 0x6a12c0\) is beyond the 6946816 bytes read$/,
    );
    notRead(WEBHOOK.subarray(0, HEADER_AT + 32), /beyond the 6717472 bytes read$/);
    // cut before the header: no build information at all (not a Go binary to this reader)
    expect(scan(WEBHOOK.subarray(0, HEADER_AT + 16), 64 * 1024).found).toBeUndefined();
  });

  it("the byte order flag flipped, a pointer size that is not the file's, broken program headers", () => {
    notRead(
      variant((b) => b.writeUInt8(1, HEADER_AT + 15)),
      /its header says big-endian, the ELF file is little-endian$/,
    );
    notRead(
      variant((b) => b.writeUInt8(4, HEADER_AT + 14)),
      /its header has 4-byte pointers, the ELF file is 64-bit$/,
    );
    notRead(
      variant((b) => b.writeUInt16LE(0xffff, 0x38)),
      /its program header table \(65535 entries of 56 bytes\) is not one to follow$/,
    );
    notRead(
      variant((b) => b.writeBigUInt64LE(1n << 60n, 0x20)),
      /its program headers are at an impossible file offset \(0x1000000000000000\)$/,
    );
    notRead(
      variant((b) => b.fill(0, 0x40, 0x40 + 10 * 56)),
      /the ELF file has no loadable segment$/,
    );
    // the ELF file's own byte order flipped: its header's fields read big-endian are nonsense
    notRead(
      variant((b) => b.writeUInt8(2, 5)),
      /its program header table \(2560 entries of 14336 bytes\) is not one to follow$/,
    );
  });
});

describe("pre-1.18 Go build information: ELF classes and byte orders", () => {
  /**
   * A small ELF executable laid out as cmd/link lays one: read-only data (the strings) in one PT_LOAD
   * segment, then the data segment with the build-info header first, the string headers after it and a
   * zero-filled tail.
   */
  function elf(is64: boolean, le: boolean, version: string, modLines?: string[]): Buffer {
    const b = Buffer.alloc(0x3000);
    const ptr = is64 ? 8 : 4;
    const w16 = (v: number, at: number) => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
    const w32 = (v: number, at: number) => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
    const wp = (v: number, at: number) =>
      is64 ? (le ? b.writeBigUInt64LE(BigInt(v), at) : b.writeBigUInt64BE(BigInt(v), at)) : w32(v, at);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1]).copy(b);
    const phoff = is64 ? 64 : 52;
    const phentsize = is64 ? 56 : 32;
    wp(phoff, is64 ? 0x20 : 0x1c);
    w16(phentsize, is64 ? 0x36 : 0x2a);
    w16(2, is64 ? 0x38 : 0x2c);
    const load = (i: number, flags: number, offset: number, vaddr: number, filesz: number, memsz: number) => {
      const p = phoff + i * phentsize;
      w32(1, p);
      w32(flags, is64 ? p + 4 : p + 24);
      if (is64) {
        wp(offset, p + 8);
        wp(vaddr, p + 16);
        wp(filesz, p + 32);
        wp(memsz, p + 40);
      } else {
        w32(offset, p + 4);
        w32(vaddr, p + 8);
        w32(filesz, p + 16);
        w32(memsz, p + 20);
      }
    };
    load(0, 4, 0x1000, 0x8049000, 0x1000, 0x1000); // read-only data (R)
    load(1, 6, 0x2000, 0x804b000, 0x100, 0x1000); // data, then .bss (RW)
    Buffer.from(version).copy(b, 0x1010);
    Buffer.from("\xff Go buildinf:", "latin1").copy(b, 0x2000);
    b[0x200e] = ptr;
    b[0x200f] = le ? 0 : 1;
    wp(0x804b040, 0x2010);
    wp(0x804b040 + 2 * ptr, 0x2010 + ptr);
    wp(0x8049010, 0x2040);
    wp(version.length, 0x2040 + ptr);
    if (modLines) {
      const mod = Buffer.concat([START, Buffer.from(`${modLines.join("\n")}\n`), END]);
      mod.copy(b, 0x1100);
      wp(0x8049100, 0x2040 + 2 * ptr);
      wp(mod.length, 0x2040 + 3 * ptr);
    } else wp(0x804b800, 0x2010 + ptr); // in .bss: ""
    return b;
  }

  it("64- and 32-bit, little- and big-endian, in any chunking", () => {
    for (const is64 of [true, false])
      for (const le of [true, false])
        for (const chunk of [1, 7, 1000, 0x3000]) {
          const what = `${is64 ? 64 : 32}-bit ${le ? "little" : "big"}-endian, chunk ${chunk}`;
          const mod = read(elf(is64, le, "go1.13.15", ["mod\texample.com/a\tv1.2.3\th1:x="]), chunk, "/a");
          expect(mod.notes, what).toEqual([]);
          expect(
            mod.packages.map((p) => p.purl),
            what,
          ).toEqual(["pkg:golang/example.com/a@v1.2.3", "pkg:golang/stdlib@1.13.15"]);
          const gopath = read(elf(is64, le, "go1.17.13"), chunk, "/b");
          expect(
            gopath.packages.map((p) => p.purl),
            what,
          ).toEqual(["pkg:golang/stdlib@1.17.13"]);
          expect(gopath.notes.join("\n"), what).toMatch(/built without module information/);
        }
  });

  it("a header of the wrong pointer size or byte order for its file", () => {
    const b = elf(false, false, "go1.16.15");
    b[0x200e] = 8;
    expect(read(b, 1000).notes).toEqual([
      "Go binary /usr/bin/webhook: build info in the pre-1.18 format, not read: its header has 8-byte pointers, the ELF file is 32-bit",
    ]);
    const c = elf(true, false, "go1.16.15");
    c[0x200f] = 0;
    expect(read(c, 1000).notes[0]).toMatch(/its header says little-endian, the ELF file is big-endian$/);
  });
});
