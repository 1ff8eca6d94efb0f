/**
 * Turns the vulnerability databases an operator can download into AffectedPackage records (advisory.ts):
 *
 * - OSV (https://ossf.github.io/osv-schema/): one advisory object, an array of them, or a directory of
 *   `*.json` files as osv.dev's per-ecosystem exports unpack to. Ecosystems we can match: npm, PyPI,
 *   RubyGems, Packagist, Go, Debian, and the RPM-versioned AlmaLinux, Rocky Linux, Red Hat, openSUSE and SUSE
 *   (others are counted and skipped).
 * - Debian's security tracker (https://security-tracker.debian.org/tracker/data/json): source package ->
 *   CVE -> release codename -> { status, fixed_version, urgency }.
 *
 * Pure: takes parsed JSON, returns records and what was skipped and why, so `hop audit:import` can say it.
 */
import { Hop3Error } from "../util/errors.js";
import type { AffectedPackage, AffectedRange } from "./advisory.js";
import { RPM_ECOSYSTEMS } from "./versions.js";

export const SUPPORTED_ECOSYSTEMS = [
  "npm",
  "PyPI",
  "RubyGems",
  "Packagist",
  "Go",
  "Debian",
  ...RPM_ECOSYSTEMS,
] as const;

/** Debian codenames to the release numbers purls carry (`distro=debian-12`). */
export const DEBIAN_RELEASES: Record<string, string> = {
  buster: "10",
  bullseye: "11",
  bookworm: "12",
  trixie: "13",
  forky: "14",
};

export interface ParsedDb {
  format: "osv" | "debian-tracker";
  records: AffectedPackage[];
  advisories: number;
  /** Entries left out, with why (an ecosystem we do not match, a malformed entry...). */
  skipped: Record<string, number>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => !!v && typeof v === "object" && !Array.isArray(v);

/** Which format a parsed JSON document is. */
export function detectFormat(doc: unknown): "osv" | "debian-tracker" {
  if (Array.isArray(doc)) return "osv";
  if (isObject(doc) && typeof doc.id === "string" && ("affected" in doc || "modified" in doc)) return "osv";
  if (isObject(doc)) {
    const first = Object.values(doc)[0];
    if (isObject(first)) {
      const cve = Object.values(first)[0];
      if (isObject(cve) && isObject(cve.releases)) return "debian-tracker";
    }
    if (Object.keys(doc).length === 0) return "debian-tracker";
  }
  throw new Hop3Error(
    "not a vulnerability database this server can import",
    "usage",
    "give an OSV advisory (JSON object or array, or a directory of them) or Debian's security tracker JSON",
  );
}

function bump(skipped: Record<string, number>, why: string): void {
  skipped[why] = (skipped[why] ?? 0) + 1;
}

function osvSeverity(doc: Json, affected: Json): string | undefined {
  const dbs = isObject(doc.database_specific) ? doc.database_specific : {};
  if (typeof dbs.severity === "string") return dbs.severity.toUpperCase();
  const eco = isObject(affected.ecosystem_specific) ? affected.ecosystem_specific : {};
  if (typeof eco.severity === "string") return eco.severity.toUpperCase();
  if (typeof eco.urgency === "string") return eco.urgency;
  const sev = Array.isArray(doc.severity) ? doc.severity.find(isObject) : undefined;
  return sev && typeof sev.score === "string" ? sev.score : undefined;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

function ranges(v: unknown): AffectedRange[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isObject).map((r) => ({
    type: String(r.type ?? ""),
    events: (Array.isArray(r.events) ? r.events.filter(isObject) : []).map((e) => {
      const out: AffectedRange["events"][number] = {};
      for (const k of ["introduced", "fixed", "last_affected", "limit"] as const)
        if (typeof e[k] === "string") out[k] = e[k] as string;
      return out;
    }),
  }));
}

/**
 * `aliases`, and `upstream` (OSV 1.7): the distributions' advisories (RLSA-2023:0946, RHSA-...) name the CVEs
 * they fix there, and those are what an operator looks up.
 */
function aliasesOf(doc: Json): string[] {
  return [...new Set([...strings(doc.aliases), ...strings(doc.upstream)])];
}

/** OSV documents (each one advisory) to records. */
export function parseOsv(docs: unknown[]): ParsedDb {
  const records: AffectedPackage[] = [];
  const skipped: Record<string, number> = {};
  let advisories = 0;
  for (const doc of docs) {
    if (!isObject(doc) || typeof doc.id !== "string") {
      bump(skipped, "not an OSV advisory (no id)");
      continue;
    }
    if (typeof doc.withdrawn === "string") {
      bump(skipped, "withdrawn");
      continue;
    }
    advisories++;
    for (const a of Array.isArray(doc.affected) ? doc.affected : []) {
      if (!isObject(a) || !isObject(a.package)) continue;
      const ecosystem = String(a.package.ecosystem ?? "");
      const name = String(a.package.name ?? "");
      if (!SUPPORTED_ECOSYSTEMS.includes(ecosystem.split(":")[0] as (typeof SUPPORTED_ECOSYSTEMS)[number])) {
        bump(skipped, `ecosystem ${ecosystem.split(":")[0] || "(none)"}`);
        continue;
      }
      if (!name) {
        bump(skipped, "no package name");
        continue;
      }
      const severity = osvSeverity(doc, a);
      records.push({
        ecosystem,
        package: normalisePackageName(ecosystem, name),
        advisory: doc.id,
        aliases: aliasesOf(doc),
        ...(severity ? { severity } : {}),
        ...(typeof doc.summary === "string" ? { summary: doc.summary } : {}),
        ranges: ranges(a.ranges),
        versions: strings(a.versions),
        source: "osv",
      });
    }
  }
  return { format: "osv", records, advisories, skipped };
}

/**
 * The tracker's statuses: "resolved" with a fixed_version (below it is affected; "0" means never affected),
 * "open" (no fix yet: every version), "undetermined". Open issues the security team rates "unimportant"
 * are not reported: Debian does not consider them security problems of the release.
 */
export function parseDebianTracker(doc: unknown): ParsedDb {
  if (!isObject(doc)) throw new Hop3Error("the Debian tracker JSON is not an object", "usage");
  const records: AffectedPackage[] = [];
  const skipped: Record<string, number> = {};
  const seen = new Set<string>();
  for (const [pkg, cves] of Object.entries(doc)) {
    if (!isObject(cves)) continue;
    for (const [cve, entry] of Object.entries(cves)) {
      if (!isObject(entry) || !isObject(entry.releases)) continue;
      seen.add(cve);
      for (const [codename, rel] of Object.entries(entry.releases)) {
        const number = DEBIAN_RELEASES[codename];
        if (!isObject(rel)) continue;
        if (!number) {
          bump(skipped, `release ${codename}`);
          continue;
        }
        const status = String(rel.status ?? "");
        const fixed = typeof rel.fixed_version === "string" ? rel.fixed_version : undefined;
        const urgency = typeof rel.urgency === "string" ? rel.urgency : undefined;
        if (status === "resolved" && fixed === "0") {
          bump(skipped, "not affected (fixed_version 0)");
          continue;
        }
        if (status !== "resolved" && urgency?.startsWith("unimportant")) {
          bump(skipped, "open but unimportant");
          continue;
        }
        if (status === "resolved" && !fixed) {
          bump(skipped, "resolved without a version");
          continue;
        }
        records.push({
          ecosystem: `Debian:${number}`,
          package: pkg,
          advisory: cve,
          aliases: [],
          ...(urgency && urgency !== "not yet assigned" ? { severity: urgency } : {}),
          ...(typeof entry.description === "string" ? { summary: entry.description } : {}),
          ranges: [
            {
              type: "ECOSYSTEM",
              events: [{ introduced: "0" }, ...(status === "resolved" && fixed ? [{ fixed }] : [])],
            },
          ],
          versions: [],
          source: "debian-tracker",
        });
      }
    }
  }
  return { format: "debian-tracker", records, advisories: seen.size, skipped };
}

/** PyPI names compare case-insensitively with -, _ and . alike (PEP 503); npm names are lower-case already. */
export function normalisePackageName(ecosystem: string, name: string): string {
  if (ecosystem === "PyPI") return name.toLowerCase().replace(/[-_.]+/g, "-");
  return name;
}
