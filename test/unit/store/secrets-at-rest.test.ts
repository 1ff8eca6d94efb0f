/**
 * What an attacker who copies the database file (and its write-ahead log) learns: no value of the ENV file,
 * hop3.toml [env] or config:set, for releases written now and for releases written in clear before migration 4.
 * Also: config changes are all or nothing, and values the runtime cannot carry are refused with the key.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { migrate, migrations } from "../../../src/store/migrations.js";
import { Store } from "../../../src/store/store.js";
import { Hop3Error } from "../../../src/util/errors.js";
import { useTempDirs } from "./temp-dir.js";

const tempDir = useTempDirs();

function paths(dir = tempDir()) {
  mkdirSync(join(dir, "state"), { recursive: true });
  return { dbPath: join(dir, "state", "hop3.db"), keyPath: join(dir, "store.key") };
}

/** True when `needle` appears in clear in the database file or its -wal. */
function inClear(dbPath: string, needle: string): boolean {
  return [dbPath, `${dbPath}-wal`].filter((p) => existsSync(p)).some((p) => readFileSync(p).includes(needle));
}

function hop3Error(fn: () => unknown): Hop3Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Hop3Error);
    return err as Hop3Error;
  }
  throw new Error("expected a Hop3Error");
}

const specWith = (envFile: string, toml: string) => ({
  processes: { web: "node server.js" },
  envDefaults: { FROM_ENV_FILE: envFile },
  tomlEnv: { policy: "keep-existing", values: { FROM_TOML: toml }, generated: {}, refs: {}, computed: {} },
  domains: [],
  startTimeout: 60,
});

describe("release specs at rest", () => {
  it("are sealed: the ENV file's and [env]'s values never reach the file in clear", () => {
    const { dbPath, keyPath } = paths();
    const store = Store.open(dbPath, keyPath);
    store.createApp("web");
    const release = store.createRelease("web", { sourceKind: "containerfile" });
    store.updateRelease(release.id, { spec: specWith("ENVFILE-SECRET-5b1f0e", "TOML-SECRET-77ac21") });
    store.setSetting("marker", "CLEAR-MARKER-0c4d"); // the test sees what is in clear
    expect(inClear(dbPath, "CLEAR-MARKER-0c4d")).toBe(true);
    expect(inClear(dbPath, "ENVFILE-SECRET-5b1f0e")).toBe(false);
    expect(inClear(dbPath, "TOML-SECRET-77ac21")).toBe(false);
    expect(store.getReleaseById(release.id)?.spec).toEqual(
      specWith("ENVFILE-SECRET-5b1f0e", "TOML-SECRET-77ac21"),
    );
    store.close();
    expect(inClear(dbPath, "ENVFILE-SECRET-5b1f0e")).toBe(false);
  });

  it("a sealed spec moved to another release does not open", () => {
    const { dbPath, keyPath } = paths();
    const store = Store.open(dbPath, keyPath);
    store.createApp("web");
    const a = store.createRelease("web", { sourceKind: "containerfile" });
    const b = store.createRelease("web", { sourceKind: "containerfile" });
    store.updateRelease(a.id, { spec: specWith("a", "a") });
    store.updateRelease(b.id, { spec: specWith("b", "b") });
    store.close();
    const raw = new Database(dbPath);
    raw
      .prepare(
        "UPDATE releases SET spec_sealed = (SELECT spec_sealed FROM releases WHERE id = ?) WHERE id = ?",
      )
      .run(a.id, b.id);
    raw.close();
    const reopened = Store.open(dbPath, keyPath);
    expect(() => reopened.getReleaseById(b.id)).toThrow(/failed authentication/);
    reopened.close();
  });

  it("written in clear before migration 4 are sealed when the store opens, and the clear bytes are gone", () => {
    const { dbPath, keyPath } = paths();
    // a database as Hop3 left it before: the spec column in clear, in the file and in the -wal
    const old = new Database(dbPath);
    old.pragma("journal_mode = WAL");
    migrate(
      old,
      migrations.filter((m) => m.id < 4),
    );
    old.prepare("INSERT INTO apps (name, created_at) VALUES ('web', 'now')").run();
    const insert = old.prepare(
      "INSERT INTO releases (app, number, status, source_kind, spec, created_at) VALUES ('web', ?, 'superseded', 'containerfile', ?, 'now')",
    );
    insert.run(1, JSON.stringify(specWith("OLD-ENVFILE-SECRET-9e2d", "OLD-TOML-SECRET-31f8")));
    old.pragma("wal_checkpoint(TRUNCATE)");
    insert.run(2, JSON.stringify(specWith("WAL-ONLY-SECRET-6a0b", "x")));
    old.close();
    expect(inClear(dbPath, "OLD-ENVFILE-SECRET-9e2d")).toBe(true);

    const store = Store.open(dbPath, keyPath);
    expect(store.getRelease("web", 1)?.spec).toEqual(
      specWith("OLD-ENVFILE-SECRET-9e2d", "OLD-TOML-SECRET-31f8"),
    );
    expect(store.getRelease("web", 2)?.spec).toEqual(specWith("WAL-ONLY-SECRET-6a0b", "x"));
    for (const secret of ["OLD-ENVFILE-SECRET-9e2d", "OLD-TOML-SECRET-31f8", "WAL-ONLY-SECRET-6a0b"]) {
      expect(inClear(dbPath, secret)).toBe(false);
    }
    store.close();
    const raw = new Database(dbPath, { readonly: true });
    expect(raw.prepare("SELECT count(*) FROM releases WHERE spec IS NOT NULL").pluck().get()).toBe(0);
    raw.close();
  });
});

describe("config changes", () => {
  it("are all or nothing: a valid set with an invalid unset changes nothing", () => {
    const { dbPath, keyPath } = paths();
    const store = Store.open(dbPath, keyPath);
    store.createApp("web");
    store.setConfig("web", { KEEP: "1" });
    const err = hop3Error(() => store.changeConfig("web", { NEW: "2" }, ["KEEP", "BAD-NAME"]));
    expect(err.kind).toBe("usage");
    expect(err.message).toContain('"BAD-NAME"');
    expect(store.getConfig("web")).toEqual({ KEEP: "1" });
    expect(store.changeConfig("web", { NEW: "2" }, ["KEEP", "ABSENT"])).toEqual(["KEEP"]);
    expect(store.getConfig("web")).toEqual({ NEW: "2" });
    expect(hop3Error(() => store.changeConfig("web", { A: "1" }, ["A"])).message).toContain(
      "both set and unset",
    );
    store.close();
  });

  it("refuse control characters, naming the key and the character, and keep tabs and everything else", () => {
    const { dbPath, keyPath } = paths();
    const store = Store.open(dbPath, keyPath);
    store.createApp("web");
    const cases: [string, RegExp][] = [
      ["a\0b", /X contains a NUL byte \(U\+0000\) at character 2/],
      ["line1\nline2", /X contains a line feed \(U\+000A\) at character 6/],
      ["cr\r", /carriage return \(U\+000D\)/],
      ["\u001b[31mred", /escape character \(U\+001B\) at character 1/],
      ["del\u007f", /DEL character \(U\+007F\)/],
      ["\ud800", /unpaired surrogate \(U\+D800\)/],
    ];
    for (const [value, message] of cases) {
      const err = hop3Error(() => store.setConfig("web", { OK: "1", X: value }));
      expect(err.kind).toBe("usage");
      expect(err.message).toMatch(message);
    }
    expect(store.getConfig("web")).toEqual({});
    const fine = {
      TAB: "a\tb",
      DOLLAR: "$HOME",
      BACKSLASH: "a\\b",
      LEAD: "  lead",
      QUOTES: '"q"',
      PCT: "%h",
      UNI: "é😀",
    };
    store.setConfig("web", fine);
    expect(store.getConfig("web")).toEqual(fine);
    store.close();
  });

  it("treat names of Object.prototype as ordinary variables", () => {
    const { dbPath, keyPath } = paths();
    const store = Store.open(dbPath, keyPath);
    store.createApp("web");
    store.setConfig("web", { __proto__: "p", toString: "t" } as unknown as Record<string, string>);
    store.setConfig("web", JSON.parse('{"__proto__": "proto"}'));
    const config = store.getConfig("web");
    expect(Object.hasOwn(config, "__proto__")).toBe(true);
    expect(config.toString).toBe("t");
    expect(Object.getPrototypeOf(config)).toBe(Object.prototype);
    store.close();
  });
});
