import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { affects } from "../../../src/audit/advisory.js";
import { detectFormat, parseDebianTracker, parseOsv } from "../../../src/audit/importers.js";
import {
  matchPurls,
  packageRefOf,
  purlsOfCycloneDx,
  resolvePackage,
  rpmEcosystems,
  sourceRpmName,
} from "../../../src/audit/match.js";
import { auditApps, importDatabase, uncheckedComponents } from "../../../src/audit/service.js";
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

describe("matching RPM purls", () => {
  // as src/sbom/rpm.ts writes them (Syft's spelling): the epoch apart, the source RPM in `upstream`
  const rpm = (
    ns: string,
    name: string,
    vr: string,
    epoch: string | undefined,
    srpm: string,
    distro: string,
  ) =>
    `pkg:rpm/${ns}/${name}@${vr}?arch=x86_64${epoch ? `&epoch=${epoch}` : ""}&upstream=${srpm}&distro=${distro}`;
  const records = parseOsv(json("rpm-openssl-2023-0946.json") as unknown[]).records;
  const lookup = (eco: string, name: string) =>
    records.filter((r) => r.ecosystem === eco && r.package === name);

  it("imports AlmaLinux, Rocky Linux and Red Hat OSV records with the CVEs of `upstream`", () => {
    const db = parseOsv(json("rpm-openssl-2023-0946.json") as unknown[]);
    expect(db.skipped).toEqual({});
    expect(db.advisories).toBe(3);
    expect(db.records.map((r) => `${r.ecosystem}/${r.package}`)).toEqual([
      "AlmaLinux:9/openssl",
      "AlmaLinux:9/openssl-devel",
      "AlmaLinux:9/openssl-libs",
      "AlmaLinux:9/openssl-perl",
      "Rocky Linux:9/openssl",
      "Red Hat:enterprise_linux:9::baseos/openssl",
      "Red Hat:enterprise_linux:9::baseos/openssl-libs",
      "Red Hat:enterprise_linux:9::appstream/openssl-devel",
    ]);
    expect(db.records[4]!.aliases).toEqual(["CVE-2022-4203", "CVE-2022-4304", "CVE-2023-0286"]);
  });

  it("maps the distro qualifier to OSV's ecosystems", () => {
    expect(rpmEcosystems("rocky-9.3")).toEqual({ ecosystem: "Rocky Linux:9" });
    expect(rpmEcosystems("almalinux-9.0")).toEqual({ ecosystem: "AlmaLinux:9" });
    expect(rpmEcosystems("almalinux-8.10")).toEqual({ ecosystem: "AlmaLinux:8" });
    expect(rpmEcosystems("rhel-9.4")).toEqual({
      ecosystem: "Red Hat:enterprise_linux:9",
      lookupIn: [
        "Red Hat:enterprise_linux:9::baseos",
        "Red Hat:enterprise_linux:9::appstream",
        "Red Hat:enterprise_linux:9::crb",
      ],
    });
    expect(rpmEcosystems("redhat-8.9")).toMatchObject({ ecosystem: "Red Hat:enterprise_linux:8" });
    expect(rpmEcosystems("rhel-10.0")).toEqual({ ecosystem: "Red Hat:enterprise_linux:10.0" });
    expect(rpmEcosystems("opensuse-leap-15.5")).toEqual({ ecosystem: "openSUSE:Leap 15.5" });
    expect(rpmEcosystems("opensuse-tumbleweed-20240801")).toEqual({ ecosystem: "openSUSE:Tumbleweed" });
    // no ecosystem, or none that can be chosen from the SBOM: a reason, never an empty answer
    expect(rpmEcosystems("sles-15.5")).toMatchObject({
      reason: /SUSE files SLE advisories by product module/,
    });
    expect(rpmEcosystems("fedora-40")).toEqual({
      reason: "no advisory ecosystem is known for the RPM distribution fedora",
    });
    expect(rpmEcosystems("amzn-2023")).toMatchObject({ reason: /amzn/ });
    expect(rpmEcosystems("rocky")).toEqual({ reason: "no release in distro=rocky" });
    expect(rpmEcosystems("rhel-10")).toEqual({ reason: "no release in distro=rhel-10" });
    expect(rpmEcosystems("rhel-7.9")).toMatchObject({ reason: /RHEL 7/ });
  });

  it("names the source RPM from rpm's SOURCERPM, or a bare name", () => {
    expect(sourceRpmName("openssl-3.0.7-24.el9.src.rpm")).toBe("openssl");
    expect(sourceRpmName("python3.11-setuptools-65.5.1-2.el9.src.rpm")).toBe("python3.11-setuptools");
    expect(sourceRpmName("kernel-5.14.0-362.8.1.el9_3.nosrc.rpm")).toBe("kernel");
    expect(sourceRpmName("openssl")).toBe("openssl");
    expect(sourceRpmName("broken.src.rpm")).toBeUndefined();
    expect(sourceRpmName(undefined)).toBeUndefined();
  });

  it("looks an RPM up by its source RPM and its own name, compared with its epoch:version-release", () => {
    const purl = rpm(
      "rocky",
      "openssl-libs",
      "3.0.7-24.el9",
      "1",
      "openssl-3.0.7-24.el9.src.rpm",
      "rocky-9.3",
    );
    expect(packageRefOf(purl)).toEqual({
      ecosystem: "Rocky Linux:9",
      names: ["openssl-libs", "openssl"],
      version: "1:3.0.7-24.el9",
      installed: "1:3.0.7-24.el9",
      purl,
      display: "openssl-libs",
      source: "openssl 1:3.0.7-24.el9",
    });
    // a package that is its own source RPM is looked up once
    expect(
      packageRefOf(
        rpm("almalinux", "bash", "5.1.8-9.el9", undefined, "bash-5.1.8-9.el9.src.rpm", "almalinux-9.4"),
      ),
    ).toMatchObject({ ecosystem: "AlmaLinux:9", names: ["bash"], version: "5.1.8-9.el9" });
    // Trivy's source name property, when the purl has no upstream
    expect(
      packageRefOf("pkg:rpm/rocky/openssl-libs@3.0.7-24.el9?epoch=1&distro=rocky-9.3", "openssl"),
    ).toMatchObject({ names: ["openssl-libs", "openssl"] });
  });

  it("reports AlmaLinux 9.0's openssl-libs as affected by ALSA-2023:0946, and not once fixed", () => {
    // almalinux:9.0 shipped openssl-libs 1:3.0.1-43.el9_0; AlmaLinux's records name each binary RPM
    const alma90 = rpm(
      "almalinux",
      "openssl-libs",
      "3.0.1-43.el9_0",
      "1",
      "openssl-3.0.1-43.el9_0.src.rpm",
      "almalinux-9.0",
    );
    const result = matchPurls([alma90], lookup);
    expect(result.findings).toEqual([
      {
        package: "openssl-libs",
        ecosystem: "AlmaLinux:9",
        installed: "1:3.0.1-43.el9_0",
        source: "openssl 1:3.0.1-43.el9_0",
        fixed: "1:3.0.1-47.el9_1",
        advisory: "ALSA-2023:0946",
        aliases: [],
        summary: "Important: openssl security update",
        purl: alma90,
      },
    ]);
    for (const later of ["3.0.1-47.el9_1", "3.0.7-24.el9"]) {
      const fixed = rpm("almalinux", "openssl-libs", later, "1", `openssl-${later}.src.rpm`, "almalinux-9.3");
      expect(matchPurls([fixed], lookup).findings, later).toEqual([]);
    }
    // without its epoch the same build would be below 1:3.0.1-47 whatever its version: still reported
    const noEpoch = rpm(
      "almalinux",
      "openssl-libs",
      "3.0.7-24.el9",
      undefined,
      "openssl-3.0.7-24.el9.src.rpm",
      "almalinux-9.3",
    );
    expect(matchPurls([noEpoch], lookup).findings).toHaveLength(1);
  });

  it("reports Rocky Linux's binary RPMs through the source RPM its records name", () => {
    const binaries = ["openssl", "openssl-libs"].map((name) =>
      rpm("rocky", name, "3.0.1-43.el9_0", "1", "openssl-3.0.1-43.el9_0.src.rpm", "rocky-9.0"),
    );
    const { findings } = matchPurls(binaries, lookup);
    expect(findings.map((f) => [f.package, f.ecosystem, f.fixed, f.advisory, f.aliases.length])).toEqual([
      ["openssl", "Rocky Linux:9", "1:3.0.1-47.el9_1", "RLSA-2023:0946", 3],
      ["openssl-libs", "Rocky Linux:9", "1:3.0.1-47.el9_1", "RLSA-2023:0946", 3],
    ]);
    // the same package on AlmaLinux 8 or Rocky 8 is not concerned by these records
    const rocky8 = rpm(
      "rocky",
      "openssl-libs",
      "1.1.1k-7.el8_6",
      "1",
      "openssl-1.1.1k-7.el8_6.src.rpm",
      "rocky-8.6",
    );
    expect(matchPurls([rocky8], lookup).findings).toEqual([]);
  });

  it("looks a RHEL or UBI component up in the baseos, appstream and crb streams, once per advisory", () => {
    const ubi = (name: string) =>
      rpm("rhel", name, "3.0.1-43.el9_0", "1", "openssl-3.0.1-43.el9_0.src.rpm", "rhel-9.0");
    const { findings } = matchPurls([ubi("openssl-libs"), ubi("openssl-devel")], lookup);
    // openssl-libs matches both its own record and its source's (openssl): one finding
    expect(findings.map((f) => [f.package, f.ecosystem, f.advisory])).toEqual([
      ["openssl-devel", "Red Hat:enterprise_linux:9::appstream", "RHSA-2023:0946"],
      ["openssl-libs", "Red Hat:enterprise_linux:9::baseos", "RHSA-2023:0946"],
    ]);
  });

  it("a version the comparator cannot read is 'could not compare', never safe", () => {
    const mangled = rpm(
      "rocky",
      "openssl-libs",
      "3.0.1-43-el9_0",
      "1",
      "openssl-3.0.1-43.el9_0.src.rpm",
      "rocky-9.0",
    );
    const result = matchPurls([mangled], lookup);
    expect(result.findings).toEqual([]);
    expect(result.unknown).toEqual([
      {
        package: "openssl-libs",
        advisory: "RLSA-2023:0946",
        reason: expect.stringMatching(/not a RPM version/),
      },
    ]);
  });

  it("an RPM distribution without a known ecosystem is not checked, with the reason", () => {
    const fedora = rpm("fedora", "curl", "8.6.0-8.fc40", undefined, "curl-8.6.0-8.fc40.src.rpm", "fedora-40");
    expect(resolvePackage(fedora)).toEqual({
      type: "rpm",
      reason: "no advisory ecosystem is known for the RPM distribution fedora",
    });
    expect(matchPurls([fedora], lookup)).toEqual({ findings: [], checked: 0, unknown: [] });
    expect(resolvePackage("pkg:rpm/rocky/bash@5.1.8-9.el9")).toEqual({
      type: "rpm",
      reason: "no distro qualifier: the distribution and release are unknown",
    });
    const sles = rpm(
      "sles",
      "libopenssl3",
      "3.0.8-150500.5.8.1",
      undefined,
      "openssl-3-3.0.8-150500.5.8.1.src.rpm",
      "sles-15.5",
    );
    expect(resolvePackage(sles)).toMatchObject({ type: "rpm", reason: /SUSE files SLE advisories/ });
  });

  it("matches openSUSE Leap by source RPM", () => {
    // openSUSE's records name the source RPM (and list its binaries in ecosystem_specific)
    const leap = parseOsv([
      {
        id: "openSUSE-SU-0000:0001-1",
        modified: "2026-01-01T00:00:00Z",
        affected: [
          {
            package: { ecosystem: "openSUSE:Leap 15.5", name: "openssl-3" },
            ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "3.0.8-150500.5.20.1" }] }],
            ecosystem_specific: { binaries: [{ libopenssl3: "3.0.8-150500.5.20.1" }] },
          },
        ],
      },
    ]).records;
    const libopenssl3 = (v: string) =>
      rpm("opensuse-leap", "libopenssl3", v, undefined, `openssl-3-${v}.src.rpm`, "opensuse-leap-15.5");
    const find = (eco: string, name: string) => leap.filter((r) => r.ecosystem === eco && r.package === name);
    expect(matchPurls([libopenssl3("3.0.8-150500.5.8.1")], find).findings).toMatchObject([
      { package: "libopenssl3", source: "openssl-3 3.0.8-150500.5.8.1", fixed: "3.0.8-150500.5.20.1" },
    ]);
    expect(matchPurls([libopenssl3("3.0.8-150500.5.20.1")], find).findings).toEqual([]);
  });

  it("counts apart, with the reason, what no record can speak for", () => {
    const purls = [
      { purl: rpm("rocky", "bash", "5.1.8-9.el9", undefined, "bash-5.1.8-9.el9.src.rpm", "rocky-9.4") },
      { purl: rpm("rocky", "zlib", "1.2.11-40.el9", undefined, "zlib-1.2.11-40.el9.src.rpm", "rocky-9.4") },
      { purl: rpm("fedora", "curl", "8.6.0-8.fc40", undefined, "curl-8.6.0-8.fc40.src.rpm", "fedora-40") },
      { purl: "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20" },
      { purl: "pkg:npm/express@4.19.2" },
    ];
    // a database without Rocky Linux records cannot say a Rocky image is clean
    expect(uncheckedComponents(purls, new Set(["npm", "Debian:12"]))).toEqual({
      notChecked: { rpm: 3, apk: 1 },
      notCheckedReasons: {
        rpm: [
          "the database holds no Rocky Linux:9 advisories",
          "no advisory ecosystem is known for the RPM distribution fedora",
        ],
        apk: ["advisories for pkg:apk components are not matched"],
      },
    });
    expect(uncheckedComponents(purls, new Set(["npm", "Rocky Linux:9"])).notChecked).toEqual({
      rpm: 1,
      apk: 1,
    });
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
        // ecosystems the database does not or cannot hold: counted apart, so that no finding is not read as "safe"
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
    // the database holds no Rocky Linux advisories: its packages are not checked, and the report says why
    expect(byApp.shop!.notChecked).toEqual({ rpm: 2, apk: 1 });
    expect(byApp.shop!.notCheckedReasons).toEqual({
      rpm: ["the database holds no Rocky Linux:9 advisories"],
      apk: ["advisories for pkg:apk components are not matched"],
    });
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
