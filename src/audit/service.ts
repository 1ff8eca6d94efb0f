/**
 * `hop audit` and `hop audit:import` on the server: the imported database (store.vulns) against each app's
 * active release SBOM (src/sbom/store.ts). Without a database it refuses plainly, so that nobody reads an empty
 * report as "no vulnerabilities".
 */
import { createHash } from "node:crypto";
import { readReleaseSbom, readSbomFailure } from "../sbom/store.js";
import type { Store } from "../store/store.js";
import type { VulnImport } from "../store/vuln-store.js";
import { Hop3Error } from "../util/errors.js";
import { detectFormat, parseDebianTracker, parseOsv } from "./importers.js";
import {
  type Finding,
  matchPurls,
  purlsOfCycloneDx,
  resolvePackage,
  type SbomPackage,
  type Unchecked,
} from "./match.js";

export const NO_DATABASE = "no vulnerability database imported";
export const IMPORT_HINT = "hop audit:import FILE (an OSV export or Debian's security tracker JSON)";

export interface AppAudit {
  app: string;
  release?: number;
  /** "ok": matched; "no-release", "no-sbom": nothing to match (note says why). */
  status: "ok" | "no-release" | "no-sbom";
  note?: string;
  components?: number;
  /**
   * Components the database cannot cover, by purl type ("apk"; "rpm" for a distribution without a known
   * advisory ecosystem; "deb" for a Debian derivative or an unknown release; any type whose ecosystem has no
   * record in the database): never checked, so no finding for them means nothing.
   */
  notChecked?: Record<string, number>;
  /** Why, per purl type (each reason once): `rpm: ["the database holds no Rocky Linux:9 advisories"]`. */
  notCheckedReasons?: Record<string, string[]>;
  findings: Finding[];
  unknown: { package: string; advisory: string; reason: string }[];
}

export interface AuditReport {
  database: { imports: VulnImport[]; records: Record<string, number> };
  apps: AppAudit[];
}

export async function auditApps(store: Store, dataDir: string, app?: string): Promise<AuditReport> {
  const imports = store.vulns.imports();
  if (imports.length === 0) throw new Hop3Error(NO_DATABASE, "notFound", IMPORT_HINT);
  const names = app ? [store.requireApp(app).name] : store.listApps().map((a) => a.name);
  const apps: AppAudit[] = [];
  // once, not per app: DISTINCT walks the whole (ecosystem, package) index, large with Debian's tracker in it
  const covered = new Set(store.vulns.ecosystems());
  for (const name of names) {
    const current = store.currentRelease(name);
    if (!current) {
      apps.push({ app: name, status: "no-release", note: "no active release", findings: [], unknown: [] });
      continue;
    }
    const doc = await readReleaseSbom(dataDir, name, current.number);
    if (!doc) {
      const failure = readSbomFailure(dataDir, name, current.number);
      apps.push({
        app: name,
        release: current.number,
        status: "no-sbom",
        note: failure
          ? `no SBOM: ${failure.reason}`
          : "no SBOM for this release (deploy again to generate one)",
        findings: [],
        unknown: [],
      });
      continue;
    }
    const purls = purlsOfCycloneDx(doc);
    const result = matchPurls(purls, (eco, pkg) => store.vulns.find(eco, pkg));
    const { notChecked, notCheckedReasons } = uncheckedComponents(purls, covered);
    apps.push({
      app: name,
      release: current.number,
      status: "ok",
      components: purls.length,
      ...(Object.keys(notChecked).length ? { notChecked, notCheckedReasons } : {}),
      findings: result.findings,
      unknown: result.unknown,
    });
  }
  return { database: { imports, records: store.vulns.counts() }, apps };
}

/**
 * The components no finding can speak for, counted by purl type with the reasons: those the matcher cannot map
 * to an ecosystem, and those of an ecosystem the imported database holds nothing for (a Rocky Linux image
 * audited against Debian's tracker alone is not "0 vulnerabilities").
 */
export function uncheckedComponents(
  purls: SbomPackage[],
  covered: Set<string>,
): Required<Pick<AppAudit, "notChecked" | "notCheckedReasons">> {
  const notChecked: Record<string, number> = {};
  const notCheckedReasons: Record<string, string[]> = {};
  for (const p of purls) {
    const why = whyUnchecked(p, covered);
    if (!why) continue;
    notChecked[why.type] = (notChecked[why.type] ?? 0) + 1;
    const known = notCheckedReasons[why.type] ?? [];
    if (!known.includes(why.reason)) notCheckedReasons[why.type] = [...known, why.reason];
  }
  return { notChecked, notCheckedReasons };
}

/** Why no finding can speak for a component; undefined when it is checked. */
function whyUnchecked(p: SbomPackage, covered: Set<string>): Unchecked | undefined {
  const r = resolvePackage(p.purl, p.source);
  if ("reason" in r) return r;
  if ((r.lookupIn ?? [r.ecosystem]).some((e) => covered.has(e))) return undefined;
  const type = /^pkg:([^/]+)\//.exec(r.purl)?.[1] ?? "unknown";
  return { type, reason: `the database holds no ${r.ecosystem} advisories` };
}

/** Largest database accepted in one import (Debian's full tracker JSON is tens of MB). */
export const MAX_IMPORT_BYTES = 512 * 1024 * 1024;

export interface ImportResult extends VulnImport {
  skipped: Record<string, number>;
}

/** Parses and stores a database file's content; nothing is stored when it cannot be read. */
export function importDatabase(store: Store, file: string, content: Buffer): ImportResult {
  let doc: unknown;
  try {
    doc = JSON.parse(content.toString("utf8"));
  } catch (err) {
    throw new Hop3Error(`${file} is not JSON: ${(err as Error).message}`, "usage", IMPORT_HINT);
  }
  const format = detectFormat(doc);
  const parsed = format === "osv" ? parseOsv(Array.isArray(doc) ? doc : [doc]) : parseDebianTracker(doc);
  if (parsed.records.length === 0)
    throw new Hop3Error(
      `${file} holds no advisory this server can match (${describeSkipped(parsed.skipped) || "empty"})`,
      "usage",
      "the ecosystems matched are npm, PyPI, RubyGems, Packagist, Go, Debian, AlmaLinux, Rocky Linux, Red Hat, openSUSE and SUSE",
    );
  const imported = {
    format,
    file,
    sha256: createHash("sha256").update(content).digest("hex"),
    advisories: parsed.advisories,
    importedAt: new Date().toISOString(),
  };
  store.vulns.replace(format, parsed.records, imported);
  return { ...imported, records: parsed.records.length, skipped: parsed.skipped };
}

export function describeSkipped(skipped: Record<string, number>): string {
  return Object.entries(skipped)
    .map(([why, n]) => `${n} skipped: ${why}`)
    .join(", ");
}
