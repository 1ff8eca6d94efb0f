/**
 * Hop3's own state: apps, releases, config, domains, deploy logs, tokens, SSH keys and settings, in one SQLite
 * file. Config values, generated secrets, release config snapshots and release specs (which carry the ENV
 * file's and hop3.toml [env]'s values) are sealed (secret-box.ts) before they reach the database; everything
 * else is stored in clear.
 */
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { checkEnvVar, ENV_KEY_PATTERN, ENV_KEY_RULE } from "../app/env-vars.js";
import { conflict, Hop3Error, notFound, usageError } from "../util/errors.js";
import { AddonStore } from "./addon-store.js";
import { CatalogStore } from "./catalog-store.js";
import { migrate, releaseSpecContext } from "./migrations.js";
import { RestoreStore } from "./restore-store.js";
import { loadOrCreateKey, open, seal } from "./secret-box.js";
import { constantTimeEqual, hashToken, newToken } from "./tokens.js";
import { VulnStore } from "./vuln-store.js";

type Db = BetterSqlite3.Database;

export type DesiredState = "running" | "stopped";
export type ReleaseStatus =
  | "pending"
  | "building"
  | "deploying"
  | "active"
  | "failed"
  | "superseded"
  | "rolled-back";
export type SourceKind = "containerfile" | "image" | "buildpacks" | "config";
export type Role = "admin" | "developer" | "viewer";

export const DESIRED_STATES: readonly DesiredState[] = ["running", "stopped"];
export const RELEASE_STATUSES: readonly ReleaseStatus[] = [
  "pending",
  "building",
  "deploying",
  "active",
  "failed",
  "superseded",
  "rolled-back",
];
export const SOURCE_KINDS: readonly SourceKind[] = ["containerfile", "image", "buildpacks", "config"];
export const ROLES: readonly Role[] = ["admin", "developer", "viewer"];

export interface AppRow {
  name: string;
  createdAt: string;
  desiredState: DesiredState;
  scale: Record<string, number>;
}

export interface ReleaseRow {
  id: number;
  app: string;
  number: number;
  status: ReleaseStatus;
  sourceKind: SourceKind;
  sourceRef?: string;
  revision?: string;
  image?: string;
  imageId?: string;
  spec?: unknown;
  configSnapshot?: Record<string, string>;
  createdBy?: string;
  createdAt: string;
  finishedAt?: string;
  error?: string;
  description?: string;
  /** While deploying: the state reached (built, started, healthy, routed); when failed: the step that failed. */
  step?: string;
}

export interface NewRelease {
  sourceKind: SourceKind;
  description?: string;
  sourceRef?: string;
  revision?: string;
  createdBy?: string;
}

/** Data of a release. Its status changes only through src/deploy/release-state.ts (setReleaseState). */
export type ReleasePatch = Partial<{
  sourceKind: SourceKind;
  description: string;
  image: string;
  imageId: string;
  spec: unknown;
  configSnapshot: Record<string, string>;
  error: string;
  finishedAt: string;
}>;

export interface TokenRow {
  id: number;
  name: string;
  role: Role;
  createdAt: string;
  lastUsedAt?: string;
}

export interface SshKeyRow {
  fingerprint: string;
  publicKey: string;
  comment: string;
  addedAt: string;
}

const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const now = () => new Date().toISOString();

interface AppDbRow {
  name: string;
  created_at: string;
  desired_state: DesiredState;
  scale: string;
}

interface ReleaseDbRow {
  id: number;
  app: string;
  number: number;
  status: ReleaseStatus;
  source_kind: SourceKind;
  source_ref: string | null;
  revision: string | null;
  image: string | null;
  image_id: string | null;
  config_snapshot: string | null;
  /** Written before migration 4 only; migration 4 seals it into spec_sealed. */
  spec: string | null;
  spec_sealed: string | null;
  created_by: string | null;
  created_at: string;
  finished_at: string | null;
  error: string | null;
  description: string | null;
  step: string | null;
}

interface TokenDbRow {
  id: number;
  name: string;
  hash: string;
  role: Role;
  created_at: string;
  last_used_at: string | null;
}

/**
 * Sealed values are bound to where they live (table, app, key) so that someone able to write the database but
 * not to read the key cannot swap one app's secret into another app.
 */
const context = {
  config: (app: string, key: string) => `config_vars\0${app}\0${key}`,
  generatedEnv: (app: string) => `apps.generated_env\0${app}`,
  configSnapshot: (releaseId: number) => `releases.config_snapshot\0${releaseId}`,
  releaseSpec: releaseSpecContext,
};

export class Store {
  /** Backing services and their attachments (addon-store.ts). */
  readonly addons: AddonStore;
  /** Which catalog recipe each app was installed from (catalog-store.ts). */
  readonly catalog: CatalogStore;
  /** Backup restores running or not finished, per app (restore-store.ts). */
  readonly restores: RestoreStore;
  /** The imported vulnerability database (`hop audit:import`, vuln-store.ts). */
  readonly vulns: VulnStore;

  private constructor(
    private readonly db: Db,
    private readonly key: Buffer,
  ) {
    this.addons = new AddonStore(db, key);
    this.catalog = new CatalogStore(db);
    this.restores = new RestoreStore(db);
    this.vulns = new VulnStore(db);
  }

  /** Opens (creating if needed) the database at `dbPath` with the key at `keyPath`, and brings its schema up to date. */
  static open(dbPath: string, keyPath: string): Store {
    const key = loadOrCreateKey(keyPath);
    mkdirSync(dirname(dbPath), { recursive: true, mode: 0o700 });
    // Create the file ourselves so it is never world-readable, even for a moment; SQLite gives the -wal and
    // -shm files the mode of the database file.
    closeSync(openSync(dbPath, "a", 0o600));
    chmodSync(dbPath, 0o600);
    const db = new BetterSqlite3(dbPath, { timeout: 5000 });
    try {
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.pragma("foreign_keys = ON");
      db.pragma("busy_timeout = 5000");
      // Deleted and overwritten rows are zeroed, not left readable in free pages: a secret that was removed
      // (config:unset, or a value sealed by a migration) is gone from the file.
      db.pragma("secure_delete = ON");
      const applied = migrate(db, undefined, (text, where) => seal(key, text, where));
      // ...and from the write-ahead log, which still holds the pages as they were before the migration
      if (applied.length > 0) db.pragma("wal_checkpoint(TRUNCATE)");
    } catch (err) {
      db.close();
      throw err;
    }
    return new Store(db, key);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- apps ----

  createApp(name: string): AppRow {
    const result = this.db
      .prepare("INSERT INTO apps (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
      .run(name, now());
    if (result.changes === 0) throw conflict(`app ${name} already exists`);
    return this.requireApp(name);
  }

  getApp(name: string): AppRow | undefined {
    const row = this.db
      .prepare("SELECT name, created_at, desired_state, scale FROM apps WHERE name = ?")
      .get(name) as AppDbRow | undefined;
    return row && toAppRow(row);
  }

  requireApp(name: string): AppRow {
    const app = this.getApp(name);
    if (!app) throw notFound(`app ${name} does not exist`, "list apps with: hop apps");
    return app;
  }

  listApps(): AppRow[] {
    const rows = this.db
      .prepare("SELECT name, created_at, desired_state, scale FROM apps ORDER BY name")
      .all() as AppDbRow[];
    return rows.map(toAppRow);
  }

  /** Deletes the app with its releases, deploy logs, config and domains. */
  deleteApp(name: string): void {
    const result = this.db.prepare("DELETE FROM apps WHERE name = ?").run(name);
    if (result.changes === 0) throw notFound(`app ${name} does not exist`);
  }

  setDesiredState(name: string, state: DesiredState): void {
    if (!DESIRED_STATES.includes(state)) throw usageError(`unknown app state ${JSON.stringify(state)}`);
    this.updateApp(name, "desired_state", state);
  }

  setScale(name: string, scale: Record<string, number>): void {
    for (const [type, count] of Object.entries(scale)) {
      if (!Number.isInteger(count) || count < 0) {
        throw usageError(`scale for ${type} must be a whole number of 0 or more, got ${count}`);
      }
    }
    this.updateApp(name, "scale", JSON.stringify(scale));
  }

  getGeneratedEnv(name: string): Record<string, string> {
    const row = this.db.prepare("SELECT generated_env FROM apps WHERE name = ?").get(name) as
      | { generated_env: string | null }
      | undefined;
    if (!row) throw notFound(`app ${name} does not exist`);
    if (row.generated_env === null) return {};
    return JSON.parse(open(this.key, row.generated_env, context.generatedEnv(name))) as Record<
      string,
      string
    >;
  }

  setGeneratedEnv(name: string, env: Record<string, string>): void {
    assertStringRecord(env, "generated env");
    this.updateApp(name, "generated_env", seal(this.key, JSON.stringify(env), context.generatedEnv(name)));
  }

  private updateApp(name: string, column: "desired_state" | "scale" | "generated_env", value: string): void {
    const result = this.db.prepare(`UPDATE apps SET ${column} = ? WHERE name = ?`).run(value, name);
    if (result.changes === 0) throw notFound(`app ${name} does not exist`);
  }

  // ---- releases ----

  /** Records a new release with the app's next number (1, 2, ...), status 'pending'. */
  createRelease(app: string, release: NewRelease): ReleaseRow {
    if (!SOURCE_KINDS.includes(release.sourceKind)) {
      throw usageError(`unknown release source ${JSON.stringify(release.sourceKind)}`);
    }
    this.requireApp(app);
    // One statement reads the highest number and inserts the next, so two deploys cannot get the same number.
    const row = this.db
      .prepare(
        `INSERT INTO releases (app, number, status, source_kind, source_ref, revision, created_by, created_at, description)
         SELECT ?, coalesce(max(number), 0) + 1, 'pending', ?, ?, ?, ?, ?, ? FROM releases WHERE app = ?
         RETURNING *`,
      )
      .get(
        app,
        release.sourceKind,
        release.sourceRef ?? null,
        release.revision ?? null,
        release.createdBy ?? null,
        now(),
        release.description ?? null,
        app,
      ) as ReleaseDbRow;
    return this.toReleaseRow(row);
  }

  /** Changes data fields of release `id` (never its status: see setReleaseState). */
  updateRelease(id: number, patch: ReleasePatch): void {
    this.writeRelease(id, patch);
  }

  /**
   * Writes a release's status and step with data, in one transaction. Only the release state machine
   * (src/deploy/release-state.ts) calls this: it checks the transition first. 'active' goes through
   * activateRelease, which supersedes the previous release at the same time.
   */
  setReleaseState(id: number, status: ReleaseStatus, step: string | null, patch: ReleasePatch = {}): void {
    if (!RELEASE_STATUSES.includes(status)) {
      throw usageError(`unknown release status ${JSON.stringify(status)}`);
    }
    if (status === "active") throw usageError("a release becomes active through activateRelease");
    this.writeRelease(id, patch, { status, step });
  }

  /** Makes release `id` active with data, superseding the previous one, in one transaction. */
  activateRelease(app: string, id: number, patch: ReleasePatch = {}): void {
    this.db.transaction(() => {
      this.writeRelease(id, patch);
      this.markActive(app, id);
    })();
  }

  private writeRelease(
    id: number,
    patch: ReleasePatch,
    state?: { status: ReleaseStatus; step: string | null },
  ): void {
    const sets: string[] = [];
    const values: (string | null)[] = [];
    const set = (column: string, value: string | null) => {
      sets.push(`${column} = ?`);
      values.push(value);
    };
    if (state) {
      set("status", state.status);
      set("step", state.step);
    }
    if (patch.sourceKind !== undefined) {
      if (!SOURCE_KINDS.includes(patch.sourceKind)) {
        throw usageError(`unknown release source ${JSON.stringify(patch.sourceKind)}`);
      }
      set("source_kind", patch.sourceKind);
    }
    if (patch.description !== undefined) set("description", patch.description);
    if (patch.image !== undefined) set("image", patch.image);
    if (patch.imageId !== undefined) set("image_id", patch.imageId);
    if (patch.spec !== undefined) {
      set("spec_sealed", seal(this.key, JSON.stringify(patch.spec), context.releaseSpec(id)));
    }
    if (patch.configSnapshot !== undefined) {
      assertStringRecord(patch.configSnapshot, "config snapshot");
      set(
        "config_snapshot",
        seal(this.key, JSON.stringify(patch.configSnapshot), context.configSnapshot(id)),
      );
    }
    if (patch.error !== undefined) set("error", patch.error);
    if (patch.finishedAt !== undefined) set("finished_at", patch.finishedAt);

    this.db.transaction(() => {
      const found = this.db.prepare("SELECT app FROM releases WHERE id = ?").get(id) as
        | { app: string }
        | undefined;
      if (!found) throw notFound(`release ${id} does not exist`);
      if (sets.length > 0) {
        this.db.prepare(`UPDATE releases SET ${sets.join(", ")} WHERE id = ?`).run(...values, id);
      }
    })();
  }

  getRelease(app: string, number: number): ReleaseRow | undefined {
    const row = this.db.prepare("SELECT * FROM releases WHERE app = ? AND number = ?").get(app, number) as
      | ReleaseDbRow
      | undefined;
    return row && this.toReleaseRow(row);
  }

  getReleaseById(id: number): ReleaseRow | undefined {
    const row = this.db.prepare("SELECT * FROM releases WHERE id = ?").get(id) as ReleaseDbRow | undefined;
    return row && this.toReleaseRow(row);
  }

  /** The app's releases, newest first. */
  listReleases(app: string): ReleaseRow[] {
    const rows = this.db
      .prepare("SELECT * FROM releases WHERE app = ? ORDER BY number DESC")
      .all(app) as ReleaseDbRow[];
    return rows.map((row) => this.toReleaseRow(row));
  }

  /** The release serving the app (status 'active'), if any. */
  currentRelease(app: string): ReleaseRow | undefined {
    const row = this.db.prepare("SELECT * FROM releases WHERE app = ? AND status = 'active'").get(app) as
      | ReleaseDbRow
      | undefined;
    return row && this.toReleaseRow(row);
  }

  /** Makes release `id` the app's active one; the release active before it becomes 'superseded'. */
  markActive(app: string, id: number): void {
    this.db.transaction(() => {
      const found = this.db.prepare("SELECT 1 FROM releases WHERE id = ? AND app = ?").get(id, app);
      if (!found) throw notFound(`release ${id} of app ${app} does not exist`);
      this.db
        .prepare("UPDATE releases SET status = 'superseded' WHERE app = ? AND status = 'active' AND id != ?")
        .run(app, id);
      this.db.prepare("UPDATE releases SET status = 'active', step = NULL WHERE id = ?").run(id);
    })();
  }

  private toReleaseRow(row: ReleaseDbRow): ReleaseRow {
    const release: ReleaseRow = {
      id: row.id,
      app: row.app,
      number: row.number,
      status: row.status,
      sourceKind: row.source_kind,
      createdAt: row.created_at,
    };
    if (row.source_ref !== null) release.sourceRef = row.source_ref;
    if (row.revision !== null) release.revision = row.revision;
    if (row.image !== null) release.image = row.image;
    if (row.image_id !== null) release.imageId = row.image_id;
    if (row.spec_sealed !== null) {
      release.spec = JSON.parse(open(this.key, row.spec_sealed, context.releaseSpec(row.id)));
    } else if (row.spec !== null) release.spec = JSON.parse(row.spec);
    if (row.config_snapshot !== null) {
      release.configSnapshot = JSON.parse(
        open(this.key, row.config_snapshot, context.configSnapshot(row.id)),
      ) as Record<string, string>;
    }
    if (row.created_by !== null) release.createdBy = row.created_by;
    if (row.finished_at !== null) release.finishedAt = row.finished_at;
    if (row.error !== null) release.error = row.error;
    if (row.description !== null) release.description = row.description;
    if (row.step !== null && row.step !== undefined) release.step = row.step;
    return release;
  }

  // ---- config ----

  /** The app's config vars, decrypted, ordered by key. */
  getConfig(app: string): Record<string, string> {
    this.requireApp(app);
    const rows = this.db
      .prepare("SELECT key, value FROM config_vars WHERE app = ? ORDER BY key")
      .all(app) as {
      key: string;
      value: string;
    }[];
    // fromEntries makes own properties, so a variable named __proto__ is kept like any other
    return Object.fromEntries(
      rows.map(({ key, value }) => [key, open(this.key, value, context.config(app, key))]),
    );
  }

  setConfig(app: string, vars: Record<string, string>): void {
    this.changeConfig(app, vars, []);
  }

  /** Removes the given keys and returns those that were set. */
  unsetConfig(app: string, keys: string[]): string[] {
    return this.changeConfig(app, {}, keys);
  }

  /**
   * Sets and unsets config vars all at once or not at all: every name and value is checked (env-vars.ts)
   * before the one transaction that writes them. Returns the unset keys that were set.
   */
  changeConfig(app: string, set: Record<string, string>, unset: readonly string[]): string[] {
    for (const [key, value] of Object.entries(set)) checkEnvVar(key, value, "config");
    for (const key of unset) checkConfigKey(key);
    const both = unset.find((key) => Object.hasOwn(set, key));
    if (both !== undefined) throw usageError(`config: ${both} is both set and unset`);
    this.requireApp(app);
    const upsert = this.db.prepare(
      `INSERT INTO config_vars (app, key, value, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (app, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    const remove = this.db.prepare("DELETE FROM config_vars WHERE app = ? AND key = ?");
    return this.db.transaction(() => {
      const at = now();
      for (const [key, value] of Object.entries(set)) {
        upsert.run(app, key, seal(this.key, value, context.config(app, key)), at);
      }
      return unset.filter((key) => remove.run(app, key).changes > 0);
    })();
  }

  // ---- domains ----

  /** The app's hostnames, sorted. */
  listDomains(app: string): string[] {
    return this.db
      .prepare("SELECT hostname FROM domains WHERE app = ? ORDER BY hostname")
      .pluck()
      .all(app) as string[];
  }

  /** Attaches `hostname` (normalised to lower case) to the app and returns it; adding it twice is harmless. */
  addDomain(app: string, hostname: string): string {
    const host = normaliseHostname(hostname);
    this.requireApp(app);
    return this.db.transaction(() => {
      const owner = this.domainOwner(host);
      if (owner !== undefined && owner !== app)
        throw conflict(`domain ${host} is already used by app ${owner}`);
      if (owner === undefined) {
        this.db
          .prepare("INSERT INTO domains (hostname, app, created_at) VALUES (?, ?, ?)")
          .run(host, app, now());
      }
      return host;
    })();
  }

  removeDomain(app: string, hostname: string): void {
    const host = normaliseHostname(hostname);
    const result = this.db.prepare("DELETE FROM domains WHERE hostname = ? AND app = ?").run(host, app);
    if (result.changes === 0) throw notFound(`domain ${host} is not attached to app ${app}`);
  }

  /** The app a hostname is attached to, if any. */
  domainOwner(hostname: string): string | undefined {
    const host = hostname.trim().toLowerCase().replace(/\.$/, "");
    return this.db.prepare("SELECT app FROM domains WHERE hostname = ?").pluck().get(host) as
      | string
      | undefined;
  }

  // ---- deploy logs ----

  appendDeployLog(releaseId: number, line: string): void {
    try {
      this.db
        .prepare(
          `INSERT INTO deploy_logs (release_id, seq, ts, line)
           SELECT ?, coalesce(max(seq), 0) + 1, ?, ? FROM deploy_logs WHERE release_id = ?`,
        )
        .run(releaseId, now(), line, releaseId);
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_FOREIGNKEY") {
        throw notFound(`release ${releaseId} does not exist`);
      }
      throw err;
    }
  }

  deployLog(releaseId: number): string[] {
    return this.db
      .prepare("SELECT line FROM deploy_logs WHERE release_id = ? ORDER BY seq")
      .pluck()
      .all(releaseId) as string[];
  }

  // ---- tokens ----

  /** Creates an API token; the token itself is returned once and only its hash is kept. */
  createToken(name: string, role: Role): { token: string; id: number } {
    if (!ROLES.includes(role))
      throw usageError(`unknown role ${JSON.stringify(role)}`, `use one of ${ROLES.join(", ")}`);
    const token = newToken();
    const result = this.db
      .prepare("INSERT INTO tokens (name, hash, role, created_at) VALUES (?, ?, ?, ?)")
      .run(name, hashToken(token), role, now());
    return { token, id: Number(result.lastInsertRowid) };
  }

  /** The token's record if `token` is a valid token, noting its use; undefined otherwise. */
  verifyToken(token: string): TokenRow | undefined {
    const hash = hashToken(token);
    const row = this.db.prepare("SELECT * FROM tokens WHERE hash = ?").get(hash) as TokenDbRow | undefined;
    // The lookup is by hash, which reveals nothing useful; the compare guards against a lookup that matched loosely.
    if (!row || !constantTimeEqual(row.hash, hash)) return undefined;
    const usedAt = now();
    this.db.prepare("UPDATE tokens SET last_used_at = ? WHERE id = ?").run(usedAt, row.id);
    return toTokenRow({ ...row, last_used_at: usedAt });
  }

  listTokens(): TokenRow[] {
    return (this.db.prepare("SELECT * FROM tokens ORDER BY id").all() as TokenDbRow[]).map(toTokenRow);
  }

  revokeToken(id: number): void {
    const result = this.db.prepare("DELETE FROM tokens WHERE id = ?").run(id);
    if (result.changes === 0) throw notFound(`token ${id} does not exist`);
  }

  // ---- SSH keys ----

  addSshKey(key: { fingerprint: string; publicKey: string; comment?: string }): void {
    const result = this.db
      .prepare(
        `INSERT INTO ssh_keys (fingerprint, public_key, comment, added_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (fingerprint) DO NOTHING`,
      )
      .run(key.fingerprint, key.publicKey, key.comment ?? "", now());
    if (result.changes === 0) throw conflict(`SSH key ${key.fingerprint} is already registered`);
  }

  listSshKeys(): SshKeyRow[] {
    const rows = this.db.prepare("SELECT * FROM ssh_keys ORDER BY added_at, fingerprint").all() as {
      fingerprint: string;
      public_key: string;
      comment: string;
      added_at: string;
    }[];
    return rows.map((r) => ({
      fingerprint: r.fingerprint,
      publicKey: r.public_key,
      comment: r.comment,
      addedAt: r.added_at,
    }));
  }

  removeSshKey(fingerprint: string): void {
    const result = this.db.prepare("DELETE FROM ssh_keys WHERE fingerprint = ?").run(fingerprint);
    if (result.changes === 0) throw notFound(`SSH key ${fingerprint} is not registered`);
  }

  // ---- settings ----

  getSetting(key: string): string | undefined {
    return this.db.prepare("SELECT value FROM settings WHERE key = ?").pluck().get(key) as string | undefined;
  }

  setSetting(key: string, value: string): void {
    this.db
      .prepare(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .run(key, value);
  }
}

function toAppRow(row: AppDbRow): AppRow {
  return {
    name: row.name,
    createdAt: row.created_at,
    desiredState: row.desired_state,
    scale: JSON.parse(row.scale) as Record<string, number>,
  };
}

function toTokenRow(row: TokenDbRow): TokenRow {
  const token: TokenRow = { id: row.id, name: row.name, role: row.role, createdAt: row.created_at };
  if (row.last_used_at !== null) token.lastUsedAt = row.last_used_at;
  return token;
}

function checkConfigKey(key: string): void {
  if (typeof key !== "string" || !ENV_KEY_PATTERN.test(key)) {
    throw usageError(`config: invalid variable name ${JSON.stringify(key)}: use ${ENV_KEY_RULE}`);
  }
}

function assertStringRecord(record: Record<string, string>, what: string): void {
  for (const [key, value] of Object.entries(record)) {
    if (typeof value !== "string") throw new Hop3Error(`${what}: value of ${key} must be a string`);
  }
}

/** Lower-cases and checks a hostname; a leading `*.` (wildcard) is allowed. Throws a usage error if invalid. */
export function normaliseHostname(hostname: string): string {
  const host = hostname.trim().toLowerCase().replace(/\.$/, "");
  const labels = host.split(".");
  const wildcard = labels[0] === "*";
  const named = wildcard ? labels.slice(1) : labels;
  const valid = host.length <= 253 && named.length > 0 && named.every((label) => HOST_LABEL.test(label));
  if (!valid) {
    throw usageError(
      `invalid hostname ${JSON.stringify(hostname)}`,
      "use a name like www.example.com or *.example.com",
    );
  }
  return host;
}
