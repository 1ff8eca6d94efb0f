// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the hop3.toml syntax under test
import { describe, expect, it } from "vitest";
import {
  emptyTomlEnv,
  evaluateComputed,
  generateSecret,
  resolveAppEnv,
  type TomlEnv,
} from "../../../src/app/env.js";
import { expectUsageError } from "./expect-usage.js";

const toml = (partial: Partial<TomlEnv>): TomlEnv => ({ ...emptyTomlEnv(), ...partial });

describe("resolveAppEnv: precedence", () => {
  const layers = {
    envFile: { A: "envfile", B: "envfile", C: "envfile", D: "envfile", ONLY_FILE: "f" },
    configVars: { B: "config", C: "config", D: "config" },
    deployEnv: { D: "deploy" },
  };

  it("ENV file < hop3.toml [env] < config:set < deploy --env (keep-existing, the default)", () => {
    const { env } = resolveAppEnv({
      ...layers,
      tomlEnv: toml({ values: { A: "toml", B: "toml", T: "toml" } }),
    });
    expect(env).toEqual({ A: "toml", B: "config", C: "config", D: "deploy", ONLY_FILE: "f", T: "toml" });
  });

  it('_policy = "override" lets hop3.toml win over config:set, but not over deploy --env', () => {
    const { env } = resolveAppEnv({
      ...layers,
      tomlEnv: toml({ policy: "override", values: { B: "toml", D: "toml" } }),
    });
    expect(env).toMatchObject({ A: "envfile", B: "toml", C: "config", D: "deploy" });
  });

  it("works with no input at all", () => {
    expect(resolveAppEnv({})).toEqual({ env: {}, newlyGenerated: {}, addonRefs: {} });
  });
});

describe("resolveAppEnv: generated secrets", () => {
  const tomlEnv = toml({
    generated: {
      SECRET_KEY: { generate: "hex", length: 64 },
      B64: { generate: "base64", length: 24 },
      URLSAFE: { generate: "urlsafe", length: 40 },
      PASSWORD: { generate: "password", length: 20 },
      ID: { generate: "uuid" },
    },
  });

  it("creates each secret once, in the requested format", () => {
    const first = resolveAppEnv({ tomlEnv });
    expect(Object.keys(first.newlyGenerated).sort()).toEqual([
      "B64",
      "ID",
      "PASSWORD",
      "SECRET_KEY",
      "URLSAFE",
    ]);
    expect(first.env.SECRET_KEY).toMatch(/^[0-9a-f]{64}$/);
    expect(first.env.B64).toMatch(/^[A-Za-z0-9+/=]{24}$/);
    expect(first.env.URLSAFE).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(first.env.PASSWORD).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(first.env.ID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("reuses secrets passed back as `generated` and never rotates them", () => {
    const first = resolveAppEnv({ tomlEnv });
    const second = resolveAppEnv({ tomlEnv, generated: first.newlyGenerated });
    expect(second.newlyGenerated).toEqual({});
    for (const key of Object.keys(first.newlyGenerated)) expect(second.env[key]).toBe(first.env[key]);
    const third = resolveAppEnv({ tomlEnv, generated: { ...first.newlyGenerated } });
    expect(third.env).toEqual(first.env);
  });

  it("differs between two apps (fresh randomness)", () => {
    expect(resolveAppEnv({ tomlEnv }).env.SECRET_KEY).not.toBe(resolveAppEnv({ tomlEnv }).env.SECRET_KEY);
  });

  it("does not create a secret that config:set or deploy --env already provides", () => {
    const result = resolveAppEnv({ tomlEnv, configVars: { SECRET_KEY: "mine" }, deployEnv: { ID: "fixed" } });
    expect(result.env.SECRET_KEY).toBe("mine");
    expect(result.env.ID).toBe("fixed");
    expect(result.newlyGenerated).not.toHaveProperty("SECRET_KEY");
    expect(result.newlyGenerated).not.toHaveProperty("ID");
  });

  it("uses the default length of 32", () => {
    expect(generateSecret({ generate: "hex" })).toHaveLength(32);
    expect(generateSecret({ generate: "password" })).toHaveLength(32);
  });
});

describe("resolveAppEnv: computed values and addon references", () => {
  it("interpolates ${VAR} from every layer and from other computed values", () => {
    const { env } = resolveAppEnv({
      envFile: { HOST: "example.com" },
      configVars: { SCHEME: "https" },
      tomlEnv: toml({
        values: { PATH_PREFIX: "/app" },
        computed: { URL: "${BASE}${PATH_PREFIX}", BASE: "${SCHEME}://${HOST}", PLAIN: "no $refs here" },
      }),
    });
    expect(env.URL).toBe("https://example.com/app");
    expect(env.BASE).toBe("https://example.com");
    expect(env.PLAIN).toBe("no $refs here");
  });

  it("sees platform variables without copying them into the result", () => {
    const { env } = resolveAppEnv({
      tomlEnv: toml({ computed: { ASYNC_URL: "${DATABASE_URL}?async=1" } }),
      platformEnv: { DATABASE_URL: "postgres://db/app", PORT: "5000" },
    });
    expect(env).toEqual({ ASYNC_URL: "postgres://db/app?async=1" });
  });

  it("names an unknown variable", () => {
    const err = expectUsageError(() => resolveAppEnv({ tomlEnv: toml({ computed: { X: "a-${MISSING}" } }) }));
    expect(err.message).toBe("hop3.toml [env.computed] X: unknown variable ${MISSING}");
  });

  it("detects reference loops instead of recursing forever", () => {
    const err = expectUsageError(() => evaluateComputed({ A: "${B}", B: "${C}", C: "${A}" }, {}));
    expect(err.message).toBe("hop3.toml [env.computed]: circular reference A -> B -> C -> A");
  });

  it("lets a computed value extend a variable of the same name from a lower layer", () => {
    expect(evaluateComputed({ PATH: "/app/bin:${PATH}" }, { PATH: "/usr/bin" })).toEqual({
      PATH: "/app/bin:/usr/bin",
    });
  });

  it("lists addon references for later, unless a higher layer sets the variable", () => {
    const result = resolveAppEnv({
      tomlEnv: toml({
        refs: { DB_HOST: { from: "db", key: "PGHOST" }, CACHE: { from: "cache", key: "REDIS_URL" } },
      }),
      configVars: { CACHE: "redis://elsewhere" },
    });
    expect(result.addonRefs).toEqual({ DB_HOST: { from: "db", key: "PGHOST" } });
    expect(result.env).toEqual({ CACHE: "redis://elsewhere" });
  });
});
