/**
 * Version ordering per ecosystem, for deciding whether an installed version is below an advisory's fix.
 * Each comparator answers <0, 0 or >0 like a sort callback. The orderings differ in ways that matter for
 * security: Debian's and RPM's `~` sorts before the empty string (1.0~rc1 < 1.0), semver's pre-releases sort
 * before the release, PEP 440's dev releases before pre-releases. A version a comparator cannot read is reported by the
 * matcher as "could not compare", never silently as safe.
 */

export type Compare = (a: string, b: string) => number;

export class UnparsableVersion extends Error {
  constructor(
    readonly version: string,
    readonly scheme: string,
  ) {
    super(`${JSON.stringify(version)} is not a ${scheme} version`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Debian (dpkg's lib/dpkg/version.c: epoch:upstream-revision, verrevcmp)

interface DebVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

export function parseDebianVersion(text: string): DebVersion {
  const v = text.trim();
  if (v === "" || /\s/.test(v)) throw new UnparsableVersion(text, "Debian");
  const colon = v.indexOf(":");
  let epoch = 0;
  let rest = v;
  if (colon >= 0) {
    const e = v.slice(0, colon);
    if (!/^\d+$/.test(e)) throw new UnparsableVersion(text, "Debian");
    epoch = Number(e);
    rest = v.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf("-");
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : "";
  // dpkg only warns about an upstream part that does not start with a digit; it compares it all the same
  if (upstream === "" || !/^[A-Za-z0-9.+~:-]+$/.test(v.slice(colon + 1)))
    throw new UnparsableVersion(text, "Debian");
  return { epoch, upstream, revision };
}

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const isAlpha = (c: string) => /[A-Za-z]/.test(c);

/** dpkg's order(): digits 0 (handled apart), letters by code, `~` below everything, end of string 0. */
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c.charCodeAt(0);
  if (c === "~") return -1;
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp: alternating non-digit and digit runs. */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(a[i]);
      const bc = order(b[j]);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === "0") i++;
    while (b[j] === "0") j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

export const compareDebian: Compare = (a, b) => {
  const x = parseDebianVersion(a);
  const y = parseDebianVersion(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return verrevcmp(x.upstream, y.upstream) || verrevcmp(x.revision, y.revision);
};

// ---------------------------------------------------------------------------------------------------------
// Semver 2.0 (npm, Go modules, Packagist): a leading `v` and missing minor/patch are accepted (Go's v1.2.3,
// Composer's 1.2), build metadata is ignored as the spec says.

interface SemVer {
  core: number[];
  pre: (string | number)[];
}

export function parseSemver(text: string): SemVer {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(
    text.trim(),
  );
  if (!m) throw new UnparsableVersion(text, "semver");
  const core = [m[1], m[2], m[3], m[4]].map((n) => (n === undefined ? 0 : Number(n)));
  const pre = m[5] ? m[5].split(".").map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [];
  return { core, pre };
}

export const compareSemver: Compare = (a, b) => {
  const x = parseSemver(a);
  const y = parseSemver(b);
  for (let k = 0; k < 4; k++) if (x.core[k] !== y.core[k]) return x.core[k]! - y.core[k]!;
  // a pre-release sorts before its release
  if (x.pre.length === 0 || y.pre.length === 0) return y.pre.length - x.pre.length;
  for (let k = 0; k < Math.max(x.pre.length, y.pre.length); k++) {
    const p = x.pre[k];
    const q = y.pre[k];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (p === q) continue;
    if (typeof p === "number" && typeof q === "number") return p - q;
    if (typeof p === "number") return -1; // numeric identifiers sort before alphanumeric ones
    if (typeof q === "number") return 1;
    return p < q ? -1 : 1;
  }
  return 0;
};

// ---------------------------------------------------------------------------------------------------------
// PEP 440 (PyPI), the common subset: [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]; spellings normalised as
// the PEP says (alpha -> a, c/pre/preview -> rc, -N -> .postN, case, separators). Local labels are ignored.

interface Pep440 {
  epoch: number;
  release: number[];
  pre?: [number, number];
  post?: number;
  dev?: number;
}

const PEP440 =
  /^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?(?:(?:-(\d+))|(?:[-_.]?(?:post|rev|r)[-_.]?(\d*)))?(?:[-_.]?dev[-_.]?(\d*))?(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$/;

export function parsePep440(text: string): Pep440 {
  const m = PEP440.exec(text.trim().toLowerCase());
  if (!m) throw new UnparsableVersion(text, "PEP 440");
  const release = m[2]!.split(".").map(Number);
  while (release.length > 1 && release[release.length - 1] === 0) release.pop();
  const preRank: Record<string, number> = { a: 0, alpha: 0, b: 1, beta: 1, c: 2, rc: 2, pre: 2, preview: 2 };
  const v: Pep440 = { epoch: m[1] ? Number(m[1]) : 0, release };
  if (m[3]) v.pre = [preRank[m[3]]!, Number(m[4] || 0)];
  if (m[5] !== undefined) v.post = Number(m[5]);
  else if (m[6] !== undefined) v.post = Number(m[6] || 0);
  if (m[7] !== undefined) v.dev = Number(m[7] || 0);
  return v;
}

function pep440Key(v: Pep440): number[] {
  // packaging's _cmpkey: a dev release without pre/post sorts before any pre-release of the same release
  const pre = v.pre ? v.pre : v.dev !== undefined && v.post === undefined ? [-Infinity, 0] : [Infinity, 0];
  const post = v.post === undefined ? -Infinity : v.post;
  const dev = v.dev === undefined ? Infinity : v.dev;
  return [pre[0]!, pre[1]!, post, dev];
}

export const comparePep440: Compare = (a, b) => {
  const x = parsePep440(a);
  const y = parsePep440(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  for (let k = 0; k < Math.max(x.release.length, y.release.length); k++) {
    const d = (x.release[k] ?? 0) - (y.release[k] ?? 0);
    if (d) return d;
  }
  const kx = pep440Key(x);
  const ky = pep440Key(y);
  for (let k = 0; k < kx.length; k++) if (kx[k] !== ky[k]) return kx[k]! < ky[k]! ? -1 : 1;
  return 0;
};

// ---------------------------------------------------------------------------------------------------------
// RubyGems (Gem::Version): segments split at dots and at letter/digit boundaries; a segment with letters
// makes a pre-release and sorts before numbers; trailing zeros do not count.

function gemSegments(text: string): (string | number)[] {
  const v = text.trim();
  if (!/^[0-9]+(?:[.-]?[0-9A-Za-z]+)*$/.test(v)) throw new UnparsableVersion(text, "RubyGems");
  const segs = (v.replace(/-/g, ".pre.").match(/[0-9]+|[a-z]+/gi) ?? []).map((s) =>
    /^\d+$/.test(s) ? Number(s) : s,
  );
  while (segs.length > 1 && segs[segs.length - 1] === 0) segs.pop();
  return segs;
}

export const compareRubyGems: Compare = (a, b) => {
  const x = gemSegments(a);
  const y = gemSegments(b);
  for (let k = 0; k < Math.max(x.length, y.length); k++) {
    const p = x[k] ?? 0;
    const q = y[k] ?? 0;
    if (p === q) continue;
    if (typeof p === "string" && typeof q === "number") return -1;
    if (typeof p === "number" && typeof q === "string") return 1;
    return p < q ? -1 : 1;
  }
  return 0;
};

// ---------------------------------------------------------------------------------------------------------
// RPM (rpm's lib/rpmvercmp.c and rpmio/rpmver.c): [epoch:]version[-release], each part compared by rpmvercmp.

/** rpm's risalpha: ASCII only; other characters are separators. */
const isAsciiAlpha = (c: string) => /^[A-Za-z]$/.test(c);

/**
 * rpmvercmp: runs of ASCII letters or digits are compared in turn, anything else only separates them (so
 * 2_0 = 2.0). Digits compare as numbers and beat letters; `~` sorts before everything, even the end of the
 * string (1.0~rc1 < 1.0); `^` sorts after the end but before anything else (1.0 < 1.0^git1 < 1.0.1).
 */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  const isAlnum = (c: string | undefined) => isDigit(c) || (c !== undefined && isAsciiAlpha(c));
  const isSeparator = (c: string | undefined) => c !== undefined && !isAlnum(c) && c !== "~" && c !== "^";
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (isSeparator(a[i])) i++;
    while (isSeparator(b[j])) j++;
    if (a[i] === "~" || b[j] === "~") {
      if (a[i] !== "~") return 1;
      if (b[j] !== "~") return -1;
      i++;
      j++;
      continue;
    }
    // the order of these tests is rpm's: an ended string loses to a caret, a caret to anything else
    if (a[i] === "^" || b[j] === "^") {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== "^") return 1;
      if (b[j] !== "^") return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    // the segment's kind is a's: b's segment of that kind may be empty, and then numbers win over letters
    const numeric = isDigit(a[i]);
    const same = numeric ? isDigit : (c: string | undefined) => c !== undefined && isAsciiAlpha(c);
    let ei = i;
    let ej = j;
    while (same(a[ei])) ei++;
    while (same(b[ej])) ej++;
    if (ej === j) return numeric ? 1 : -1;
    let x = a.slice(i, ei);
    let y = b.slice(j, ej);
    if (numeric) {
      // compared as numbers of any length: no leading zeros, then the longer is larger
      x = x.replace(/^0+/, "");
      y = y.replace(/^0+/, "");
      if (x.length !== y.length) return x.length > y.length ? 1 : -1;
    }
    if (x !== y) return x < y ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

interface RpmVersion {
  epoch: string;
  version: string;
  /** Absent in a bare version (an advisory's `3.0.7`): then only the versions are compared. */
  release?: string;
}

/**
 * rpm's parseEVR: the epoch is the digits before a `:`, the release what follows the last `-`. rpm itself
 * accepts any string; what rpmbuild would refuse in a version (`-` or `:` inside it, spaces, non-ASCII,
 * an empty part) is refused here, so that a mangled version is reported as "could not compare".
 */
export function parseRpmVersion(text: string): RpmVersion {
  const m = /^(?:(\d+):)?([A-Za-z0-9._+~^]+)(?:-([A-Za-z0-9._+~^]+))?$/.exec(text.trim());
  if (!m) throw new UnparsableVersion(text, "RPM");
  return { epoch: m[1] ?? "0", version: m[2]!, ...(m[3] !== undefined ? { release: m[3] } : {}) };
}

/**
 * Epoch (a missing one is 0, as rpm takes it), then version, then release; a release is compared only when
 * both sides have one, as rpm matches a dependency on `openssl >= 3.0.7` whatever the release (rpmverOverlap):
 * an advisory fixed in `3.0.7` is fixed by every 3.0.7-N build.
 */
export const compareRpm: Compare = (a, b) => {
  const x = parseRpmVersion(a);
  const y = parseRpmVersion(b);
  const byEpochAndVersion = rpmvercmp(x.epoch, y.epoch) || rpmvercmp(x.version, y.version);
  if (byEpochAndVersion || x.release === undefined || y.release === undefined) return byEpochAndVersion;
  return rpmvercmp(x.release, y.release);
};

/** The OSV ecosystems whose versions are RPM EVRs (osv-schema's ecosystems.json). */
export const RPM_ECOSYSTEMS = ["AlmaLinux", "Rocky Linux", "Red Hat", "openSUSE", "SUSE"] as const;

/** OSV ecosystem names ("Debian:12", "npm", "PyPI"...) to their ordering. */
export function comparatorFor(ecosystem: string): Compare {
  const base = ecosystem.split(":")[0]!;
  if ((RPM_ECOSYSTEMS as readonly string[]).includes(base)) return compareRpm;
  switch (base) {
    case "Debian":
    case "Ubuntu":
      return compareDebian;
    case "PyPI":
      return comparePep440;
    case "RubyGems":
      return compareRubyGems;
    default:
      // npm, Go, Packagist, crates.io, Hex...: semver or close enough to it
      return compareSemver;
  }
}
