import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { affects } from "../../../src/audit/advisory.js";
import { detectFormat, parseDebianTracker, parseOsv } from "../../../src/audit/importers.js";
import { matchPurls, packageRefOf, purlsOfCycloneDx } from "../../../src/audit/match.js";
import { auditApps, importDatabase } from "../../../src/audit/service.js";
import { writeReleaseSbom, writeSbomFailure } from "../../../src/sbom/store.js";
import { Store } from "../../../src/store/store.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/vulndb");
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const json = (name: string) => JSON.parse(fixture(name).toString("utf8")) as unknown;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function openStore() {
  const dir = mkdtempSync(join(tmpdir(), "hop3-audit-"));
  dirs.push(dir);
  return { store: Store.open(join(dir, "hop3.db"), join(dir, "store.key")), dataDir: dir };
}

const LIBC6 = (v: string) =>
  `pkg:deb/debian/libc6@${encodeURIComponent(v)}?arch=amd64&distro=debian-12&upstream=glibc`;

function sbom(purls: string[]) {
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.6",
    components: purls.map((purl) => ({ type: "library", name: purl.split("/").pop(), purl })),
  };
}

describe("importers", () => {
  it("reads one OSV advisory, keeping each affected range (GHSA-m2qf-hxjv-5gpq, Flask)", () => {
    const doc = json("osv-GHSA-m2qf-hxjv-5gpq.json");
    expect(detectFormat(doc)).toBe("osv");
    const db = parseOsv([doc]);
    expect(db.advisories).toBe(1);
    expect(db.records).toHaveLength(2);
    expect(db.records[0]).toMatchObject({
      ecosystem: "PyPI",
      package: "flask",
      advisory: "GHSA-m2qf-hxjv-5gpq",
      aliases: ["CVE-2023-30861"],
      severity: "HIGH",
    });
  });

  it("reads an OSV array; skips ecosystems it cannot match, saying so", () => {
    const docs = json("osv-array.json") as unknown[];
    const extra = { id: "RUSTSEC-0000-0000", affected: [{ package: { ecosystem: "crates.io", name: "x" } }] };
    const db = parseOsv([...docs, extra, { withdrawn: "2024-01-01T00:00:00Z", id: "GHSA-gone" }, 42]);
    expect(db.records.map((r) => `${r.ecosystem}/${r.package}/${r.advisory}`)).toEqual([
      "npm/express/GHSA-qw6h-vgh9-j6wx",
      "npm/express/GHSA-qw6h-vgh9-j6wx",
      "PyPI/jinja2/GHSA-h5c8-rqwp-cp95",
    ]);
    expect(db.skipped).toEqual({
      "ecosystem crates.io": 1,
      withdrawn: 1,
      "not an OSV advisory (no id)": 1,
    });
  });

  it("reads Debian's tracker JSON: resolved entries with their fix, open ones with none, per release", () => {
    const doc = json("debian-tracker.json");
    expect(detectFormat(doc)).toBe("debian-tracker");
    const db = parseDebianTracker(doc);
    expect(db.advisories).toBe(3);
    expect(db.skipped).toEqual({ "release sid": 1 });
    expect(db.records).toEqual([
      expect.objectContaining({
        ecosystem: "Debian:12",
        package: "glibc",
        advisory: "CVE-2023-4911",
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "2.36-9+deb12u3" }] }],
      }),
      expect.objectContaining({
        advisory: "CVE-2026-4438",
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }] }],
      }),
      expect.objectContaining({
        package: "zlib",
        advisory: "CVE-2026-27171",
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1:1.2.13.dfsg-1+deb12u1" }] }],
      }),
    ]);
  });

  it("leaves out what Debian says is not affected or unimportant", () => {
    const db = parseDebianTracker({
      zlib: {
        "CVE-1": {
          releases: { bookworm: { status: "resolved", fixed_version: "0", urgency: "unimportant" } },
        },
        "CVE-2": { releases: { bookworm: { status: "open", urgency: "unimportant" } } },
      },
    });
    expect(db.records).toEqual([]);
    expect(db.skipped).toEqual({ "not affected (fixed_version 0)": 1, "open but unimportant": 1 });
  });

  it("refuses a file in no known format", () => {
    expect(() => detectFormat({ hello: "world" })).toThrow(/not a vulnerability database/);
    expect(() => detectFormat("text")).toThrow(/not a vulnerability database/);
  });
});

describe("OSV range evaluation", () => {
  const entry = (events: object[], versions: string[] = [], ecosystem = "npm") => ({
    ecosystem,
    package: "p",
    advisory: "A",
    aliases: [],
    ranges: [{ type: "SEMVER", events }],
    versions,
    source: "osv",
  });
  it("introduced/fixed: the fix is excluded", () => {
    const e = entry([{ introduced: "0" }, { fixed: "4.20.0" }]);
    expect(affects(e, "4.19.2")).toEqual({ affected: true, fixed: "4.20.0" });
    expect(affects(e, "4.20.0")).toEqual({ affected: false });
    expect(affects(e, "5.0.0")).toEqual({ affected: false });
  });
  it("last_affected is included; several intervals in one range", () => {
    const e = entry([
      { introduced: "1.0.0" },
      { last_affected: "1.2.0" },
      { introduced: "2.0.0" },
      { fixed: "2.1.0" },
    ]);
    expect(affects(e, "0.9.0").affected).toBe(false);
    expect(affects(e, "1.2.0")).toEqual({ affected: true, fixed: "2.1.0" });
    expect(affects(e, "1.3.0").affected).toBe(false);
    expect(affects(e, "2.0.5")).toEqual({ affected: true, fixed: "2.1.0" });
  });
  it("an explicit versions list; GIT ranges are not compared", () => {
    const e = { ...entry([], ["1.0.1"]), ranges: [{ type: "GIT", events: [{ introduced: "abc" }] }] };
    expect(affects(e, "1.0.1").affected).toBe(true);
    expect(affects(e, "1.0.2").affected).toBe(false);
  });
  it("a version it cannot read is 'unknown', not safe", () => {
    const e = entry([{ introduced: "0" }, { fixed: "1.0.0" }]);
    expect(affects(e, "latest")).toMatchObject({ affected: "unknown", reason: /not a semver version/ });
  });
});

describe("matching purls", () => {
  it("maps purls to OSV ecosystems and names", () => {
    expect(packageRefOf("pkg:npm/%40babel/core@7.0.0")).toMatchObject({
      ecosystem: "npm",
      names: ["@babel/core"],
    });
    expect(packageRefOf("pkg:pypi/Jinja2@3.1.2")).toMatchObject({ ecosystem: "PyPI", names: ["jinja2"] });
    expect(packageRefOf("pkg:gem/rack@2.2.4")).toMatchObject({ ecosystem: "RubyGems", names: ["rack"] });
    expect(packageRefOf("pkg:composer/monolog/monolog@3.0.0")).toMatchObject({
      ecosystem: "Packagist",
      names: ["monolog/monolog"],
    });
    expect(packageRefOf("pkg:golang/golang.org/x/net@v0.1.0")).toMatchObject({
      ecosystem: "Go",
      names: ["golang.org/x/net"],
    });
    expect(packageRefOf(LIBC6("2.36-9+deb12u14"))).toMatchObject({
      ecosystem: "Debian:12",
      names: ["glibc"],
      version: "2.36-9+deb12u14",
      installed: "2.36-9+deb12u14",
      display: "libc6",
      source: "glibc 2.36-9+deb12u14",
    });
    // a binNMU with another source name: compared with the source version, shown with the binary's
    expect(
      packageRefOf(
        "pkg:deb/debian/python3@3.11.2-1+b1?arch=amd64&distro=debian-12&upstream=python3-defaults%403.11.2-1",
      ),
    ).toMatchObject({
      names: ["python3-defaults"],
      version: "3.11.2-1",
      installed: "3.11.2-1+b1",
      display: "python3",
      source: "python3-defaults 3.11.2-1",
    });
    // no upstream qualifier: dpkg had no Source field, the binary package is its own source
    expect(packageRefOf("pkg:deb/debian/tar@1.34%2Bdfsg-1.2?arch=amd64&distro=debian-12")).toEqual({
      ecosystem: "Debian:12",
      names: ["tar"],
      version: "1.34+dfsg-1.2",
      installed: "1.34+dfsg-1.2",
      purl: "pkg:deb/debian/tar@1.34%2Bdfsg-1.2?arch=amd64&distro=debian-12",
      display: "tar",
    });
    expect(packageRefOf("pkg:deb/debian/tar@1.34?distro=bookworm")).toMatchObject({ ecosystem: "Debian:12" });
    expect(packageRefOf("pkg:deb/ubuntu/tar@1.34?distro=ubuntu-22.04")).toBeUndefined();
    expect(packageRefOf("pkg:apk/alpine/musl@1.2.4")).toBeUndefined();
    expect(packageRefOf("not a purl")).toBeUndefined();
  });

  it("finds purls in nested components", () => {
    expect(
      purlsOfCycloneDx({
        components: [{ purl: "pkg:npm/a@1" }, { name: "x", components: [{ purl: "pkg:npm/b@2" }] }],
      }),
    ).toEqual([{ purl: "pkg:npm/a@1" }, { purl: "pkg:npm/b@2" }]);
  });

  it("takes Debian's source package from a component property when the purl does not say it", () => {
    const [libc6] = purlsOfCycloneDx({
      components: [
        {
          purl: "pkg:deb/debian/libc6@2.36-9%2Bdeb12u2?arch=amd64&distro=debian-12",
          properties: [{ name: "hop3:package:source", value: "glibc" }],
        },
      ],
    });
    expect(libc6).toEqual({ purl: expect.any(String), source: "glibc" });
    const records = parseDebianTracker(json("debian-tracker.json")).records;
    const result = matchPurls([libc6!], (eco, name) =>
      records.filter((r) => r.ecosystem === eco && r.package === name),
    );
    expect(result.findings.map((f) => f.advisory)).toEqual(["CVE-2023-4911", "CVE-2026-4438"]);
  });

  it("matches Debian advisories by source package and source version, the tracker's and OSV's alike", () => {
    const tracker = parseDebianTracker(json("debian-tracker.json")).records;
    // OSV's Debian ecosystem names source packages too (a DLA/DSA record, or osv.dev's DEBIAN-CVE-*)
    const osv = parseOsv([
      {
        id: "DEBIAN-CVE-2026-27171",
        modified: "2026-12-01T00:00:00Z",
        affected: [
          {
            package: { ecosystem: "Debian:12", name: "zlib" },
            ranges: [
              { type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1:1.2.13.dfsg-1+deb12u1" }] },
            ],
          },
        ],
      },
    ]).records;
    const lookup = (records: typeof tracker) => (eco: string, name: string) =>
      records.filter((r) => r.ecosystem === eco && r.package === name);
    // the base image's zlib1g, as Hop3 writes its purl from the dpkg status (Source: zlib)
    const zlib1g = (v: string) =>
      `pkg:deb/debian/zlib1g@${encodeURIComponent(v)}?arch=amd64&distro=debian-12&upstream=zlib`;
    for (const records of [tracker, osv]) {
      const vulnerable = matchPurls([zlib1g("1:1.2.13.dfsg-1")], lookup(records)).findings;
      expect(vulnerable.map((f) => [f.package, f.installed, f.fixed, f.advisory, f.source])).toEqual([
        [
          "zlib1g",
          "1:1.2.13.dfsg-1",
          "1:1.2.13.dfsg-1+deb12u1",
          records === tracker ? "CVE-2026-27171" : "DEBIAN-CVE-2026-27171",
          "zlib 1:1.2.13.dfsg-1",
        ],
      ]);
      // the security update, and a later one, are not reported
      expect(matchPurls([zlib1g("1:1.2.13.dfsg-1+deb12u1")], lookup(records)).findings).toEqual([]);
      expect(matchPurls([zlib1g("1:1.3.dfsg-3")], lookup(records)).findings).toEqual([]);
      // without its epoch, 1.2.13.dfsg-1+deb12u1 is below 1:1.2.13.dfsg-1: still vulnerable
      expect(matchPurls([zlib1g("1.2.13.dfsg-1+deb12u1")], lookup(records)).findings).toHaveLength(1);
    }
    // Trivy's purls carry the epoch as a qualifier
    const trivy = "pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&distro=debian-12&epoch=1";
    const viaProperty = matchPurls([{ purl: trivy, source: "zlib" }], lookup(tracker)).findings;
    expect(viaProperty.map((f) => [f.installed, f.fixed])).toEqual([
      ["1:1.2.13.dfsg-1", "1:1.2.13.dfsg-1+deb12u1"],
    ]);
    // a binary package is never looked up by its own name when its source is known
    expect(
      matchPurls(
        ["pkg:deb/debian/zlib@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=other"],
        lookup(tracker),
      ).findings,
    ).toEqual([]);
  });

  it("compares a binNMU's source version: cpp 4:12.2.0-3 is built from gcc-defaults 1.203", () => {
    const records = parseDebianTracker({
      "gcc-defaults": {
        "CVE-0000-0001": {
          releases: { bookworm: { status: "resolved", fixed_version: "1.204", urgency: "low" } },
        },
      },
    }).records;
    const lookup = (eco: string, name: string) =>
      records.filter((r) => r.ecosystem === eco && r.package === name);
    // by the binary's version (epoch 4) it would look fixed; by its source version it is not
    const cpp = "pkg:deb/debian/cpp@4%3A12.2.0-3?arch=amd64&distro=debian-12&upstream=gcc-defaults%401.203";
    expect(matchPurls([cpp], lookup).findings).toEqual([
      expect.objectContaining({
        package: "cpp",
        installed: "4:12.2.0-3",
        fixed: "1.204",
        severity: "low",
        source: "gcc-defaults 1.203",
      }),
    ]);
    const fixed = "pkg:deb/debian/cpp@4%3A12.2.0-4?arch=amd64&distro=debian-12&upstream=gcc-defaults%401.204";
    expect(matchPurls([fixed], lookup).findings).toEqual([]);
  });

  it("reports affected components with their first fix, once per package and advisory", () => {
    const records = [
      ...parseOsv([json("osv-GHSA-m2qf-hxjv-5gpq.json"), ...(json("osv-array.json") as unknown[])]).records,
      ...parseDebianTracker(json("debian-tracker.json")).records,
    ];
    const lookup = (eco: string, name: string) =>
      records.filter((r) => r.ecosystem === eco && r.package === name);
    const result = matchPurls(
      [
        "pkg:npm/express@4.19.2",
        "pkg:npm/express@4.21.2",
        "pkg:npm/ms@2.1.3",
        "pkg:pypi/Flask@2.3.1",
        "pkg:pypi/jinja2@3.1.2",
        LIBC6("2.36-9+deb12u2"),
      ],
      lookup,
    );
    expect(result.checked).toBe(6);
    expect(result.findings.map((f) => [f.package, f.installed, f.fixed, f.advisory, f.severity])).toEqual([
      ["libc6", "2.36-9+deb12u2", "2.36-9+deb12u3", "CVE-2023-4911", undefined],
      ["libc6", "2.36-9+deb12u2", undefined, "CVE-2026-4438", undefined],
      ["express", "4.19.2", "4.20.0", "GHSA-qw6h-vgh9-j6wx", "MODERATE"],
      ["flask", "2.3.1", "2.3.2", "GHSA-m2qf-hxjv-5gpq", "HIGH"],
      ["jinja2", "3.1.2", "3.1.3", "GHSA-h5c8-rqwp-cp95", "MODERATE"],
    ]);
  });
});

describe("hop audit on the server's store", () => {
  it("without an imported database it says so, never 'no vulnerabilities'", async () => {
    const { store, dataDir } = openStore();
    await expect(auditApps(store, dataDir)).rejects.toThrow("no vulnerability database imported");
    store.close();
  });

  it("imports the fixtures and reports per app: findings, an app without SBOM, the Debian base image", async () => {
    const { store, dataDir } = openStore();
    const single = importDatabase(
      store,
      "osv-GHSA-m2qf-hxjv-5gpq.json",
      fixture("osv-GHSA-m2qf-hxjv-5gpq.json"),
    );
    expect(single).toMatchObject({ format: "osv", advisories: 1, records: 2 });
    importDatabase(store, "osv-array.json", fixture("osv-array.json"));
    importDatabase(store, "debian-tracker.json", fixture("debian-tracker.json"));
    // importing the same advisories again replaces them
    importDatabase(store, "osv-array.json", fixture("osv-array.json"));
    expect(store.vulns.counts()).toEqual({ osv: 5, "debian-tracker": 3 });

    for (const app of ["shop", "blog", "empty", "broken"]) store.createApp(app);
    const shop = store.createRelease("shop", { sourceKind: "buildpacks" });
    store.markActive("shop", shop.id);
    await writeReleaseSbom(
      dataDir,
      "shop",
      shop.number,
      sbom([
        "pkg:npm/express@4.19.2",
        "pkg:npm/ms@2.1.3",
        LIBC6("2.36-9+deb12u14"),
        // ecosystems the database cannot hold: counted apart, so that no finding is not read as "safe"
        "pkg:rpm/rocky/bash@5.1.8-9.el9?arch=x86_64&distro=rocky-9.4",
        "pkg:rpm/rocky/zlib@1.2.11-40.el9?arch=x86_64&distro=rocky-9.4",
        "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20",
      ]),
    );
    const blog = store.createRelease("blog", { sourceKind: "buildpacks" });
    store.markActive("blog", blog.id);
    const broken = store.createRelease("broken", { sourceKind: "image" });
    store.markActive("broken", broken.id);
    await writeSbomFailure(dataDir, "broken", broken.number, "the image has no package database");

    const report = await auditApps(store, dataDir);
    expect(report.database.imports.map((i) => i.file)).toEqual([
      "osv-array.json",
      "debian-tracker.json",
      "osv-array.json",
      "osv-GHSA-m2qf-hxjv-5gpq.json",
    ]);
    const byApp = Object.fromEntries(report.apps.map((a) => [a.app, a]));
    expect(byApp.shop!.status).toBe("ok");
    expect(byApp.shop!.components).toBe(6);
    expect(byApp.shop!.notChecked).toEqual({ rpm: 2, apk: 1 });
    // the base image's libc6 2.36-9+deb12u14 already has CVE-2023-4911's fix (deb12u3): not reported
    expect(
      byApp.shop!.findings.map((f) => `${f.package} ${f.installed} ${f.advisory} ${f.fixed ?? "-"}`),
    ).toEqual(["libc6 2.36-9+deb12u14 CVE-2026-4438 -", "express 4.19.2 GHSA-qw6h-vgh9-j6wx 4.20.0"]);
    expect(byApp.blog).toMatchObject({ status: "no-sbom", note: /no SBOM for this release/ });
    expect(byApp.broken).toMatchObject({
      status: "no-sbom",
      note: "no SBOM: the image has no package database",
    });
    expect(byApp.empty).toMatchObject({ status: "no-release" });

    expect(store.vulns.clear()).toEqual({ records: 8, imports: 4 });
    await expect(auditApps(store, dataDir)).rejects.toThrow("no vulnerability database imported");
    importDatabase(store, "osv-array.json", fixture("osv-array.json"));
    const one = await auditApps(store, dataDir, "shop");
    expect(one.apps.map((a) => a.app)).toEqual(["shop"]);
    await expect(auditApps(store, dataDir, "nope")).rejects.toThrow(/nope/);
    store.close();
  });

  it("a file that is not a database changes nothing", () => {
    const { store } = openStore();
    expect(() => importDatabase(store, "x.json", Buffer.from("{not json"))).toThrow(/x.json is not JSON/);
    expect(() => importDatabase(store, "x.json", Buffer.from('{"a": 1}'))).toThrow(
      /not a vulnerability database/,
    );
    expect(() =>
      importDatabase(
        store,
        "x.json",
        Buffer.from(JSON.stringify({ id: "X", affected: [{ package: { ecosystem: "Hex", name: "a" } }] })),
      ),
    ).toThrow(/no advisory this server can match \(1 skipped: ecosystem Hex\)/);
    expect(store.vulns.imports()).toEqual([]);
    store.close();
  });
});
