/**
 * The one shape every imported vulnerability record takes (OSV's `affected` entry, flattened): which package of
 * which ecosystem it concerns, the affected ranges and versions, and the advisory's id, severity and summary.
 * Debian tracker entries are turned into the same shape (debian-tracker.ts), so matching is written once.
 *
 * `affects` follows the OSV schema's evaluation of `ranges` (https://ossf.github.io/osv-schema/#evaluation):
 * events sorted by version, `introduced` opens a range, `fixed` (excluded) and `last_affected` (included)
 * close it; `versions` lists affected versions exactly.
 */
import { type Compare, comparatorFor } from "./versions.js";

export interface RangeEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface AffectedRange {
  /** SEMVER, ECOSYSTEM or GIT (GIT ranges name commits: they cannot be compared to an installed version). */
  type: string;
  events: RangeEvent[];
}

export interface AffectedPackage {
  /** OSV ecosystem: npm, PyPI, RubyGems, Packagist, Go, Debian:12, Rocky Linux:9, Red Hat:enterprise_linux:9::baseos ... */
  ecosystem: string;
  /** As the ecosystem spells it; Debian: the source package. */
  package: string;
  advisory: string;
  aliases: string[];
  /** CRITICAL, HIGH, MODERATE/MEDIUM, LOW, or the tracker's urgency; undefined when unknown. */
  severity?: string;
  summary?: string;
  ranges: AffectedRange[];
  versions: string[];
  /** "osv" or "debian-tracker". */
  source: string;
}

export type Verdict =
  | { affected: false }
  | { affected: true; fixed?: string }
  /** The installed version or a range bound could not be read with the ecosystem's ordering. */
  | { affected: "unknown"; reason: string };

/** Whether `version` is affected, and the first fix above it. */
export function affects(entry: AffectedPackage, version: string): Verdict {
  const cmp = comparatorFor(entry.ecosystem);
  if (entry.versions.includes(version)) return { affected: true, ...firstFix(entry, version, cmp) };
  let unknown: string | undefined;
  for (const range of entry.ranges) {
    if (range.type !== "SEMVER" && range.type !== "ECOSYSTEM") continue;
    try {
      if (inRange(range.events, version, cmp)) return { affected: true, ...firstFix(entry, version, cmp) };
    } catch (err) {
      unknown = (err as Error).message;
    }
  }
  return unknown ? { affected: "unknown", reason: unknown } : { affected: false };
}

function isZero(v: string): boolean {
  return v === "0";
}

function inRange(events: RangeEvent[], version: string, cmp: Compare): boolean {
  const eventVersion = (e: RangeEvent) => e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? "0";
  // "0" is below every version and may not parse as one
  const order = (x: string, y: string) =>
    isZero(x) && isZero(y) ? 0 : isZero(x) ? -1 : isZero(y) ? 1 : cmp(x, y);
  const sorted = [...events]
    .filter((e) => e.limit === undefined)
    .sort((a, b) => order(eventVersion(a), eventVersion(b)));
  let affected = false;
  for (const e of sorted) {
    if (e.introduced !== undefined) {
      if (order(version, e.introduced) >= 0) affected = true;
    } else if (e.fixed !== undefined) {
      if (order(version, e.fixed) >= 0) affected = false;
    } else if (e.last_affected !== undefined) {
      if (order(version, e.last_affected) > 0) affected = false;
    }
  }
  return affected;
}

function firstFix(entry: AffectedPackage, version: string, cmp: Compare): { fixed?: string } {
  const fixes: string[] = [];
  for (const r of entry.ranges)
    for (const e of r.events) {
      if (e.fixed === undefined || (r.type !== "SEMVER" && r.type !== "ECOSYSTEM")) continue;
      try {
        if (cmp(e.fixed, version) > 0) fixes.push(e.fixed);
      } catch {
        // a fix we cannot order says nothing about this version
      }
    }
  fixes.sort(cmp);
  return fixes[0] !== undefined ? { fixed: fixes[0] } : {};
}
