import { chmodSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { migrations } from "../../../src/store/migrations.js";
import { Store } from "../../../src/store/store.js";
import { Hop3Error } from "../../../src/util/errors.js";
import { useTempDirs } from "./temp-dir.js";

const tempDir = useTempDirs();

function openStore(dir = tempDir()): { store: Store; dbPath: string; keyPath: string; dir: string } {
  const dbPath = join(dir, "state", "hop3.db");
  const keyPath = join(dir, "secrets", "store.key");
  return { store: Store.open(dbPath, keyPath), dbPath, keyPath, dir };
}

/** Runs `fn` and returns the Hop3Error it throws, failing the test if it throws nothing or something else. */
function hop3Error(fn: () => unknown): Hop3Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Hop3Error);
    return err as Hop3Error;
  }
  throw new Error("expected a Hop3Error");
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe("Store.open", () => {
  it("creates private directories and files, uses WAL and foreign keys, and migrates", () => {
    const { store, dbPath, keyPath } = openStore();
    store.setSetting("probe", "1"); // forces the -wal file into existence
    expect(statSync(join(dbPath, "..")).mode & 0o777).toBe(0o700);
    expect(statSync(dbPath).mode & 0o777).toBe(0o600);
    expect(statSync(`${dbPath}-wal`).mode & 0o777).toBe(0o600);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    store.close();
    const raw = new Database(dbPath, { readonly: true });
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(raw.prepare("SELECT id FROM schema_migrations").pluck().all()).toEqual(
      migrations.map((m) => m.id),
    );
    raw.close();
  });

  it("reopens an existing store with its data and key", () => {
    const dir = tempDir();
    const first = openStore(dir).store;
    first.createApp("web");
    first.setConfig("web", { SECRET: "s3cr3t" });
    first.close();
    const second = openStore(dir).store;
    expect(second.listApps().map((a) => a.name)).toEqual(["web"]);
    expect(second.getConfig("web")).toEqual({ SECRET: "s3cr3t" });
    second.close();
  });

  it("refuses to open with an exposed key file", () => {
    const { dir, keyPath, store } = openStore();
    store.close();
    chmodSync(keyPath, 0o644);
    expect(() => openStore(dir)).toThrow(/readable by other users/);
  });

  it("cannot read sealed values with another key", () => {
    const dir = tempDir();
    const { store, dbPath } = openStore(dir);
    store.createApp("web");
    store.setConfig("web", { A: "1" });
    store.close();
    const other = Store.open(dbPath, join(dir, "other.key"));
    expect(() => other.getConfig("web")).toThrow(/failed authentication/);
    other.close();
  });
});

describe("apps", () => {
  it("creates, gets, lists and refuses duplicates", () => {
    const { store } = openStore();
    const app = store.createApp("web");
    expect(app).toEqual({
      name: "web",
      createdAt: expect.stringMatching(ISO),
      desiredState: "running",
      scale: {},
    });
    store.createApp("api");
    expect(store.getApp("web")).toEqual(app);
    expect(store.getApp("nope")).toBeUndefined();
    expect(store.listApps().map((a) => a.name)).toEqual(["api", "web"]);
    const dup = hop3Error(() => store.createApp("web"));
    expect(dup.kind).toBe("conflict");
    expect(dup.message).toMatch(/web already exists/);
    store.close();
  });

  it("requireApp answers notFound for a missing app", () => {
    const { store } = openStore();
    expect(hop3Error(() => store.requireApp("ghost")).kind).toBe("notFound");
    store.close();
  });

  it("sets desired state and scale", () => {
    const { store } = openStore();
    store.createApp("web");
    store.setDesiredState("web", "stopped");
    store.setScale("web", { web: 2, worker: 0 });
    expect(store.requireApp("web")).toMatchObject({ desiredState: "stopped", scale: { web: 2, worker: 0 } });
    expect(hop3Error(() => store.setScale("web", { web: -1 })).kind).toBe("usage");
    expect(hop3Error(() => store.setScale("web", { web: 1.5 })).kind).toBe("usage");
    expect(hop3Error(() => store.setDesiredState("web", "paused" as "running")).kind).toBe("usage");
    expect(hop3Error(() => store.setDesiredState("ghost", "running")).kind).toBe("notFound");
    expect(hop3Error(() => store.setScale("ghost", {})).kind).toBe("notFound");
    store.close();
  });

  it("stores generated env sealed and replaces it as a whole", () => {
    const { store } = openStore();
    store.createApp("web");
    expect(store.getGeneratedEnv("web")).toEqual({});
    store.setGeneratedEnv("web", { SECRET_KEY: "abc", ADMIN_PASSWORD: "pw" });
    expect(store.getGeneratedEnv("web")).toEqual({ SECRET_KEY: "abc", ADMIN_PASSWORD: "pw" });
    store.setGeneratedEnv("web", { SECRET_KEY: "abc" });
    expect(store.getGeneratedEnv("web")).toEqual({ SECRET_KEY: "abc" });
    expect(hop3Error(() => store.getGeneratedEnv("ghost")).kind).toBe("notFound");
    expect(hop3Error(() => store.setGeneratedEnv("ghost", {})).kind).toBe("notFound");
    store.close();
  });

  it("deleteApp removes releases, deploy logs, config and domains, and nothing of other apps", () => {
    const { store, dbPath } = openStore();
    for (const name of ["web", "api"]) {
      store.createApp(name);
      const release = store.createRelease(name, { sourceKind: "image", sourceRef: "nginx" });
      store.appendDeployLog(release.id, `${name} log`);
      store.setConfig(name, { A: name });
      store.addDomain(name, `${name}.example.com`);
    }
    const webRelease = store.getRelease("web", 1)!;
    store.deleteApp("web");
    expect(store.getApp("web")).toBeUndefined();
    expect(store.listReleases("web")).toEqual([]);
    expect(store.deployLog(webRelease.id)).toEqual([]);
    expect(store.listDomains("web")).toEqual([]);
    expect(store.domainOwner("web.example.com")).toBeUndefined();
    expect(store.listReleases("api")).toHaveLength(1);
    expect(store.getConfig("api")).toEqual({ A: "api" });
    expect(store.listDomains("api")).toEqual(["api.example.com"]);
    expect(hop3Error(() => store.deleteApp("web")).kind).toBe("notFound");
    store.close();

    const raw = new Database(dbPath, { readonly: true });
    for (const table of ["releases", "config_vars", "domains"]) {
      expect(raw.prepare(`SELECT count(*) FROM ${table} WHERE app = 'web'`).pluck().get()).toBe(0);
    }
    expect(raw.prepare("SELECT count(*) FROM deploy_logs").pluck().get()).toBe(1);
    raw.close();
  });

  it("a recreated app starts again from release 1 without old config", () => {
    const { store } = openStore();
    store.createApp("web");
    store.createRelease("web", { sourceKind: "image" });
    store.setConfig("web", { A: "1" });
    store.deleteApp("web");
    store.createApp("web");
    expect(store.createRelease("web", { sourceKind: "image" }).number).toBe(1);
    expect(store.getConfig("web")).toEqual({});
    store.close();
  });
});

describe("releases", () => {
  it("numbers releases per app from 1 and starts them pending", () => {
    const { store } = openStore();
    store.createApp("web");
    store.createApp("api");
    const r1 = store.createRelease("web", {
      sourceKind: "buildpacks",
      sourceRef: "hop3/builder",
      revision: "abc123",
      createdBy: "alice",
    });
    expect(r1).toEqual({
      id: expect.any(Number),
      app: "web",
      number: 1,
      status: "pending",
      sourceKind: "buildpacks",
      sourceRef: "hop3/builder",
      revision: "abc123",
      createdBy: "alice",
      createdAt: expect.stringMatching(ISO),
    });
    expect(store.createRelease("web", { sourceKind: "config" }).number).toBe(2);
    expect(store.createRelease("api", { sourceKind: "image" }).number).toBe(1);
    expect(store.createRelease("web", { sourceKind: "containerfile" }).number).toBe(3);
    expect(store.listReleases("web").map((r) => r.number)).toEqual([3, 2, 1]);
    store.close();
  });

  it("allocates distinct numbers to releases created from two connections", () => {
    const dir = tempDir();
    const a = openStore(dir).store;
    const b = openStore(dir).store;
    a.createApp("web");
    const numbers = [];
    for (let i = 0; i < 10; i++) {
      numbers.push(a.createRelease("web", { sourceKind: "image" }).number);
      numbers.push(b.createRelease("web", { sourceKind: "image" }).number);
    }
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    a.close();
    b.close();
  });

  it("refuses unknown apps and source kinds", () => {
    const { store } = openStore();
    expect(hop3Error(() => store.createRelease("ghost", { sourceKind: "image" })).kind).toBe("notFound");
    store.createApp("web");
    expect(hop3Error(() => store.createRelease("web", { sourceKind: "zip" as "image" })).kind).toBe("usage");
    store.close();
  });

  it("updates fields, seals the config snapshot and reads it back", () => {
    const { store } = openStore();
    store.createApp("web");
    const { id } = store.createRelease("web", { sourceKind: "image", sourceRef: "nginx:1" });
    const spec = { processes: { web: "nginx -g 'daemon off;'" }, port: 80 };
    store.setReleaseState(id, "building", null);
    store.setReleaseState(id, "failed", "health", {
      image: "localhost/hop3/web:1",
      imageId: "sha256:abc",
      spec,
      configSnapshot: { DATABASE_URL: "postgres://x" },
      error: "health check failed",
      finishedAt: "2024-01-02T03:04:05.000Z",
    });
    expect(store.getRelease("web", 1)).toEqual({
      id,
      app: "web",
      number: 1,
      status: "failed",
      sourceKind: "image",
      sourceRef: "nginx:1",
      image: "localhost/hop3/web:1",
      imageId: "sha256:abc",
      spec,
      configSnapshot: { DATABASE_URL: "postgres://x" },
      error: "health check failed",
      step: "health",
      createdAt: expect.stringMatching(ISO),
      finishedAt: "2024-01-02T03:04:05.000Z",
    });
    expect(store.getReleaseById(id)).toEqual(store.getRelease("web", 1));
    expect(store.getRelease("web", 2)).toBeUndefined();
    expect(hop3Error(() => store.setReleaseState(9999, "failed", null)).kind).toBe("notFound");
    expect(hop3Error(() => store.setReleaseState(id, "bogus" as "failed", null)).kind).toBe("usage");
    expect(hop3Error(() => store.setReleaseState(id, "active", null)).kind).toBe("usage");
    store.close();
  });

  it("markActive makes one release current and supersedes the previous one", () => {
    const { store } = openStore();
    store.createApp("web");
    store.createApp("api");
    const r1 = store.createRelease("web", { sourceKind: "image" });
    const r2 = store.createRelease("web", { sourceKind: "image" });
    const other = store.createRelease("api", { sourceKind: "image" });
    store.markActive("api", other.id);
    expect(store.currentRelease("web")).toBeUndefined();

    store.markActive("web", r1.id);
    expect(store.currentRelease("web")?.id).toBe(r1.id);
    store.markActive("web", r2.id);
    expect(store.currentRelease("web")?.id).toBe(r2.id);
    expect(store.listReleases("web").map((r) => [r.number, r.status])).toEqual([
      [2, "active"],
      [1, "superseded"],
    ]);
    // activating the current release again changes nothing
    store.markActive("web", r2.id);
    expect(store.getRelease("web", 1)?.status).toBe("superseded");
    // another app's active release is untouched
    expect(store.currentRelease("api")?.id).toBe(other.id);
    expect(hop3Error(() => store.markActive("web", other.id)).kind).toBe("notFound");
    store.close();
  });

  it("activateRelease writes data and supersedes the previous release", () => {
    const { store } = openStore();
    store.createApp("web");
    const r1 = store.createRelease("web", { sourceKind: "image" });
    const r2 = store.createRelease("web", { sourceKind: "image" });
    store.activateRelease("web", r1.id);
    store.activateRelease("web", r2.id, { finishedAt: "2024-01-01T00:00:00.000Z" });
    expect(store.getRelease("web", 1)?.status).toBe("superseded");
    expect(store.getRelease("web", 2)).toMatchObject({
      status: "active",
      finishedAt: "2024-01-01T00:00:00.000Z",
    });
    store.close();
  });

  it("the database itself allows only one active release per app", () => {
    const { store, dbPath } = openStore();
    store.createApp("web");
    const r1 = store.createRelease("web", { sourceKind: "image" });
    store.createRelease("web", { sourceKind: "image" });
    store.markActive("web", r1.id);
    store.close();
    const raw = new Database(dbPath);
    expect(() => raw.prepare("UPDATE releases SET status = 'active' WHERE number = 2").run()).toThrow(
      /UNIQUE/,
    );
    raw.close();
  });
});

describe("config", () => {
  it("sets, reads, overwrites and unsets variables", () => {
    const { store } = openStore();
    store.createApp("web");
    expect(store.getConfig("web")).toEqual({});
    store.setConfig("web", { B: "2", A: "1", _X9: "" });
    store.setConfig("web", { B: "two", WITH_SPACE: "a b = c" });
    expect(store.getConfig("web")).toEqual({ A: "1", B: "two", WITH_SPACE: "a b = c", _X9: "" });
    expect(Object.keys(store.getConfig("web"))).toEqual(["A", "B", "WITH_SPACE", "_X9"]);
    expect(store.unsetConfig("web", ["A", "MISSING", "B"])).toEqual(["A", "B"]);
    expect(store.getConfig("web")).toEqual({ WITH_SPACE: "a b = c", _X9: "" });
    store.close();
  });

  it("keeps each app's config separate", () => {
    const { store } = openStore();
    store.createApp("web");
    store.createApp("api");
    store.setConfig("web", { A: "web" });
    store.setConfig("api", { A: "api" });
    expect(store.getConfig("web")).toEqual({ A: "web" });
    expect(store.getConfig("api")).toEqual({ A: "api" });
    store.close();
  });

  it("refuses invalid keys without changing anything", () => {
    const { store } = openStore();
    store.createApp("web");
    for (const key of ["1ABC", "A-B", "", "A B", "É"]) {
      const err = hop3Error(() => store.setConfig("web", { OK: "1", [key]: "v" }));
      expect(err.kind).toBe("usage");
      expect(err.message).toContain("invalid variable name");
    }
    expect(store.getConfig("web")).toEqual({});
    expect(hop3Error(() => store.unsetConfig("web", ["A-B"])).kind).toBe("usage");
    store.close();
  });

  it("answers notFound for a missing app", () => {
    const { store } = openStore();
    expect(hop3Error(() => store.getConfig("ghost")).kind).toBe("notFound");
    expect(hop3Error(() => store.setConfig("ghost", { A: "1" })).kind).toBe("notFound");
    expect(hop3Error(() => store.unsetConfig("ghost", ["A"])).kind).toBe("notFound");
    store.close();
  });

  it("detects a sealed value moved to another key or tampered with in the database", () => {
    const { store, dbPath, keyPath } = openStore();
    store.createApp("web");
    store.setConfig("web", { A: "alpha", B: "beta" });
    store.close();
    const raw = new Database(dbPath);
    raw
      .prepare(
        "UPDATE config_vars SET value = (SELECT value FROM config_vars WHERE key = 'A') WHERE key = 'B'",
      )
      .run();
    raw.close();
    const reopened = Store.open(dbPath, keyPath);
    expect(() => reopened.getConfig("web")).toThrow(/failed authentication/);
    reopened.close();
  });
});

describe("domains", () => {
  it("adds lower-cased hostnames, lists them and finds their owner", () => {
    const { store } = openStore();
    store.createApp("web");
    expect(store.addDomain("web", "WWW.Example.COM")).toBe("www.example.com");
    expect(store.addDomain("web", "*.apps.example.com")).toBe("*.apps.example.com");
    expect(store.addDomain("web", "www.example.com.")).toBe("www.example.com");
    expect(store.listDomains("web")).toEqual(["*.apps.example.com", "www.example.com"]);
    expect(store.domainOwner("www.EXAMPLE.com")).toBe("web");
    expect(store.domainOwner("other.example.com")).toBeUndefined();
    store.close();
  });

  it("refuses a hostname another app has", () => {
    const { store } = openStore();
    store.createApp("web");
    store.createApp("api");
    store.addDomain("web", "example.com");
    const err = hop3Error(() => store.addDomain("api", "Example.com"));
    expect(err.kind).toBe("conflict");
    expect(err.message).toContain("web");
    expect(store.domainOwner("example.com")).toBe("web");
    store.close();
  });

  it("refuses invalid hostnames", () => {
    const { store } = openStore();
    store.createApp("web");
    const bad = [
      "",
      "*",
      "a..b",
      "-a.com",
      "a-.com",
      "a.*.com",
      "**.a.com",
      "a_b.com",
      "a b.com",
      `${"a".repeat(64)}.com`,
    ];
    for (const host of bad) expect(hop3Error(() => store.addDomain("web", host)).kind).toBe("usage");
    expect(store.listDomains("web")).toEqual([]);
    expect(hop3Error(() => store.addDomain("ghost", "ok.com")).kind).toBe("notFound");
    store.close();
  });

  it("removes a domain only from the app that has it", () => {
    const { store } = openStore();
    store.createApp("web");
    store.createApp("api");
    store.addDomain("web", "example.com");
    expect(hop3Error(() => store.removeDomain("api", "example.com")).kind).toBe("notFound");
    store.removeDomain("web", "EXAMPLE.com");
    expect(store.listDomains("web")).toEqual([]);
    expect(hop3Error(() => store.removeDomain("web", "example.com")).kind).toBe("notFound");
    store.close();
  });
});

describe("deploy logs", () => {
  it("keeps lines per release in order", () => {
    const { store } = openStore();
    store.createApp("web");
    const r1 = store.createRelease("web", { sourceKind: "image" });
    const r2 = store.createRelease("web", { sourceKind: "image" });
    for (const line of ["step 1", "step 2", "", "step 3"]) store.appendDeployLog(r1.id, line);
    store.appendDeployLog(r2.id, "other");
    expect(store.deployLog(r1.id)).toEqual(["step 1", "step 2", "", "step 3"]);
    expect(store.deployLog(r2.id)).toEqual(["other"]);
    expect(store.deployLog(12345)).toEqual([]);
    expect(hop3Error(() => store.appendDeployLog(12345, "x")).kind).toBe("notFound");
    store.close();
  });
});

describe("tokens", () => {
  it("creates tokens, verifies them and records their use", () => {
    const { store } = openStore();
    const { token, id } = store.createToken("ci", "developer");
    expect(token).toMatch(/^hop3_/);
    const [listed] = store.listTokens();
    expect(listed).toEqual({ id, name: "ci", role: "developer", createdAt: expect.stringMatching(ISO) });
    const verified = store.verifyToken(token);
    expect(verified).toMatchObject({
      id,
      name: "ci",
      role: "developer",
      lastUsedAt: expect.stringMatching(ISO),
    });
    expect(store.listTokens()[0]?.lastUsedAt).toBe(verified?.lastUsedAt);
    expect(store.verifyToken(`${token}x`)).toBeUndefined();
    expect(store.verifyToken("")).toBeUndefined();
    store.close();
  });

  it("stores only the hash of a token", () => {
    const { store, dbPath } = openStore();
    const { token } = store.createToken("admin", "admin");
    store.close();
    expect(readFileSync(dbPath).includes(token)).toBe(false);
    const raw = new Database(dbPath, { readonly: true });
    const stored = raw.prepare("SELECT hash FROM tokens").pluck().get() as string;
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    raw.close();
  });

  it("revokes tokens and refuses unknown roles", () => {
    const { store } = openStore();
    const a = store.createToken("a", "viewer");
    const b = store.createToken("b", "admin");
    store.revokeToken(a.id);
    expect(store.verifyToken(a.token)).toBeUndefined();
    expect(store.verifyToken(b.token)?.name).toBe("b");
    expect(store.listTokens().map((t) => t.name)).toEqual(["b"]);
    expect(hop3Error(() => store.revokeToken(a.id)).kind).toBe("notFound");
    expect(hop3Error(() => store.createToken("x", "root" as "admin")).kind).toBe("usage");
    store.close();
  });
});

describe("SSH keys", () => {
  it("adds, lists, refuses duplicates and removes", () => {
    const { store } = openStore();
    const key = {
      fingerprint: "SHA256:abc",
      publicKey: "ssh-ed25519 AAAA alice@laptop",
      comment: "alice@laptop",
    };
    store.addSshKey(key);
    store.addSshKey({ fingerprint: "SHA256:def", publicKey: "ssh-ed25519 BBBB", comment: "" });
    expect(store.listSshKeys()).toEqual([
      { ...key, addedAt: expect.stringMatching(ISO) },
      {
        fingerprint: "SHA256:def",
        publicKey: "ssh-ed25519 BBBB",
        comment: "",
        addedAt: expect.stringMatching(ISO),
      },
    ]);
    expect(hop3Error(() => store.addSshKey(key)).kind).toBe("conflict");
    store.removeSshKey("SHA256:abc");
    expect(store.listSshKeys().map((k) => k.fingerprint)).toEqual(["SHA256:def"]);
    expect(hop3Error(() => store.removeSshKey("SHA256:abc")).kind).toBe("notFound");
    store.close();
  });
});

describe("settings", () => {
  it("gets and overwrites settings", () => {
    const { store } = openStore();
    expect(store.getSetting("baseDomain")).toBeUndefined();
    store.setSetting("baseDomain", "example.com");
    store.setSetting("baseDomain", "hop3.example.com");
    expect(store.getSetting("baseDomain")).toBe("hop3.example.com");
    store.close();
  });
});

describe("encryption at rest", () => {
  it("never writes a config value, generated secret or config snapshot in clear", () => {
    const { store, dbPath } = openStore();
    const secrets = {
      config: "CONFIG-VALUE-d41d8cd98f00b204",
      generated: "GENERATED-SECRET-e9800998ecf8427e",
      snapshot: "SNAPSHOT-VALUE-8f14e45fceea167a",
    };
    store.createApp("web");
    store.setConfig("web", { DATABASE_PASSWORD: secrets.config });
    store.setGeneratedEnv("web", { SECRET_KEY: secrets.generated });
    const release = store.createRelease("web", { sourceKind: "image" });
    store.updateRelease(release.id, { configSnapshot: { API_KEY: secrets.snapshot } });
    // Sanity check that the test can see what it looks for: a value stored in clear is found.
    store.setSetting("marker", "CLEAR-MARKER-c9f0f895fb98ab91");

    const rawFiles = () =>
      [dbPath, `${dbPath}-wal`].filter((path) => existsSync(path)).map((path) => readFileSync(path));
    const found = (needle: string) => rawFiles().some((bytes) => bytes.includes(needle));

    // While the store is open the writes sit in the -wal file.
    expect(existsSync(`${dbPath}-wal`)).toBe(true);
    expect(found("CLEAR-MARKER-c9f0f895fb98ab91")).toBe(true);
    for (const secret of Object.values(secrets)) expect(found(secret)).toBe(false);

    // After a checkpoint they are in the main file.
    store.close();
    expect(readFileSync(dbPath).includes("CLEAR-MARKER-c9f0f895fb98ab91")).toBe(true);
    for (const secret of Object.values(secrets)) expect(found(secret)).toBe(false);

    const reopened = Store.open(dbPath, join(dbPath, "..", "..", "secrets", "store.key"));
    expect(reopened.getConfig("web")).toEqual({ DATABASE_PASSWORD: secrets.config });
    expect(reopened.getGeneratedEnv("web")).toEqual({ SECRET_KEY: secrets.generated });
    expect(reopened.getRelease("web", 1)?.configSnapshot).toEqual({ API_KEY: secrets.snapshot });
    reopened.close();
  });
});
