import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  type Compare,
  comparatorFor,
  compareDebian,
  comparePep440,
  compareRpm,
  compareRubyGems,
  compareSemver,
  rpmvercmp,
  verrevcmp,
} from "../../../src/audit/versions.js";

const sign = (n: number) => Math.sign(n);

/** Each list in ascending order: every pair compares as its positions do. */
function expectAscending(cmp: Compare, list: string[]): void {
  for (let i = 0; i < list.length; i++)
    for (let j = 0; j < list.length; j++)
      expect(sign(cmp(list[i]!, list[j]!)), `${list[i]} vs ${list[j]}`).toBe(sign(i - j));
}

describe("Debian versions (dpkg's algorithm)", () => {
  // dpkg lib/dpkg/t/t-version.c (test_version_compare) and apt's test/libapt/compareversion_test.cc, which
  // checks its results against dpkg --compare-versions: [a, b, expected sign]
  const cases: [string, string, number][] = [
    ["0:0-0", "0:0-0", 0],
    ["0:1-1", "0:1-1", 0],
    ["1:2-3", "1:2-3", 0],
    ["0:0-0", "1:0-0", -1],
    ["0:a-0", "0:b-0", -1],
    ["0:0-a", "0:0-b", -1],
    ["7.6p2-4", "7.6-0", 1],
    ["1.0.3-3", "1.0-1", 1],
    ["1.3", "1.2.2-2", 1],
    ["1.3", "1.2.2", 1],
    ["0-pre", "0-pre", 0],
    ["0-pre", "0-pree", -1],
    ["1.1.6r2-2", "1.1.6r-1", 1],
    ["2.6b2-1", "2.6b-2", 1],
    ["98.1p5-1", "98.1-pre2-b6-2", -1],
    ["0.4a6-2", "0.4-1", 1],
    ["1:3.0.5-2", "1:3.0.5.1", -1],
    ["10.3", "1:0.4", -1],
    ["1:1.25-4", "1:1.25-8", -1],
    ["0:1.18.36", "1.18.36", 0],
    ["1.18.36", "1.18.35", 1],
    ["0:1.18.36", "1.18.35", 1],
    ["9:1.18.36:5.4-20", "10:0.5.1-22", -1],
    ["9:1.18.36:5.4-20", "9:1.18.36:5.5-1", -1],
    ["1.18.36-0.17.35-18", "1.18.36-19", 1],
    ["1:1.2.13-3", "1:1.2.13-3.1", -1],
    ["2.0.7pre1-4", "2.0.7r-1", -1],
    ["0.2", "1.0-0", -1],
    ["1.0", "1.0-0+b1", -1],
    ["1.0", "1.0-0~", 1],
    ["1.2.3", "1.2.3", 0],
    ["4.4.3-2", "4.4.3-2", 0],
    ["1:2ab:5", "1:2ab:5", 0],
    ["7:1-a:b-5", "7:1-a:b-5", 0],
    ["57:1.2.3abYZ+~-4-5", "57:1.2.3abYZ+~-4-5", 0],
    ["1.2.3", "0:1.2.3", 0],
    ["1.2.3", "1.2.3-0", 0],
    ["009", "9", 0],
    ["009ab5", "9ab5", 0],
    ["1.2.3", "1.2.3-1", -1],
    ["1.2.3", "1.2.4", -1],
    ["1.2.4", "1.2.3", 1],
    ["1.2.24", "1.2.3", 1],
    ["0.10.0", "0.8.7", 1],
    ["3.2", "2.3", 1],
    ["1.3.2a", "1.3.2", 1],
    ["0.5.0~git", "0.5.0~git2", -1],
    ["2a", "21", -1],
    ["1.3.2a", "1.3.2b", -1],
    ["1:1.2.3", "1.2.4", 1],
    ["1:1.2.3", "1:1.2.4", -1],
    ["1.2a+~bCd3", "1.2a++", -1],
    ["1.2a+~bCd3", "1.2a+~", 1],
    ["5:2", "304-2", 1],
    ["5:2", "304:2", -1],
    ["25:2", "3:2", 1],
    ["1:2:123", "1:12:3", -1],
    ["1.2-5", "1.2-3-5", -1],
    ["5.10.0", "5.005", 1],
    ["3a9.8", "3.10.2", -1],
    ["3a9.8", "3~10", 1],
    ["1.4+OOo3.0.0~", "1.4+OOo3.0.0-4", -1],
    ["2.4.7-1", "2.4.7-z", -1],
    ["1.002-1+b2", "1.00", 1],
  ];
  it.each(cases)("%s vs %s: %i", (a, b, want) => {
    expect(sign(compareDebian(a, b))).toBe(want);
    expect(sign(compareDebian(b, a))).toBe(-want || 0);
  });

  it("Debian Policy's tilde example: ~~ < ~~a < ~ < (empty) < a", () => {
    expectAscending(verrevcmp, ["~~", "~~a", "~", "", "a"]);
  });

  it("Debian 12 security updates order as the archive does", () => {
    expectAscending(compareDebian, [
      "2.36-9",
      "2.36-9+deb12u1",
      "2.36-9+deb12u3",
      "2.36-9+deb12u10",
      "2.36-9+deb12u14",
      "2.37-1",
    ]);
    expectAscending(compareDebian, ["252.39-1~deb12u1", "252.39-1", "1:1.2.13.dfsg-1", "1:1.2.13.dfsg-1.1"]);
  });

  // the orderings a security check gets wrong with a naive comparison: [lower, higher]
  const tricky: [string, string][] = [
    ["2.0", "1:2.0"], // any epoch beats no epoch
    ["2.0", "1:1.0"],
    ["1:9.9", "2:0.1"],
    ["1.0~rc1", "1.0"], // ~ sorts before the end of the string
    ["1.0~rc1-1", "1.0-1"],
    ["1.0~~", "1.0~"],
    ["1.0", "1.0+deb12u1"], // + sorts after the end of the string
    ["1.0-1", "1.0-1+deb12u1"],
    ["2.36-9+deb12u9", "2.36-9+deb12u10"], // numeric, not lexical
    ["1:1.2.13.dfsg-1", "1:1.2.13.dfsg-1+deb12u1"], // zlib1g in the Debian 12 base image, and its fix
    ["1.2.13.dfsg-1+deb12u1", "1:1.2.13.dfsg-1"],
    ["3.0.20-1~deb12u2", "3.0.22-1~deb12u2"], // backports: ~debNN
    ["3.0.22-1~deb12u2", "3.0.22-1"],
    ["5.2.15-2", "5.2.15-2+b13"], // a binNMU is above its source version
    ["5.2.15-2+b13", "5.2.15-2+deb12u1"], // and below the source's next security update
    ["1.0-1", "1.0-1.1"], // a non-maintainer upload
  ];
  it.each(tricky)("%s < %s", (lower, higher) => {
    expect(sign(compareDebian(lower, higher))).toBe(-1);
    expect(sign(compareDebian(higher, lower))).toBe(1);
  });

  it("the tricky cases agree with dpkg --compare-versions itself (where dpkg is installed)", () => {
    if (spawnSync("dpkg", ["--version"]).status !== 0) return; // not a Debian machine: the cases above still run
    for (const [lower, higher] of tricky)
      expect(
        spawnSync("dpkg", ["--compare-versions", lower, "lt", higher]).status,
        `${lower} < ${higher}`,
      ).toBe(0);
  });

  it("refuses what is not a version", () => {
    expect(() => compareDebian("a:1", "1")).toThrow(/not a Debian version/);
    expect(() => compareDebian("1.0_beta", "1")).toThrow(/not a Debian version/);
    expect(() => compareDebian("", "1")).toThrow(/not a Debian version/);
    expect(() => compareDebian("1 2", "1")).toThrow(/not a Debian version/);
  });
});

describe("semver (npm, Go, Packagist)", () => {
  it("follows semver 2.0's precedence example", () => {
    expectAscending(compareSemver, [
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
      "1.0.1",
      "1.1.0",
      "2.0.0",
    ]);
  });
  it("reads Go's v prefix and ignores build metadata", () => {
    expect(compareSemver("v1.2.3", "1.2.3")).toBe(0);
    expect(compareSemver("1.2.3+build.5", "1.2.3")).toBe(0);
    expect(sign(compareSemver("4.19.2", "4.20.0"))).toBe(-1);
    expect(sign(compareSemver("5.0.0-alpha.1", "5.0.0"))).toBe(-1);
    expect(() => compareSemver("latest", "1.0.0")).toThrow(/not a semver version/);
  });
});

describe("PEP 440 (PyPI)", () => {
  it("follows the PEP's ordering example", () => {
    expectAscending(comparePep440, [
      "1.0.dev456",
      "1.0a1",
      "1.0a2.dev456",
      "1.0a12.dev456",
      "1.0a12",
      "1.0b1.dev456",
      "1.0b2",
      "1.0b2.post345.dev456",
      "1.0b2.post345",
      "1.0rc1.dev456",
      "1.0rc1",
      "1.0",
      "1.0.post456.dev34",
      "1.0.post456",
      "1.1.dev1",
    ]);
  });
  it("normalises spellings and ignores trailing zeros and local labels", () => {
    expect(comparePep440("1.0", "1.0.0")).toBe(0);
    expect(comparePep440("1.0-alpha1", "1.0a1")).toBe(0);
    expect(comparePep440("1.0-1", "1.0.post1")).toBe(0);
    expect(comparePep440("1.0+ubuntu1", "1.0")).toBe(0);
    expect(sign(comparePep440("1!0.5", "2.0"))).toBe(1);
    expect(sign(comparePep440("2.3.1", "2.3.2"))).toBe(-1);
    expect(sign(comparePep440("2.10", "2.9"))).toBe(1);
    expect(() => comparePep440("not-a-version", "1.0")).toThrow(/not a PEP 440 version/);
  });
});

describe("RubyGems", () => {
  it("orders pre-releases before releases and ignores trailing zeros", () => {
    expectAscending(compareRubyGems, [
      "1.0.0.a",
      "1.0.0.b1",
      "1.0.0.rc1",
      "1.0",
      "1.0.1",
      "2.2.4",
      "2.2.6.2",
      "2.10",
    ]);
    expect(compareRubyGems("1.0", "1.0.0")).toBe(0);
  });
});

describe("RPM versions (rpm's rpmvercmp and EVR comparison)", () => {
  // rpm's tests/rpmvercmp.at, every RPMVERCMP(a, b, expected) case (the "oddities" it keeps commented out
  // are left out too): [a, b, expected]
  const table: [string, string, number][] = [
    ["1.0", "1.0", 0],
    ["1.0", "2.0", -1],
    ["2.0", "1.0", 1],
    ["2.0.1", "2.0.1", 0],
    ["2.0", "2.0.1", -1],
    ["2.0.1", "2.0", 1],
    ["2.0.1a", "2.0.1a", 0],
    ["2.0.1a", "2.0.1", 1],
    ["2.0.1", "2.0.1a", -1],
    ["5.5p1", "5.5p1", 0],
    ["5.5p1", "5.5p2", -1],
    ["5.5p2", "5.5p1", 1],
    ["5.5p10", "5.5p10", 0],
    ["5.5p1", "5.5p10", -1],
    ["5.5p10", "5.5p1", 1],
    ["10xyz", "10.1xyz", -1],
    ["10.1xyz", "10xyz", 1],
    ["xyz10", "xyz10", 0],
    ["xyz10", "xyz10.1", -1],
    ["xyz10.1", "xyz10", 1],
    ["xyz.4", "xyz.4", 0],
    ["xyz.4", "8", -1],
    ["8", "xyz.4", 1],
    ["xyz.4", "2", -1],
    ["2", "xyz.4", 1],
    ["5.5p2", "5.6p1", -1],
    ["5.6p1", "5.5p2", 1],
    ["5.6p1", "6.5p1", -1],
    ["6.5p1", "5.6p1", 1],
    ["6.0.rc1", "6.0", 1],
    ["6.0", "6.0.rc1", -1],
    ["10b2", "10a1", 1],
    ["10a2", "10b2", -1],
    ["1.0aa", "1.0aa", 0],
    ["1.0a", "1.0aa", -1],
    ["1.0aa", "1.0a", 1],
    ["10.0001", "10.0001", 0],
    ["10.0001", "10.1", 0],
    ["10.1", "10.0001", 0],
    ["10.0001", "10.0039", -1],
    ["10.0039", "10.0001", 1],
    ["4.999.9", "5.0", -1],
    ["5.0", "4.999.9", 1],
    ["20101121", "20101121", 0],
    ["20101121", "20101122", -1],
    ["20101122", "20101121", 1],
    ["2_0", "2_0", 0],
    ["2.0", "2_0", 0],
    ["2_0", "2.0", 0],
    // RhBug:178798
    ["a", "a", 0],
    ["a+", "a+", 0],
    ["a+", "a_", 0],
    ["a_", "a+", 0],
    ["+a", "+a", 0],
    ["+a", "_a", 0],
    ["_a", "+a", 0],
    ["+_", "+_", 0],
    ["_+", "+_", 0],
    ["_+", "_+", 0],
    ["+", "_", 0],
    ["_", "+", 0],
    // tilde
    ["1.0~rc1", "1.0~rc1", 0],
    ["1.0~rc1", "1.0", -1],
    ["1.0", "1.0~rc1", 1],
    ["1.0~rc1", "1.0~rc2", -1],
    ["1.0~rc2", "1.0~rc1", 1],
    ["1.0~rc1~git123", "1.0~rc1~git123", 0],
    ["1.0~rc1~git123", "1.0~rc1", -1],
    ["1.0~rc1", "1.0~rc1~git123", 1],
    // caret
    ["1.0^", "1.0^", 0],
    ["1.0^", "1.0", 1],
    ["1.0", "1.0^", -1],
    ["1.0^git1", "1.0^git1", 0],
    ["1.0^git1", "1.0", 1],
    ["1.0", "1.0^git1", -1],
    ["1.0^git1", "1.0^git2", -1],
    ["1.0^git2", "1.0^git1", 1],
    ["1.0^git1", "1.01", -1],
    ["1.01", "1.0^git1", 1],
    ["1.0^20160101", "1.0^20160101", 0],
    ["1.0^20160101", "1.0.1", -1],
    ["1.0.1", "1.0^20160101", 1],
    ["1.0^20160101^git1", "1.0^20160101^git1", 0],
    ["1.0^20160102", "1.0^20160101^git1", 1],
    ["1.0^20160101^git1", "1.0^20160102", -1],
    // tilde and caret
    ["1.0~rc1^git1", "1.0~rc1^git1", 0],
    ["1.0~rc1^git1", "1.0~rc1", 1],
    ["1.0~rc1", "1.0~rc1^git1", -1],
    ["1.0^git1~pre", "1.0^git1~pre", 0],
    ["1.0^git1", "1.0^git1~pre", 1],
    ["1.0^git1~pre", "1.0^git1", -1],
  ];
  it.each(table)("rpmvercmp(%s, %s) = %i", (a, b, want) => {
    expect(sign(rpmvercmp(a, b))).toBe(want);
  });

  // [lower, higher] as RHEL-family security updates order them
  const evr: [string, string][] = [
    ["1:3.0.1-43.el9_0", "1:3.0.1-47.el9_1"], // openssl on AlmaLinux 9.0, and its fix ALSA-2023:0946
    ["1:3.0.1-47.el9_1", "1:3.0.7-24.el9"],
    ["3.0.7-27.el9", "1:3.0.1-43.el9_0"], // any epoch beats none
    ["0:3.0.7-27.el9", "1:3.0.1-43.el9_0"],
    ["1:3.0.7-24.el9", "1:3.0.7-24.el9_3"], // a z-stream rebuild is above its base
    ["1:3.0.7-24.el9_3", "1:3.0.7-25.el9_3"],
    ["5.14.0-362.8.1.el9_3", "5.14.0-362.13.1.el9_3"], // numeric, not lexical
    ["2.34-83.el9.7", "2.34-83.el9.12"],
    ["1.20.1-1.module+el9.1.0+1080+8d0c5a6b", "1.20.1-1.module+el9.1.0+1100+0a1b2c3d"], // module builds
    ["1.1.1l-150400.7.28.1", "1.1.1l-150400.7.60.2"], // openSUSE Leap 15.4's openssl-1_1
  ];
  it.each(evr)("%s < %s", (lower, higher) => {
    expect(sign(compareRpm(lower, higher))).toBe(-1);
    expect(sign(compareRpm(higher, lower))).toBe(1);
  });

  it("a missing epoch is 0; a release is compared only when both sides have one", () => {
    expect(compareRpm("0:3.0.7-24.el9", "3.0.7-24.el9")).toBe(0);
    // an advisory fixed in 3.0.7 is fixed by every 3.0.7 build, as rpm matches `openssl >= 3.0.7`
    expect(compareRpm("3.0.7-24.el9", "3.0.7")).toBe(0);
    expect(compareRpm("3.0.7", "3.0.7-1")).toBe(0);
    expect(sign(compareRpm("3.0.6-99.el9", "3.0.7"))).toBe(-1);
    expect(sign(compareRpm("1:3.0.7-24.el9", "3.0.7"))).toBe(1);
  });

  it("OSV's RPM ecosystems use it", () => {
    for (const eco of [
      "AlmaLinux:9",
      "Rocky Linux:9",
      "Red Hat:enterprise_linux:9::appstream",
      "openSUSE:Leap 15.5",
      "SUSE:Linux Enterprise Module for Basesystem 15 SP5",
    ])
      expect(comparatorFor(eco), eco).toBe(compareRpm);
  });

  it("refuses what rpmbuild would not build, so that it is 'could not compare', not safe", () => {
    expect(() => compareRpm("3.0.7 24.el9", "1")).toThrow(/not a RPM version/);
    expect(() => compareRpm("1:", "1")).toThrow(/not a RPM version/);
    expect(() => compareRpm("a:1.0", "1")).toThrow(/not a RPM version/);
    expect(() => compareRpm("1.0-1-2", "1")).toThrow(/not a RPM version/);
    expect(() => compareRpm("1.0-", "1")).toThrow(/not a RPM version/);
    expect(() => compareRpm("1.1.α", "1")).toThrow(/not a RPM version/);
    expect(() => compareRpm("", "1")).toThrow(/not a RPM version/);
  });

  it("agrees with rpm itself (where rpm is installed)", () => {
    // rpm 4.18's Lua rpm.vercmp parses [epoch:]version[-release] and compares with rpmverCmp, where a present
    // release beats a missing one (compareRpm then compares versions only, as rpm's dependency matching
    // does): every pair given to it has a release on both sides or on neither
    const pairs: [string, string][] = [
      ...table.map(([a, b]): [string, string] => [a, b]),
      ...evr,
      ...evr.map(([a, b]): [string, string] => [b, a]),
    ];
    const calls = pairs.map(([a, b]) => `rpm.vercmp("${a}", "${b}")`).join(", ");
    const lua = `%{lua: print(table.concat({ ${calls} }, ","))}`;
    const run = spawnSync("rpm", ["--eval", lua], { encoding: "utf8" });
    if (run.status !== 0 || run.error) return; // no rpm here: the cases above still run
    const got = run.stdout.trim().split(",").map(Number);
    expect(got.map(sign)).toEqual(pairs.map(([a, b]) => sign(compareRpm(a, b))));
  });
});
