import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseApkInstalled } from "../../../src/sbom/apk.js";
import { parseComposerLock } from "../../../src/sbom/composer.js";
import {
  debPackages,
  parseDebianCopyright,
  parseDpkgStatus,
  parseSourceField,
} from "../../../src/sbom/dpkg.js";
import { parseGoMod, parseVendorModules } from "../../../src/sbom/golang.js";
import { parseInstalledPackageJson, parsePackageLock } from "../../../src/sbom/npm.js";
import { distroQualifier, parseOsRelease } from "../../../src/sbom/os-release.js";
import { parseDistInfoMetadata } from "../../../src/sbom/python.js";
import { MAX_HEADER_ENTRIES, parseRpmHeaderBlob, readRpmSqlite, rpmPackages } from "../../../src/sbom/rpm.js";
import { parseGemfileLock } from "../../../src/sbom/ruby.js";
import { headerBlob, ROCKY_OPENSSL, rpmBlob, rpmdbSqlite } from "./rpmdb-fixture.js";

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, "../../fixtures/sbom", name), "utf8");

describe("dpkg", () => {
  it("lists installed packages only, with the purl's arch and distro", () => {
    const entries = parseDpkgStatus(fixture("dpkg-status"));
    expect(entries.map((e) => e.name)).toEqual(["libc6", "libssl3", "tzdata"]);
    const os = parseOsRelease(fixture("os-release"))!;
    expect(distroQualifier(os)).toBe("debian-12");
    const pkgs = debPackages(
      entries,
      { id: os.id, qualifier: distroQualifier(os) },
      (n) => (n === "libc6" ? parseDebianCopyright(fixture("libc6-copyright")) : undefined),
      "/var/lib/dpkg/status",
    );
    expect(pkgs[0]).toMatchObject({
      name: "libc6",
      version: "2.36-9+deb12u7",
      purl: "pkg:deb/debian/libc6@2.36-9+deb12u7?arch=amd64&distro=debian-12&upstream=glibc",
      licenses: ["LGPL-2.1+", "GPL-2+"],
    });
    expect(pkgs[2]!.purl).toBe("pkg:deb/debian/tzdata@2024b-0+deb12u1?arch=all&distro=debian-12");
  });

  it("records the source package (and its version when dpkg gives one) as Syft's upstream qualifier", () => {
    const status = [
      // no Source field: the source package is the binary package itself
      "Package: tar\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.34+dfsg-1.2+deb12u1\n",
      // a binNMU: the binary's version has +b13, the source's does not
      "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nSource: bash (5.2.15-2)\nVersion: 5.2.15-2+b13\n",
      // both name and version differ
      "Package: python3\nStatus: install ok installed\nArchitecture: amd64\nSource: python3-defaults (3.11.2-1)\nVersion: 3.11.2-1+b1\n",
      "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n",
      "Package: libcap2\nStatus: install ok installed\nArchitecture: amd64\nSource: libcap2 (1:2.66-4+deb12u3)\nVersion: 1:2.66-4+deb12u3+b1\n",
    ].join("\n");
    const entries = parseDpkgStatus(status);
    expect(entries).toEqual([
      { name: "tar", version: "1.34+dfsg-1.2+deb12u1", architecture: "amd64" },
      { name: "bash", version: "5.2.15-2+b13", architecture: "amd64", sourceVersion: "5.2.15-2" },
      {
        name: "python3",
        version: "3.11.2-1+b1",
        architecture: "amd64",
        source: "python3-defaults",
        sourceVersion: "3.11.2-1",
      },
      { name: "zlib1g", version: "1:1.2.13.dfsg-1", architecture: "amd64", source: "zlib" },
      {
        name: "libcap2",
        version: "1:2.66-4+deb12u3+b1",
        architecture: "amd64",
        sourceVersion: "1:2.66-4+deb12u3",
      },
    ]);
    const purls = debPackages(entries, { id: "debian", qualifier: "debian-12" }, () => undefined, "x").map(
      (p) => p.purl,
    );
    expect(purls).toEqual([
      "pkg:deb/debian/tar@1.34+dfsg-1.2+deb12u1?arch=amd64&distro=debian-12",
      "pkg:deb/debian/bash@5.2.15-2+b13?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2",
      "pkg:deb/debian/python3@3.11.2-1+b1?arch=amd64&distro=debian-12&upstream=python3-defaults%403.11.2-1",
      "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib",
      "pkg:deb/debian/libcap2@1:2.66-4+deb12u3+b1?arch=amd64&distro=debian-12&upstream=libcap2%401%3A2.66-4%2Bdeb12u3",
    ]);
    expect(parseSourceField("glibc (2.36-9)")).toEqual({ name: "glibc", version: "2.36-9" });
    expect(parseSourceField("glibc")).toEqual({ name: "glibc" });
  });

  it("reads a distroless status.d stanza (no Status field) and ignores free-form copyright files", () => {
    expect(parseDpkgStatus("Package: base-files\nVersion: 12.4+deb12u6\nArchitecture: amd64\n")).toEqual([
      { name: "base-files", version: "12.4+deb12u6", architecture: "amd64" },
    ]);
    expect(parseDebianCopyright("This is Debian's prepackaged version.\nLicense: GPL\n")).toEqual([]);
  });
});

describe("npm", () => {
  it("reads lockfile v2/v3 packages without dev and linked ones; scoped names get a namespace", () => {
    const pkgs = parsePackageLock(fixture("package-lock-v3.json"), "/workspace/package-lock.json");
    expect(pkgs.map((p) => p.purl).sort()).toEqual([
      "pkg:npm/%40types/node@20.14.2",
      "pkg:npm/accepts@1.3.8",
      "pkg:npm/express@4.19.2",
      "pkg:npm/local-lib@0.1.0",
      "pkg:npm/ms@2.1.3",
    ]);
    expect(pkgs.find((p) => p.name === "express")!.licenses).toEqual(["MIT"]);
  });

  it("reads lockfile v1's nested dependencies", () => {
    const pkgs = parsePackageLock(fixture("package-lock-v1.json"), "x");
    expect(pkgs.map((p) => `${p.name}@${p.version}`).sort()).toEqual([
      "accepts@1.3.7",
      "express@4.17.1",
      "ms@2.0.0",
    ]);
  });

  it("reads an installed package.json and refuses nonsense", () => {
    expect(
      parseInstalledPackageJson('{"name":"@scope/name","version":"1.0.0","license":{"type":"ISC"}}', "p"),
    ).toMatchObject({ purl: "pkg:npm/%40scope/name@1.0.0", licenses: ["ISC"] });
    expect(parseInstalledPackageJson('{"name":"../../etc","version":"1"}', "p")).toBeUndefined();
    expect(parseInstalledPackageJson("not json", "p")).toBeUndefined();
    expect(parseInstalledPackageJson('{"name":"x"}', "p")).toBeUndefined();
  });
});

describe("python, ruby, php, go, apk", () => {
  it("reads dist-info METADATA headers, not the body", () => {
    expect(parseDistInfoMetadata(fixture("METADATA"), "m")).toMatchObject({
      name: "Flask_Login",
      version: "0.6.3",
      purl: "pkg:pypi/flask-login@0.6.3",
      licenses: ["MIT"],
    });
    expect(parseDistInfoMetadata(fixture("METADATA-classifier"), "m")!.licenses).toEqual(["Apache-2.0"]);
  });

  it("reads Gemfile.lock specs with platform gems", () => {
    const pkgs = parseGemfileLock(fixture("Gemfile.lock"), "g");
    expect(pkgs.map((p) => p.purl)).toEqual([
      "pkg:gem/mustermann@3.0.0",
      "pkg:gem/nokogiri@1.16.5?platform=x86_64-linux",
      "pkg:gem/rack@2.2.9",
      "pkg:gem/ruby2_keywords@0.0.5",
      "pkg:gem/sinatra@3.2.0",
    ]);
  });

  it("reads composer.lock's production packages", () => {
    expect(parseComposerLock(fixture("composer.lock"), "c").map((p) => p.purl)).toEqual([
      "pkg:composer/monolog/monolog@3.6.0",
      "pkg:composer/psr/log@3.0.0",
    ]);
    expect(parseComposerLock('{"packages":[{"name":"a/b","version":"1.0.0"}]}', "i")).toHaveLength(1);
  });

  it("reads go.mod requirements and vendor/modules.txt with replacements", () => {
    expect(parseGoMod(fixture("go.mod"), "g").map((p) => p.purl)).toEqual([
      "pkg:golang/github.com/gorilla/mux@v1.8.1",
      "pkg:golang/golang.org/x/text@v0.14.0",
      "pkg:golang/github.com/google/uuid@v1.6.0",
    ]);
    expect(parseVendorModules(fixture("modules.txt"), "v").map((p) => `${p.name}@${p.version}`)).toEqual([
      "github.com/gorilla/mux@v1.8.1",
      "golang.org/x/text@v0.15.0",
    ]);
  });

  it("reads apk's installed database", () => {
    expect(parseApkInstalled(fixture("apk-installed"), "alpine-3.20", "a")).toMatchObject([
      {
        name: "musl",
        version: "1.2.5-r0",
        purl: "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20",
        licenses: ["MIT"],
      },
      { name: "busybox", licenses: ["GPL-2.0-only"] },
    ]);
  });
});

describe("rpm (rpmdb.sqlite)", () => {
  const openssl = ROCKY_OPENSSL;
  const bash = {
    name: "bash",
    version: "5.1.8",
    release: "9.el9",
    arch: "x86_64",
    license: "GPLv3+",
    sourceRpm: "bash-5.1.8-9.el9.src.rpm",
  };

  it("reads rpm's table in WAL mode, with Syft's purl: epoch apart, the source RPM as upstream, the distro", () => {
    const db = rpmdbSqlite([
      rpmBlob(openssl),
      rpmBlob(bash),
      rpmBlob({ name: "gpg-pubkey", version: "350d275d", release: "6395c06e" }),
    ]);
    expect(db[18]).toBe(2); // as rpm leaves it: WAL
    const { headers, notes } = readRpmSqlite(db);
    expect(notes).toEqual([]);
    expect(headers[0]).toEqual(openssl);
    const os = parseOsRelease('ID="rocky"\nVERSION_ID="9.4"\nCPE_NAME="cpe:/o:rocky:rocky:9::baseos"\n')!;
    const pkgs = rpmPackages(
      headers,
      { id: os.id, qualifier: distroQualifier(os) },
      "/var/lib/rpm/rpmdb.sqlite",
    );
    // the signing key rpm imported is not a package
    expect(pkgs.map((p) => p.name)).toEqual(["openssl-libs", "bash"]);
    expect(pkgs[0]).toEqual({
      ecosystem: "rpm",
      name: "openssl-libs",
      version: "1:3.0.7-27.el9",
      purl: "pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.4&epoch=1&upstream=openssl-3.0.7-27.el9.src.rpm",
      licenses: ["Apache-2.0"],
      supplier: "Rocky Enterprise Software Foundation",
      foundIn: "/var/lib/rpm/rpmdb.sqlite",
    });
    expect(pkgs[1]!.purl).toBe(
      "pkg:rpm/rocky/bash@5.1.8-9.el9?arch=x86_64&distro=rocky-9.4&upstream=bash-5.1.8-9.el9.src.rpm",
    );
    expect(os.cpeName).toBe("cpe:/o:rocky:rocky:9::baseos");
  });

  it("takes an I18N string's first value and skips tags and types it does not know", () => {
    const blob = headerBlob([
      { tag: 63, type: 6, value: "region" },
      { tag: 1000, type: 9, value: "zlib" },
      { tag: 1001, type: 6, value: "1.2.11" },
      { tag: 1002, type: 6, value: "40.el9" },
      { tag: 1014, type: 4, value: 7 }, // LICENSE as an INT32: not a licence
      { tag: 1044, type: 6, value: "zlib-1.2.11-40.el9.src.rpm" },
    ]);
    expect(parseRpmHeaderBlob(blob)).toEqual({
      name: "zlib",
      version: "1.2.11",
      release: "40.el9",
      sourceRpm: "zlib-1.2.11-40.el9.src.rpm",
    });
  });

  it("hostile headers: refused with the reason, never read out of bounds", () => {
    const good = rpmBlob(bash);
    // truncated: the preamble promises more than the blob has
    expect(() => parseRpmHeaderBlob(good.subarray(0, good.length - 5))).toThrow(/the blob has/);
    expect(() => parseRpmHeaderBlob(Buffer.from([0, 0, 0]))).toThrow(/shorter than/);
    // an entry's offset past the data store
    const past = Buffer.from(good);
    past.writeInt32BE(1_000_000, 8 + 8);
    expect(() => parseRpmHeaderBlob(past)).toThrow(/outside the/);
    const negative = Buffer.from(good);
    negative.writeInt32BE(-4, 8 + 8);
    expect(() => parseRpmHeaderBlob(negative)).toThrow(/outside the/);
    // a string without its NUL: the last field's terminator removed, data length shortened to match
    const open = Buffer.from(good.subarray(0, good.length - 1));
    open.writeUInt32BE(open.readUInt32BE(4) - 1, 4);
    expect(() => parseRpmHeaderBlob(open)).toThrow(/runs past/);
    // an INT32 at the data's last bytes
    const int = headerBlob([
      { tag: 1000, type: 6, value: "x" },
      { tag: 1001, type: 6, value: "1" },
      { tag: 1003, type: 4, value: 1 },
    ]);
    int.writeInt32BE(int.readUInt32BE(4) - 2, 8 + 2 * 16 + 8);
    expect(() => parseRpmHeaderBlob(int)).toThrow(/bad INT32/);
    // absurd counts: refused before anything is allocated or looped over
    const huge = Buffer.from(good);
    huge.writeUInt32BE(0xffffffff, 0);
    expect(() => parseRpmHeaderBlob(huge)).toThrow(/index entries/);
    huge.writeUInt32BE(MAX_HEADER_ENTRIES, 0);
    expect(() => parseRpmHeaderBlob(huge)).toThrow(/the blob has/);
    const bigData = Buffer.from(good);
    bigData.writeUInt32BE(0x7fffffff, 4);
    expect(() => parseRpmHeaderBlob(bigData)).toThrow(/bytes of data/);
    expect(() => parseRpmHeaderBlob(headerBlob([{ tag: 1001, type: 6, value: "1" }]))).toThrow(/NAME/);
  });

  it("a bad row is a note, the others are read; a database that is not rpm's is refused", () => {
    const bad = rpmBlob(bash).subarray(0, 20);
    const { headers, notes } = readRpmSqlite(rpmdbSqlite([rpmBlob(openssl), bad, Buffer.from("junk")]));
    expect(headers.map((h) => h.name)).toEqual(["openssl-libs"]);
    expect(notes).toEqual([expect.stringMatching(/^2 package header\(s\) could not be read \(the first: /)]);
    expect(() => readRpmSqlite(Buffer.from("not sqlite at all, not sqlite at all".repeat(4)))).toThrow(
      /not an SQLite/,
    );
    expect(() => readRpmSqlite(rpmdbSqlite([], "CREATE TABLE Other (x)"))).toThrow(/no Packages table/);
    // a view could compute forever: it is not read
    expect(() =>
      readRpmSqlite(
        rpmdbSqlite(
          [],
          "CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT zeroblob(9) AS blob FROM c",
        ),
      ),
    ).toThrow(/Packages is a view/);
    expect(() =>
      readRpmSqlite(
        rpmdbSqlite([], "CREATE TABLE Packages (hnum INTEGER, x BLOB, blob BLOB AS (zeroblob(hnum)))"),
      ),
    ).toThrow(/no plain blob column/);
    // a truncated file
    const db = rpmdbSqlite([rpmBlob(openssl)]);
    expect(() => readRpmSqlite(db.subarray(0, 200))).toThrow();
  });
});

describe("os-release CPE_NAME", () => {
  it("keeps a 2.2 or 2.3 CPE as given, spells out ANY in a short 2.3 one, drops what is not a CPE", () => {
    const cpe = (v: string) => parseOsRelease(`ID=x\nCPE_NAME="${v}"\n`)!.cpeName;
    expect(cpe("cpe:/o:fedoraproject:fedora:40")).toBe("cpe:/o:fedoraproject:fedora:40");
    expect(cpe("cpe:/o:redhat:enterprise_linux:9::baseos")).toBe("cpe:/o:redhat:enterprise_linux:9::baseos");
    expect(cpe("cpe:2.3:o:amazon:amazon_linux:2023")).toBe(
      "cpe:2.3:o:amazon:amazon_linux:2023:*:*:*:*:*:*:*",
    );
    expect(cpe("cpe:2.3:o:suse:sles:15:sp5:*:*:*:*:*:*")).toBe("cpe:2.3:o:suse:sles:15:sp5:*:*:*:*:*:*");
    expect(cpe("not a cpe")).toBeUndefined();
    expect(parseOsRelease("ID=debian\nVERSION_ID=12\n")!.cpeName).toBeUndefined();
  });
});
