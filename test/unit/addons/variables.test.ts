import { describe, expect, it } from "vitest";
import {
  addonVariables,
  choosePrefix,
  normalisePrefix,
  prefixedNames,
  resolveAddonRefs,
} from "../../../src/addons/variables.js";
import { resolveAppEnv } from "../../../src/app/env.js";
import { Hop3Error } from "../../../src/util/errors.js";

const pg = {
  name: "shop-db",
  type: "postgres",
  prefix: "",
  credentials: { user: "shop_db", password: "pw1", database: "shop_db" },
};
const redis = { name: "cache", type: "redis", prefix: "", credentials: { password: "rpw" } };
const mysql = {
  name: "legacy",
  type: "mariadb",
  prefix: "",
  credentials: { user: "legacy", password: "mpw", database: "legacy", rootPassword: "root" },
};

function usage(fn: () => unknown): Hop3Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Hop3Error);
    expect((err as Hop3Error).kind).toBe("usage");
    return err as Hop3Error;
  }
  throw new Error("expected a usage error");
}

describe("addon variables (UPSTREAM.md names)", () => {
  it("gives postgres DATABASE_URL and the PG* variables, with the addon's name as host", () => {
    expect(addonVariables([pg])).toEqual({
      DATABASE_URL: "postgres://shop_db:pw1@shop-db:5432/shop_db",
      PGDATABASE: "shop_db",
      PGUSER: "shop_db",
      PGPASSWORD: "pw1",
      PGHOST: "shop-db",
      PGPORT: "5432",
    });
  });

  it("gives mariadb DATABASE_URL (mysql://) and the MYSQL_* variables", () => {
    expect(addonVariables([mysql])).toEqual({
      DATABASE_URL: "mysql://legacy:mpw@legacy:3306/legacy",
      MYSQL_DATABASE: "legacy",
      MYSQL_USER: "legacy",
      MYSQL_PASSWORD: "mpw",
      MYSQL_HOST: "legacy",
      MYSQL_PORT: "3306",
    });
  });

  it("gives redis REDIS_URL, REDIS_HOST, REDIS_PORT and REDIS_DB", () => {
    expect(addonVariables([redis])).toEqual({
      REDIS_URL: "redis://default:rpw@cache:6379/0",
      REDIS_HOST: "cache",
      REDIS_PORT: "6379",
      REDIS_DB: "0",
    });
  });

  it("prefixes every variable of a prefixed attachment", () => {
    const second = { ...redis, name: "sessions", prefix: "SESSIONS" };
    const vars = addonVariables([redis, second]);
    expect(vars.REDIS_URL).toBe("redis://default:rpw@cache:6379/0");
    expect(vars.SESSIONS_REDIS_URL).toBe("redis://default:rpw@sessions:6379/0");
    expect(Object.keys(vars).filter((k) => k.startsWith("SESSIONS_"))).toEqual([
      "SESSIONS_REDIS_URL",
      "SESSIONS_REDIS_HOST",
      "SESSIONS_REDIS_PORT",
      "SESSIONS_REDIS_DB",
    ]);
    expect(prefixedNames("redis", "CACHE")).toContain("CACHE_REDIS_URL");
  });
});

describe("choosePrefix", () => {
  it("gives the first addon of a type the plain names", () => {
    expect(choosePrefix([], "redis", "cache")).toBe("");
    // another type does not count
    expect(choosePrefix([{ name: "db", type: "postgres", prefix: "" }], "redis", "cache")).toBe("");
  });

  it("gives a second addon of the same type its name as prefix", () => {
    expect(choosePrefix([{ name: "main", type: "redis", prefix: "" }], "redis", "cache")).toBe("CACHE");
    expect(choosePrefix([{ name: "main", type: "redis", prefix: "" }], "redis", "my-cache-2")).toBe(
      "MY_CACHE_2",
    );
  });

  it("takes a requested prefix, upper-cased, and refuses one another addon of the type has", () => {
    expect(choosePrefix([], "redis", "cache", "sessions")).toBe("SESSIONS");
    const err = usage(() =>
      choosePrefix([{ name: "a", type: "redis", prefix: "CACHE" }], "redis", "b", "cache"),
    );
    expect(err.message).toContain("CACHE_");
    expect(err.message).toContain("from a");
  });

  it("refuses invalid prefixes", () => {
    for (const bad of ["1X", "A B", "", "X$", "x".repeat(41)]) usage(() => normalisePrefix(bad));
    expect(normalisePrefix("cache-two")).toBe("CACHE_TWO");
  });
});

describe("[env] references to addons", () => {
  it("resolves by addon name or by type when only one of it is attached", () => {
    expect(resolveAddonRefs({ DB_HOST: { from: "shop-db", key: "PGHOST" } }, [pg])).toEqual({
      DB_HOST: "shop-db",
    });
    expect(resolveAddonRefs({ R: { from: "redis", key: "REDIS_URL" } }, [pg, redis])).toEqual({
      R: "redis://default:rpw@cache:6379/0",
    });
    // references read the addon's own (unprefixed) variables, whatever the attachment's prefix
    expect(
      resolveAddonRefs({ P: { from: "cache", key: "REDIS_PORT" } }, [{ ...redis, prefix: "X" }]),
    ).toEqual({
      P: "6379",
    });
  });

  it("says which addon or variable is missing", () => {
    expect(usage(() => resolveAddonRefs({ X: { from: "nope", key: "PGHOST" } }, [pg])).message).toContain(
      '"nope"',
    );
    expect(usage(() => resolveAddonRefs({ X: { from: "shop-db", key: "NOPE" } }, [pg])).hint).toContain(
      "PGHOST",
    );
  });
});

describe("resolveAppEnv with addons", () => {
  const addons = {
    env: addonVariables([pg]),
    resolveRefs: (refs: Record<string, { from: string; key: string }>) => resolveAddonRefs(refs, [pg]),
  };

  it("puts addon variables above the ENV file and hop3.toml values, below config:set and deploy --env", () => {
    const { env } = resolveAppEnv({
      envFile: { DATABASE_URL: "sqlite:///dev.db", PGPORT: "1" },
      tomlEnv: { policy: "keep-existing", values: { PGUSER: "toml" }, generated: {}, refs: {}, computed: {} },
      configVars: { PGHOST: "set-by-operator" },
      deployEnv: { PGDATABASE: "from-deploy" },
      addons,
    });
    expect(env.DATABASE_URL).toBe("postgres://shop_db:pw1@shop-db:5432/shop_db");
    expect(env.PGPORT).toBe("5432");
    expect(env.PGUSER).toBe("shop_db");
    expect(env.PGHOST).toBe("set-by-operator");
    expect(env.PGDATABASE).toBe("from-deploy");
  });

  it("fills [env] references and lets [env.computed] use addon variables", () => {
    const { env, addonRefs } = resolveAppEnv({
      tomlEnv: {
        policy: "keep-existing",
        values: {},
        generated: {},
        refs: { DB_HOST: { from: "shop-db", key: "PGHOST" } },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: hop3.toml syntax, not a JS template
        computed: { JDBC: "jdbc:postgresql://${PGHOST}:${PGPORT}/${PGDATABASE}" },
      },
      addons,
    });
    expect(env.DB_HOST).toBe("shop-db");
    expect(env.JDBC).toBe("jdbc:postgresql://shop-db:5432/shop_db");
    expect(addonRefs).toEqual({});
  });
});
