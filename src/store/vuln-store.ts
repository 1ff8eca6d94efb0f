/**
 * The imported vulnerability database (`hop audit:import`): one row per affected package of an advisory
 * (src/audit/advisory.ts), and a row per import saying when, from which file and in which format. An import
 * replaces what an earlier import of the same advisories said: OSV advisories by id, the Debian tracker as a
 * whole (it is always a full snapshot). The whole import is one transaction: a bad file changes nothing.
 */
import type BetterSqlite3 from "better-sqlite3";
import type { AffectedPackage } from "../audit/advisory.js";

export interface VulnImport {
  format: string;
  file: string;
  sha256: string;
  advisories: number;
  records: number;
  importedAt: string;
}

interface RecordRow {
  source: string;
  ecosystem: string;
  package: string;
  advisory: string;
  aliases: string;
  severity: string | null;
  summary: string | null;
  ranges: string;
  versions: string;
}

export class VulnStore {
  constructor(private readonly db: BetterSqlite3.Database) {}

  /** Replaces the records of the same advisories (OSV) or the whole tracker (Debian), in one transaction. */
  replace(
    format: "osv" | "debian-tracker",
    records: AffectedPackage[],
    imported: Omit<VulnImport, "records">,
  ): void {
    const insert = this.db.prepare(
      `INSERT INTO vuln_records (source, ecosystem, package, advisory, aliases, severity, summary, ranges, versions)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const deleteAdvisory = this.db.prepare("DELETE FROM vuln_records WHERE source = 'osv' AND advisory = ?");
    this.db.transaction(() => {
      if (format === "debian-tracker")
        this.db.prepare("DELETE FROM vuln_records WHERE source = 'debian-tracker'").run();
      else for (const id of new Set(records.map((r) => r.advisory))) deleteAdvisory.run(id);
      for (const r of records)
        insert.run(
          r.source,
          r.ecosystem,
          r.package,
          r.advisory,
          JSON.stringify(r.aliases),
          r.severity ?? null,
          r.summary ?? null,
          JSON.stringify(r.ranges),
          JSON.stringify(r.versions),
        );
      this.db
        .prepare(
          "INSERT INTO vuln_imports (format, file, sha256, advisories, records, imported_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .run(
          format,
          imported.file,
          imported.sha256,
          imported.advisories,
          records.length,
          imported.importedAt,
        );
    })();
  }

  /** The records about one package of one ecosystem. */
  find(ecosystem: string, pkg: string): AffectedPackage[] {
    const rows = this.db
      .prepare("SELECT * FROM vuln_records WHERE ecosystem = ? AND package = ?")
      .all(ecosystem, pkg) as RecordRow[];
    return rows.map((r) => ({
      source: r.source,
      ecosystem: r.ecosystem,
      package: r.package,
      advisory: r.advisory,
      aliases: JSON.parse(r.aliases) as string[],
      ...(r.severity !== null ? { severity: r.severity } : {}),
      ...(r.summary !== null ? { summary: r.summary } : {}),
      ranges: JSON.parse(r.ranges) as AffectedPackage["ranges"],
      versions: JSON.parse(r.versions) as string[],
    }));
  }

  /** Every import, newest first. Empty: no database was ever imported. */
  imports(): VulnImport[] {
    return (
      this.db
        .prepare(
          "SELECT format, file, sha256, advisories, records, imported_at AS importedAt FROM vuln_imports ORDER BY id DESC",
        )
        .all() as VulnImport[]
    ).map((r) => ({ ...r }));
  }

  /** Forgets every record and import (`hop audit:clear`): `hop audit` then says no database is imported. */
  clear(): { records: number; imports: number } {
    return this.db.transaction(() => ({
      records: this.db.prepare("DELETE FROM vuln_records").run().changes,
      imports: this.db.prepare("DELETE FROM vuln_imports").run().changes,
    }))();
  }

  /** The ecosystems some record names (`Debian:12`, `Rocky Linux:9`...): what the database can speak for. */
  ecosystems(): string[] {
    const rows = this.db.prepare("SELECT DISTINCT ecosystem FROM vuln_records").all() as {
      ecosystem: string;
    }[];
    return rows.map((r) => r.ecosystem);
  }

  /** Records held now, per source. */
  counts(): Record<string, number> {
    const rows = this.db.prepare("SELECT source, count(*) AS n FROM vuln_records GROUP BY source").all() as {
      source: string;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.source, r.n]));
  }
}
