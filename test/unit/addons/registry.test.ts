import { describe, expect, it } from "vitest";
import type { AddonPlugin } from "../../../src/addons/plugin.js";
import { knownTypeNames, PLUGINS, pluginFor } from "../../../src/addons/registry.js";
import { checkExtensions, declaredAddonName, validateAddonName } from "../../../src/addons/service.js";
import { Hop3Error } from "../../../src/util/errors.js";

describe("addon registry", () => {
  it("knows postgres, mariadb (alias mysql) and redis", () => {
    expect(PLUGINS.map((p) => p.type)).toEqual(["postgres", "mariadb", "redis"]);
    expect(pluginFor("mysql").type).toBe("mariadb");
    expect(pluginFor("MariaDB").type).toBe("mariadb");
    expect(pluginFor("postgresql").type).toBe("postgres");
    expect(knownTypeNames()).toContain("mysql");
  });

  it("refuses an unknown type with the list of known ones", () => {
    try {
      pluginFor("mongodb");
      throw new Error("expected an error");
    } catch (err) {
      expect(err).toBeInstanceOf(Hop3Error);
      expect((err as Hop3Error).kind).toBe("usage");
      expect((err as Hop3Error).message).toBe('unknown addon type "mongodb"');
      expect((err as Hop3Error).hint).toContain("mariadb (mysql)");
    }
  });

  it("takes one more plugin without any other change", () => {
    const s3: AddonPlugin = { ...pluginFor("redis"), type: "s3", aliases: ["minio"], title: "S3" };
    expect(pluginFor("minio", [...PLUGINS, s3]).type).toBe("s3");
  });

  it("records the major version each plugin builds, and its official image", () => {
    expect(pluginFor("postgres").major).toBe("15");
    expect(pluginFor("mariadb").major).toBe("10.11");
    expect(pluginFor("redis").major).toBe("7");
    expect(pluginFor("postgres").officialImage("15")).toBe("docker.io/library/postgres:15");
  });

  it("Postgres dumps to and restores from a named file (a backup mounts it); the others stream", () => {
    const pg = pluginFor("postgres");
    const c = pg.generateCredentials("shop-db");
    const dump = pg.client("dump", c, pg.fileArgs!.dump("/hop3-backup-out/x.pgdump")).cmd;
    expect(dump.slice(0, 2)).toEqual(["pg_dump", "--format=custom"]);
    expect(dump.slice(-2)).toEqual(["--file", "/hop3-backup-out/x.pgdump"]);
    const restore = pg.client("restore", c, pg.fileArgs!.restore("/hop3-restore/file")).cmd;
    expect(restore[0]).toBe("pg_restore");
    expect(restore.at(-1)).toBe("/hop3-restore/file");
    // without a file (pg:restore < dump) it reads stdin: no positional argument
    expect(pg.client("restore", c, []).cmd.at(-1)).toBe(c.database);
    // secrets travel in the environment, never in argv
    expect([...dump, ...restore].join(" ")).not.toContain(c.password);
    expect(pluginFor("mariadb").fileArgs).toBeUndefined();
    expect(pluginFor("redis").fileArgs).toBeUndefined();
  });

  it("generates distinct, strong, quoting-free credentials", () => {
    for (const p of PLUGINS) {
      const a = p.generateCredentials("shop-db");
      const b = p.generateCredentials("shop-db");
      expect(a.password).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(a.password).not.toBe(b.password);
      if (a.database) expect(a.database).toBe("shop_db");
    }
  });

  it("keeps secrets out of client command lines (they travel in the environment)", () => {
    for (const p of PLUGINS) {
      const creds = p.generateCredentials("x1");
      for (const action of ["cli", "dump", "info"] as const) {
        const { cmd } = p.client(action, creds, []);
        expect(cmd.join(" ")).not.toContain(creds.password);
      }
    }
  });
});

describe("addon names and extensions", () => {
  it("validates names like app names", () => {
    expect(validateAddonName("shop-db")).toBe("shop-db");
    for (const bad of ["", "A", "1db", "db-", "db_x", "x".repeat(64), "../etc"]) {
      expect(() => validateAddonName(bad)).toThrow(Hop3Error);
    }
    expect(declaredAddonName("shop", pluginFor("mysql"))).toBe("shop-mariadb");
  });

  it("allows only the listed Postgres extensions", () => {
    const pg = pluginFor("postgres");
    expect(checkExtensions(pg, ["pg_trgm", "hstore", "pg_trgm"])).toEqual(["hstore", "pg_trgm"]);
    expect(() => checkExtensions(pg, ["plpython3u"])).toThrow(/not available: plpython3u/);
    expect(() => checkExtensions(pg, "pg_trgm")).toThrow(/list of names/);
    expect(() => checkExtensions(pluginFor("redis"), ["x"])).toThrow(/no extensions/);
    expect(checkExtensions(pluginFor("redis"), undefined)).toEqual([]);
  });
});
