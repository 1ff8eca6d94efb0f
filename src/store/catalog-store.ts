/**
 * Catalog installs (src/catalog/): which recipe and version each installed app came from, and whether its
 * install or upgrade finished. Part of the Store (store.ts `catalog`), on its database; a row goes with its app.
 */
import type BetterSqlite3 from "better-sqlite3";

export type CatalogInstallStatus = "installing" | "installed" | "upgrading" | "failed";

export interface CatalogInstallRow {
  app: string;
  recipe: string;
  version: string;
  status: CatalogInstallStatus;
  error?: string;
  createdAddons: string[];
  createdAt: string;
  updatedAt: string;
}

interface DbRow {
  app: string;
  recipe: string;
  version: string;
  status: CatalogInstallStatus;
  error: string | null;
  created_addons: string;
  created_at: string;
  updated_at: string;
}

const toRow = (r: DbRow): CatalogInstallRow => ({
  app: r.app,
  recipe: r.recipe,
  version: r.version,
  status: r.status,
  ...(r.error ? { error: r.error } : {}),
  createdAddons: JSON.parse(r.created_addons) as string[],
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class CatalogStore {
  constructor(private readonly db: BetterSqlite3.Database) {}

  get(app: string): CatalogInstallRow | undefined {
    const r = this.db.prepare("SELECT * FROM catalog_installs WHERE app = ?").get(app) as DbRow | undefined;
    return r ? toRow(r) : undefined;
  }

  list(): CatalogInstallRow[] {
    return (this.db.prepare("SELECT * FROM catalog_installs ORDER BY app").all() as DbRow[]).map(toRow);
  }

  /** Records an install that starts (the app exists), replacing nothing: one install per app. */
  begin(app: string, recipe: string, version: string, createdAddons: string[]): void {
    const now = new Date().toISOString();
    this.db
      .prepare(
        "INSERT INTO catalog_installs (app, recipe, version, status, created_addons, created_at, updated_at) VALUES (?, ?, ?, 'installing', ?, ?, ?)",
      )
      .run(app, recipe, version, JSON.stringify(createdAddons), now, now);
  }

  update(
    app: string,
    change: { status: CatalogInstallStatus; version?: string; error?: string | null },
  ): void {
    const row = this.get(app);
    if (!row) return;
    this.db
      .prepare("UPDATE catalog_installs SET status = ?, version = ?, error = ?, updated_at = ? WHERE app = ?")
      .run(
        change.status,
        change.version ?? row.version,
        change.error === undefined ? (row.error ?? null) : change.error,
        new Date().toISOString(),
        app,
      );
  }
}
