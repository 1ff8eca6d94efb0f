import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { type Migration, migrate, migrations } from "../../../src/store/migrations.js";
import { useTempDirs } from "./temp-dir.js";

const tempDir = useTempDirs();
/** Every migration id (several changes add migrations at once: the tests do not list them). */
const ALL_IDS = migrations.map((m) => m.id);

function tables(db: Database.Database): string[] {
  return db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
}

describe("migrate", () => {
  it("creates the schema and records every migration", () => {
    const db = new Database(join(tempDir(), "hop3.db"));
    expect(migrate(db)).toEqual(ALL_IDS);
    expect(tables(db)).toEqual([
      "addon_attachments",
      "addons",
      "apps",
      "catalog_installs",
      "config_vars",
      "deploy_logs",
      "domains",
      "releases",
      "restores",
      "schema_migrations",
      "settings",
      "ssh_keys",
      "tokens",
      "vuln_imports",
      "vuln_records",
    ]);
    const recorded = db.prepare("SELECT id, name FROM schema_migrations").all();
    expect(recorded).toEqual(migrations.map(({ id, name }) => ({ id, name })));
    expect(db.prepare("SELECT name FROM pragma_table_info('releases')").pluck().all()).toContain(
      "description",
    );
    db.close();
  });

  it("is idempotent, also across reopening the file", () => {
    const path = join(tempDir(), "hop3.db");
    const db = new Database(path);
    migrate(db);
    expect(migrate(db)).toEqual([]);
    db.close();
    const again = new Database(path);
    expect(migrate(again)).toEqual([]);
    expect(again.prepare("SELECT count(*) FROM schema_migrations").pluck().get()).toBe(migrations.length);
    again.close();
  });

  it("applies only the pending migrations, in id order", () => {
    const db = new Database(join(tempDir(), "hop3.db"));
    migrate(db);
    const extra: Migration[] = [
      ...migrations,
      { id: 11, name: "third", sql: "ALTER TABLE settings ADD COLUMN c TEXT" },
      { id: 10, name: "second", sql: "CREATE TABLE extra (x TEXT)" },
    ];
    expect(migrate(db, extra)).toEqual([10, 11]);
    expect(migrate(db, extra)).toEqual([]);
    expect(db.prepare("SELECT id FROM schema_migrations ORDER BY id").pluck().all()).toEqual([
      ...ALL_IDS,
      10,
      11,
    ]);
    db.close();
  });

  it("rolls back a failing migration entirely and leaves earlier ones applied", () => {
    const db = new Database(join(tempDir(), "hop3.db"));
    const broken: Migration[] = [
      ...migrations,
      { id: 10, name: "half", sql: "CREATE TABLE half (x TEXT); INSERT INTO nowhere VALUES (1);" },
    ];
    expect(() => migrate(db, broken)).toThrow(/nowhere/);
    expect(tables(db)).not.toContain("half");
    expect(db.prepare("SELECT id FROM schema_migrations").pluck().all()).toEqual(ALL_IDS);
    db.close();
  });

  it("refuses a database written by a newer Hop3", () => {
    const db = new Database(join(tempDir(), "hop3.db"));
    migrate(db, [...migrations, { id: 99, name: "future", sql: "SELECT 1" }]);
    expect(() => migrate(db)).toThrow(/schema version 99/);
    db.close();
  });
});
