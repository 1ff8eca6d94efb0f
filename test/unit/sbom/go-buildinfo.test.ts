/**
 * Go binaries' build information (issue 13, "Go: build info of binaries"): the header found in a stream of
 * any chunking, the module information parsed as runtime/debug.ParseBuildInfo does, the modules and the
 * standard library as components of a schema-valid SBOM, the limits on the work, and the real Go programs of
 * this host when present.
 */
import { createReadStream, existsSync } from "node:fs";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { parseOsv } from "../../../src/audit/importers.js";
import { matchPurls, purlsOfCycloneDx } from "../../../src/audit/match.js";
import { buildCycloneDx, incompleteNotes } from "../../../src/sbom/cyclonedx.js";
import {
  GoBuildInfoScanner,
  goBinaryPackages,
  parseGoBuildInfo,
  stdlibVersion,
} from "../../../src/sbom/golang.js";
import { type GoBinaryLimits, readImageFiles } from "../../../src/sbom/image-files.js";
import { inventory } from "../../../src/sbom/inventory.js";
import { toSpdx } from "../../../src/sbom/spdx.js";
import { validateCycloneDx, validateSpdx } from "../../sbom-schemas.js";

const MAGIC = Buffer.from("\xff Go buildinf:", "latin1");
const START = Buffer.from("3077af0c9274080241e1c107e6d618e6", "hex");
const END = Buffer.from("f932433186182072008242104116d8f2", "hex");

function uvarint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
const str = (s: string | Buffer) => {
  const b = typeof s === "string" ? Buffer.from(s) : s;
  return Buffer.concat([uvarint(b.length), b]);
};

const modInfo = (lines: string[] | undefined) =>
  lines ? Buffer.concat([START, Buffer.from(`${lines.join("\n")}\n`), END]) : Buffer.alloc(0);

/** The `.go.buildinfo` section as Go 1.18+'s linker writes it (cmd/link's buildinfo()). */
function buildInfoSection(goVersion: string, lines: string[] | undefined): Buffer {
  const header = Buffer.alloc(32);
  MAGIC.copy(header);
  header[14] = 8;
  header[15] = 2;
  const data = Buffer.concat([header, str(goVersion), str(modInfo(lines))]);
  return Buffer.concat([data, Buffer.alloc((16 - (data.length % 16)) % 16)]);
}

/** Go 1.13-1.17's header: two pointers into the data segment. */
function oldSection(): Buffer {
  const header = Buffer.alloc(32);
  MAGIC.copy(header);
  header[14] = 8;
  header[15] = 0;
  header.writeBigUInt64LE(0x4c1230n, 16);
  header.writeBigUInt64LE(0x4c1240n, 24);
  return header;
}

/**
 * An ELF-looking file with the section at a 16-aligned offset, and the magic also as plain data before it:
 * unaligned, and aligned but not followed by a header (as a binary linking debug/buildinfo has it).
 */
function fakeBinary(section: Buffer, size = 200_000): Buffer {
  const b = Buffer.alloc(size, 0x90);
  Buffer.from("\x7fELF\x02\x01\x01", "latin1").copy(b);
  MAGIC.copy(b, 1001); // unaligned
  Buffer.concat([MAGIC, Buffer.from("debug/buildinfo")]).copy(b, 2048); // aligned, not a header
  section.copy(b, 150_000 - (150_000 % 16));
  return b;
}

const LINES = [
  "path\texample.com/shop/cmd/server",
  "mod\texample.com/shop\t(devel)\t",
  "dep\tgithub.com/gorilla/mux\tv1.8.1\th1:TuBL49tXwgrFYWhqrNgrUNEY92u81SPhu7sTdzQEiWY=",
  "dep\tgolang.org/x/text\tv0.14.0\th1:abc=",
  "=>\tgolang.org/x/text\tv0.15.0\th1:def=",
  "dep\texample.com/lib\tv1.0.0\th1:ghi=",
  "=>\t../lib\t\t",
  "build\t-compiler=gc",
  "build\tCGO_ENABLED=0",
  "build\tvcs.revision=0123456789abcdef",
];

function scan(bytes: Buffer, chunk: number): GoBuildInfoScanner {
  const s = new GoBuildInfoScanner();
  for (let i = 0; i < bytes.length; i += chunk) s.push(bytes.subarray(i, i + chunk));
  s.end();
  return s;
}

async function tarOf(entries: Record<string, { data: Buffer | string; mode?: number }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, v] of Object.entries(entries)) pack.entry({ name, mode: v.mode ?? 0o644 }, v.data);
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of pack) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function dockerArchive(layers: Buffer[]): Promise<Readable> {
  const name = (i: number) => `${String(i).padStart(64, "b")}.tar`;
  const files: Record<string, { data: Buffer | string }> = {};
  layers.forEach((l, i) => {
    files[name(i)] = { data: l };
  });
  files["manifest.json"] = {
    data: JSON.stringify([{ Config: "c.json", RepoTags: [], Layers: layers.map((_, i) => name(i)) }]),
  };
  return Readable.from([await tarOf(files)]);
}

const facts = {
  app: "gosvc",
  release: 1,
  image: "localhost/hop3/gosvc:r1",
  imageId: `sha256:${"ef".repeat(32)}`,
  sourceKind: "containerfile",
  hop3Version: "0.1.0",
  timestamp: new Date("2026-12-06T06:00:00Z"),
};

describe("Go build information", () => {
  it("finds the aligned header in any chunking, skipping the magic as plain data, and keeps only its bytes", () => {
    const section = buildInfoSection("go1.22.3", LINES);
    const bin = fakeBinary(section);
    for (const chunk of [1, 7, 13, 16, 31, 4096, 65_536, bin.length]) {
      const s = scan(bin, chunk);
      expect(s.found, `chunk ${chunk}`).toBe("inline");
      // header, version and module information: the padding and the rest of the file are not kept
      expect(s.bytes!.length, `chunk ${chunk}`).toBe(
        32 + str("go1.22.3").length + str(modInfo(LINES)).length,
      );
      expect(section.subarray(0, s.bytes!.length).equals(s.bytes!), `chunk ${chunk}`).toBe(true);
    }
    // a section at an unaligned offset is not one (debug/buildinfo searches 16-byte steps too)
    const shifted = Buffer.alloc(4096, 0x90);
    section.copy(shifted, 1000 + 3);
    expect(scan(shifted, 512).found).toBeUndefined();
    expect(scan(Buffer.alloc(100_000, 0xff), 4096).found).toBeUndefined();
  });

  it("parses the modules: main module (devel), dependencies, replacements, the toolchain as stdlib", () => {
    const info = parseGoBuildInfo(scan(fakeBinary(buildInfoSection("go1.22.3", LINES)), 4096).bytes!);
    expect(info).toMatchObject({
      format: "inline",
      goVersion: "go1.22.3",
      path: "example.com/shop/cmd/server",
      main: { path: "example.com/shop", version: "(devel)" },
      truncated: false,
    });
    expect(info.deps).toHaveLength(3);
    expect(info.settings).toContainEqual(["CGO_ENABLED", "0"]);
    const { packages, notes } = goBinaryPackages(info, "/app/server");
    expect(notes).toEqual([]);
    expect(packages.map((p) => [p.name, p.version, p.purl, p.foundIn, p.properties])).toEqual([
      [
        "example.com/shop",
        "(devel)",
        "pkg:golang/example.com/shop",
        "/app/server",
        { "hop3:go:module": "main" },
      ],
      [
        "github.com/gorilla/mux",
        "v1.8.1",
        "pkg:golang/github.com/gorilla/mux@v1.8.1",
        "/app/server",
        undefined,
      ],
      [
        "golang.org/x/text",
        "v0.15.0",
        "pkg:golang/golang.org/x/text@v0.15.0",
        "/app/server",
        { "hop3:go:replaces": "golang.org/x/text@v0.14.0" },
      ],
      [
        "example.com/lib",
        "v1.0.0",
        "pkg:golang/example.com/lib@v1.0.0",
        "/app/server",
        { "hop3:go:replaced-by": "../lib" },
      ],
      ["stdlib", "1.22.3", "pkg:golang/stdlib@1.22.3", "/app/server", { "hop3:go:toolchain": "go1.22.3" }],
    ]);
  });

  it("spells the toolchain as OSV's stdlib versions; a development toolchain or missing modules are noted", () => {
    expect(stdlibVersion("go1.22.3")).toBe("1.22.3");
    expect(stdlibVersion("go1.20")).toBe("1.20.0");
    expect(stdlibVersion("go1.21rc2")).toBe("1.21.0-rc.2");
    expect(stdlibVersion("go1.22.3 X:boringcrypto")).toBe("1.22.3");
    expect(stdlibVersion("devel go1.23-4b4e4f1 Tue Jan 2 2024")).toBeUndefined();
    const devel = goBinaryPackages(
      parseGoBuildInfo(buildInfoSection("devel go1.23-4b4e4f1", undefined)),
      "/usr/bin/tool",
    );
    expect(devel.packages).toEqual([]);
    expect(devel.notes.join("\n")).toMatch(/standard library version is unknown/);
    expect(devel.notes.join("\n")).toMatch(/built without module information/);
    // the Go toolchain's own commands: their standard library, no note
    const goTool = goBinaryPackages(
      parseGoBuildInfo(buildInfoSection("go1.19.8", ["path\tcmd/compile", "build\t-compiler=gc"])),
      "/layers/hop3_go/go-dist/pkg/tool/linux_amd64/compile",
    );
    expect(goTool.packages.map((p) => p.purl)).toEqual(["pkg:golang/stdlib@1.19.8"]);
    expect(goTool.notes).toEqual([]);
    // a malformed replacement is an error (inventory turns it into a 'could not read' note)
    expect(() => parseGoBuildInfo(buildInfoSection("go1.22.3", ["=>\ta\tv1\th"]))).toThrow(/replacement/);
  });

  it("a binary in an image: its modules in a schema-valid SBOM; a later layer's non-Go file replaces it", async () => {
    const go = fakeBinary(buildInfoSection("go1.22.3", LINES));
    const other = fakeBinary(
      buildInfoSection("go1.21.11", [
        "mod\texample.com/tool\tv0.3.0\th1:x=",
        "dep\tgithub.com/gorilla/mux\tv1.8.1\th1:y=",
      ]),
    );
    const archive = await dockerArchive([
      await tarOf({
        "app/server": { data: go, mode: 0o755 },
        "app/server.copy": { data: go, mode: 0o644 }, // not executable: not searched
        "app/run.sh": { data: `#!/bin/sh\n${"x".repeat(100)}`, mode: 0o755 },
        "usr/local/bin/tool": { data: other, mode: 0o755 },
      }),
    ]);
    const inv = inventory(await readImageFiles(archive));
    const byPurl = new Map(inv.packages.map((p) => [p.purl, p]));
    expect([...byPurl.keys()].filter((p) => p.startsWith("pkg:golang/")).sort()).toEqual([
      "pkg:golang/example.com/lib@v1.0.0",
      "pkg:golang/example.com/shop",
      "pkg:golang/example.com/tool@v0.3.0",
      "pkg:golang/github.com/gorilla/mux@v1.8.1",
      "pkg:golang/golang.org/x/text@v0.15.0",
      "pkg:golang/stdlib@1.21.11",
      "pkg:golang/stdlib@1.22.3",
    ]);
    // one component per purl, from the first binary that has it
    expect(byPurl.get("pkg:golang/github.com/gorilla/mux@v1.8.1")!.foundIn).toBe("/app/server");
    expect(byPurl.get("pkg:golang/stdlib@1.21.11")!.foundIn).toBe("/usr/local/bin/tool");
    expect(inv.incomplete.join("\n")).toMatch(/no OS package database/);
    expect(inv.incomplete.join("\n")).not.toMatch(/Go binary/);

    const doc = buildCycloneDx(facts, inv);
    expect(validateCycloneDx(doc), JSON.stringify(validateCycloneDx.errors)).toBe(true);
    const comps = doc.components as {
      name: string;
      purl?: string;
      properties?: { name: string; value: string }[];
    }[];
    expect(comps.find((c) => c.purl === "pkg:golang/golang.org/x/text@v0.15.0")!.properties).toEqual(
      expect.arrayContaining([
        { name: "hop3:found-in", value: "/app/server" },
        { name: "hop3:go:replaces", value: "golang.org/x/text@v0.14.0" },
      ]),
    );
    const spdx = toSpdx(doc);
    expect(validateSpdx(spdx), JSON.stringify(validateSpdx.errors)).toBe(true);

    // the stdlib purl meets OSV's Go records as written (package "stdlib", versions without "v"):
    // GO-2024-2887 (CVE-2024-24790, net/netip) affects 1.22.3, fixed in 1.22.4; 1.21.11 is fixed
    const db = parseOsv([
      {
        id: "GO-2024-2887",
        aliases: ["CVE-2024-24790"],
        affected: [
          {
            package: { name: "stdlib", ecosystem: "Go" },
            ranges: [
              {
                type: "SEMVER",
                events: [
                  { introduced: "0" },
                  { fixed: "1.21.11" },
                  { introduced: "1.22.0-0" },
                  { fixed: "1.22.4" },
                ],
              },
            ],
          },
        ],
      },
    ]);
    const audit = matchPurls(purlsOfCycloneDx(doc), (eco, name) =>
      db.records.filter((r) => r.ecosystem === eco && r.package === name),
    );
    expect(audit.findings.map((f) => [f.package, f.installed, f.fixed, f.advisory])).toEqual([
      ["stdlib", "1.22.3", "1.22.4", "GO-2024-2887"],
    ]);

    // v2 of the image rebuilds /app/server without build information: its old modules are gone
    const stripped = Buffer.alloc(100_000, 0x90);
    Buffer.from("\x7fELF", "latin1").copy(stripped);
    const later = inventory(
      await readImageFiles(
        await dockerArchive([
          await tarOf({ "app/server": { data: go, mode: 0o755 } }),
          await tarOf({ "app/server": { data: stripped, mode: 0o755 } }),
        ]),
      ),
    );
    expect(later.packages.filter((p) => p.ecosystem === "golang")).toEqual([]);
  });

  it("an unreadable pre-1.18 binary and every bound hit are said in the incomplete notes", async () => {
    const bin = (v: string) => fakeBinary(buildInfoSection(v, ["mod\texample.com/a\tv1.0.0\th1:x="]));
    const archive = async () =>
      dockerArchive([
        await tarOf({
          "bin/old": { data: fakeBinary(oldSection()), mode: 0o755 },
          "bin/a": { data: bin("go1.22.1"), mode: 0o755 },
          "bin/b": { data: bin("go1.22.2"), mode: 0o755 },
          "bin/c": { data: bin("go1.22.3"), mode: 0o755 },
        }),
      ]);
    const limits = (l: Partial<GoBinaryLimits>): GoBinaryLimits => ({
      maxBinaries: 200,
      maxFileBytes: 256 * 1024 * 1024,
      maxTotalBytes: 2048 * 1024 * 1024,
      ...l,
    });
    const all = inventory(await readImageFiles(await archive(), limits({})));
    // a pre-1.18 header in a file that is not a real ELF binary: its pointers lead nowhere (the real ones:
    // go-buildinfo-legacy.test.ts)
    expect(all.incomplete).toContain(
      "Go binary /bin/old: build info in the pre-1.18 format, not read: its program header table (37008 entries of 37008 bytes) is not one to follow",
    );
    expect(all.packages.filter((p) => p.name === "stdlib").map((p) => p.version)).toEqual([
      "1.22.1",
      "1.22.2",
      "1.22.3",
    ]);

    const two = inventory(await readImageFiles(await archive(), limits({ maxBinaries: 2 })));
    expect(two.packages.filter((p) => p.name === "stdlib").map((p) => p.version)).toEqual(["1.22.1"]);
    expect(two.incomplete.join("\n")).toMatch(/\/bin\/b: more than 2 Go binaries/);

    // the section is at ~150 kB: a 100 kB limit per file does not reach it
    const perFile = inventory(await readImageFiles(await archive(), limits({ maxFileBytes: 100_000 })));
    expect(perFile.packages.filter((p) => p.ecosystem === "golang")).toEqual([]);
    expect(perFile.incomplete.join("\n")).toMatch(
      /\/bin\/a: 200000 bytes, only the first 100000 were searched for Go build information/,
    );

    const total = inventory(await readImageFiles(await archive(), limits({ maxTotalBytes: 500_000 })));
    expect(total.packages.filter((p) => p.name === "stdlib").map((p) => p.version)).toEqual(["1.22.1"]);
    expect(total.incomplete.filter((n) => /budget for that was spent/.test(n))).toEqual([
      "/bin/b and later executables were not searched for Go build information: the 500000-byte budget for that was spent",
    ]);
    const doc = buildCycloneDx(facts, total);
    expect(validateCycloneDx(doc)).toBe(true);
    expect(incompleteNotes(doc).join("\n")).toMatch(/budget for that was spent/);
  });
});

/** This host's Go programs, read as the SBOM would read them (skipped where absent). */
/** Built in module mode (upstream releases, not Debian's): main module and dependencies. */
const MODULE_MODE = [
  {
    path: "/usr/local/bin/terraform",
    main: "github.com/hashicorp/terraform",
    dep: /^github\.com\/hashicorp\//,
  },
  { path: "/usr/lib/google-cloud-sdk/bin/kubectl", main: "k8s.io/kubernetes", dep: /^k8s\.io\// },
].filter((b) => existsSync(b.path));

describe("real Go binaries on this host", () => {
  async function scanFile(path: string): Promise<{ s: GoBuildInfoScanner; ms: number }> {
    const t = performance.now();
    const s = new GoBuildInfoScanner();
    for await (const c of createReadStream(path, { highWaterMark: 64 * 1024 })) s.push(c as Buffer);
    s.end();
    return { s, ms: performance.now() - t };
  }

  it.skipIf(!existsSync("/usr/bin/podman"))(
    "podman (Debian's build): its Go version and main package, no module lines, said so",
    async () => {
      const { s, ms } = await scanFile("/usr/bin/podman");
      const info = parseGoBuildInfo(s.bytes!);
      expect(info.path).toBe("github.com/containers/podman/cmd/podman");
      // Debian builds its Go packages in GOPATH mode: the binary has no mod/dep lines
      expect(info.main).toBeUndefined();
      const { packages, notes } = goBinaryPackages(info, "/usr/bin/podman");
      expect(packages).toHaveLength(1);
      expect(packages[0]).toMatchObject({
        name: "stdlib",
        purl: expect.stringMatching(/^pkg:golang\/stdlib@\d+\.\d+\.\d+$/),
      });
      expect(packages[0]!.version).toBe(stdlibVersion(info.goVersion!));
      expect(notes.join("\n")).toMatch(
        /github\.com\/containers\/podman\/cmd\/podman\): built without module information/,
      );
      console.log(`/usr/bin/podman: ${info.goVersion}, scanned in ${ms.toFixed(0)} ms`);
    },
  );

  it.skipIf(!MODULE_MODE.length)("binaries built in module mode list their modules", async () => {
    for (const b of MODULE_MODE) {
      const { s, ms } = await scanFile(b.path);
      const info = parseGoBuildInfo(s.bytes!);
      const { packages, notes } = goBinaryPackages(info, b.path);
      console.log(`${b.path}: ${info.goVersion}, ${info.deps.length} deps, scanned in ${ms.toFixed(0)} ms`);
      expect(notes).toEqual([]);
      expect(packages.find((p) => p.name === "stdlib")?.version).toBe(stdlibVersion(info.goVersion!));
      expect(info.main?.path).toBe(b.main);
      expect(packages.filter((p) => b.dep.test(p.name) && /^v\d/.test(p.version)).length).toBeGreaterThan(0);
    }
  });
});
