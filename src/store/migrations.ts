/**
 * The store's schema as an ordered list of migrations. A migration, once released, never changes: a schema
 * change is a new entry at the end of the list.
 */
import type { Database } from "better-sqlite3";
import { Hop3Error } from "../util/errors.js";

export interface Migration {
  id: number;
  name: string;
  sql: string;
  /** Rewrites existing rows after `sql`, in the same transaction (e.g. sealing values that were in clear). */
  data?: (db: Database, seal: Seal) => void;
}

/** Encrypts a value bound to `context` (secret-box.ts seal with the store's key). */
export type Seal = (plaintext: string, context: string) => string;

/** Where a release's sealed spec is bound (store.ts uses the same context to open it). */
export const releaseSpecContext = (releaseId: number) => `releases.spec_sealed\0${releaseId}`;

export const migrations: readonly Migration[] = [
  {
    id: 1,
    name: "initial schema",
    sql: `
CREATE TABLE apps (
  name          TEXT PRIMARY KEY,
  created_at    TEXT NOT NULL,
  desired_state TEXT NOT NULL DEFAULT 'running' CHECK (desired_state IN ('running', 'stopped')),
  scale         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(scale)),
  generated_env TEXT,            -- sealed JSON object of generated secrets
  settings      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings))
) STRICT;

CREATE TABLE releases (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  app             TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
  number          INTEGER NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
                    ('pending', 'building', 'deploying', 'active', 'failed', 'superseded', 'rolled-back')),
  source_kind     TEXT NOT NULL CHECK (source_kind IN ('containerfile', 'image', 'buildpacks', 'config')),
  source_ref      TEXT,
  revision        TEXT,
  image           TEXT,
  image_id        TEXT,
  config_snapshot TEXT,          -- sealed JSON object: the env the release runs with
  spec            TEXT CHECK (spec IS NULL OR json_valid(spec)),
  created_by      TEXT,
  created_at      TEXT NOT NULL,
  finished_at     TEXT,
  error           TEXT,
  UNIQUE (app, number)
) STRICT;
-- At most one release of an app is serving: the database enforces it, not only the code.
CREATE UNIQUE INDEX releases_one_active ON releases(app) WHERE status = 'active';

CREATE TABLE config_vars (
  app        TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,      -- sealed
  updated_at TEXT NOT NULL,
  PRIMARY KEY (app, key)
) STRICT;

CREATE TABLE domains (
  hostname   TEXT PRIMARY KEY,
  app        TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
  created_at TEXT NOT NULL
) STRICT;
CREATE INDEX domains_app ON domains(app);

CREATE TABLE deploy_logs (
  release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  ts         TEXT NOT NULL,
  line       TEXT NOT NULL,
  PRIMARY KEY (release_id, seq)
) STRICT;

CREATE TABLE tokens (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT NOT NULL,
  hash         TEXT NOT NULL UNIQUE,
  role         TEXT NOT NULL CHECK (role IN ('admin', 'developer', 'viewer')),
  created_at   TEXT NOT NULL,
  last_used_at TEXT
) STRICT;

CREATE TABLE ssh_keys (
  fingerprint TEXT PRIMARY KEY,
  public_key  TEXT NOT NULL,
  comment     TEXT NOT NULL DEFAULT '',
  added_at    TEXT NOT NULL
) STRICT;

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
`,
  },
  {
    id: 2,
    name: "release descriptions",
    // What a release is, in words: "Deploy 1a2b3c4", "Set GREETING", "Rollback to v3", "Scale web=2".
    sql: "ALTER TABLE releases ADD COLUMN description TEXT;",
  },
  {
    id: 3,
    name: "release steps",
    // The release's step (src/deploy/release-state.ts): the state reached while deploying, or the step that
    // failed ("health", "route"...), beside the coarse status.
    sql: "ALTER TABLE releases ADD COLUMN step TEXT;",
  },
  {
    id: 4,
    name: "sealed release specs",
    // A release's spec holds the ENV file's and hop3.toml [env]'s values (secrets, often): it is sealed like
    // the config snapshot. Rows written before are sealed here and their clear copy removed (the store runs
    // with secure_delete, so the old bytes are overwritten, not left in free pages).
    sql: "ALTER TABLE releases ADD COLUMN spec_sealed TEXT;",
    data: (db, seal) => {
      const rows = db.prepare("SELECT id, spec FROM releases WHERE spec IS NOT NULL").all() as {
        id: number;
        spec: string;
      }[];
      const update = db.prepare("UPDATE releases SET spec_sealed = ?, spec = NULL WHERE id = ?");
      for (const row of rows) update.run(seal(row.spec, releaseSpecContext(row.id)), row.id);
    },
  },
  {
    id: 5,
    name: "addons",
    // Backing services (src/addons/): credentials sealed (store/addon-store.ts). An addon with attachments
    // cannot be deleted (RESTRICT); an app's attachments go with the app.
    sql: `
CREATE TABLE addons (
  name        TEXT PRIMARY KEY,
  type        TEXT NOT NULL,
  major       TEXT NOT NULL,
  image       TEXT NOT NULL,
  credentials TEXT NOT NULL,
  options     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(options)),
  created_at  TEXT NOT NULL
) STRICT;
CREATE TABLE addon_attachments (
  addon      TEXT NOT NULL REFERENCES addons(name) ON DELETE RESTRICT,
  app        TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
  prefix     TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  PRIMARY KEY (addon, app)
) STRICT;
CREATE INDEX addon_attachments_app ON addon_attachments(app);
`,
  },
  {
    id: 6,
    name: "catalog installs",
    // Which catalog recipe and version an app was installed from (src/catalog/), and the install's state: an
    // install or upgrade a server crash interrupted is found at start-up and rolled back (catalog-store.ts).
    // `created_addons`: the addons that install created, the only ones its rollback may destroy.
    sql: `
CREATE TABLE catalog_installs (
  app            TEXT PRIMARY KEY REFERENCES apps(name) ON DELETE CASCADE,
  recipe         TEXT NOT NULL,
  version        TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('installing', 'installed', 'upgrading', 'failed')),
  error          TEXT,
  created_addons TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(created_addons)),
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL
) STRICT;
`,
  },
  {
    id: 7,
    name: "vulnerability database",
    // `hop audit:import`: the advisories an operator imported offline (OSV, Debian's security tracker), one row
    // per affected package (vuln-store.ts), and a row per import (when, from what). Nothing references apps:
    // `hop audit` matches them against the releases' SBOM files.
    sql: `
CREATE TABLE vuln_records (
  source    TEXT NOT NULL,
  ecosystem TEXT NOT NULL,
  package   TEXT NOT NULL,
  advisory  TEXT NOT NULL,
  aliases   TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(aliases)),
  severity  TEXT,
  summary   TEXT,
  ranges    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(ranges)),
  versions  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(versions))
) STRICT;
CREATE INDEX vuln_records_package ON vuln_records(ecosystem, package);
CREATE INDEX vuln_records_advisory ON vuln_records(source, advisory);
CREATE TABLE vuln_imports (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  format      TEXT NOT NULL,
  file        TEXT NOT NULL,
  sha256      TEXT NOT NULL,
  advisories  INTEGER NOT NULL,
  records     INTEGER NOT NULL,
  imported_at TEXT NOT NULL
) STRICT;
`,
  },
  {
    id: 8,
    name: "backup restores",
    // A restore in progress into an app, and one that did not finish (restore-store.ts): a server killed
    // mid-restore finds the row at start-up, stops the app and marks it failed with the step it reached, so a
    // half-restored app never serves and is shown as such until it is restored again or destroyed.
    sql: `
CREATE TABLE restores (
  app        TEXT PRIMARY KEY REFERENCES apps(name) ON DELETE CASCADE,
  backup     TEXT NOT NULL,
  status     TEXT NOT NULL CHECK (status IN ('restoring', 'failed')),
  step       TEXT,
  error      TEXT,
  started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
`,
  },
];

/**
 * Applies the migrations `db` has not seen yet, each in its own transaction, and returns their ids. Safe to run
 * on every start and from two processes at once: the check and the change happen under one write lock.
 */
export function migrate(db: Database, list: readonly Migration[] = migrations, seal?: Seal): number[] {
  const sealer: Seal =
    seal ??
    (() => {
      throw new Hop3Error("this migration seals stored values: open the database through Store.open");
    });
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
  const newest = db.prepare("SELECT max(id) AS id FROM schema_migrations").get() as { id: number | null };
  const known = Math.max(0, ...list.map((m) => m.id));
  if (newest.id !== null && newest.id > known) {
    throw new Hop3Error(
      `the database has schema version ${newest.id}, newer than this Hop3 knows (${known})`,
      "error",
      "run the Hop3 version that wrote it, or restore a backup",
    );
  }
  const isApplied = db.prepare("SELECT 1 FROM schema_migrations WHERE id = ?").pluck();
  const record = db.prepare("INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)");
  const applied: number[] = [];
  for (const migration of [...list].sort((a, b) => a.id - b.id)) {
    const apply = db.transaction(() => {
      if (isApplied.get(migration.id)) return false;
      db.exec(migration.sql);
      migration.data?.(db, sealer);
      record.run(migration.id, migration.name, new Date().toISOString());
      return true;
    });
    if (apply.immediate()) applied.push(migration.id);
  }
  return applied;
}
