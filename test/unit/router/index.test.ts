import Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { createRouter, routerKindFromEnv, routerSettingsFromEnv } from "../../../src/router/index.js";
import { Hop3Error } from "../../../src/util/errors.js";

const deps = {
  docker: new Docker({ socketPath: "/nonexistent.sock" }),
  stateDir: "/tmp/unused",
  settings: { httpPort: 80, httpsPort: 443, tls: "off" as const },
  baseImage: "localhost/hop3/base:bookworm",
  imagesDir: "/tmp/images",
};

describe("createRouter", () => {
  it("creates the router of each kind", () => {
    expect(createRouter("caddy", deps).kind).toBe("caddy");
    expect(createRouter("traefik", deps).kind).toBe("traefik");
  });

  it("refuses an unknown kind with a usage error", () => {
    expect(() => createRouter("nginx" as never, deps)).toThrow(Hop3Error);
  });
});

describe("routerKindFromEnv", () => {
  it("defaults to caddy and reads HOP3_ROUTER", () => {
    expect(routerKindFromEnv({})).toBe("caddy");
    expect(routerKindFromEnv({ HOP3_ROUTER: "Traefik" })).toBe("traefik");
    expect(routerKindFromEnv({ HOP3_ROUTER: "caddy" })).toBe("caddy");
  });

  it("refuses anything else", () => {
    expect(() => routerKindFromEnv({ HOP3_ROUTER: "nginx" })).toThrow(/not a router/);
  });
});

describe("routerSettingsFromEnv", () => {
  it("defaults to 80/443 with automatic TLS", () => {
    expect(routerSettingsFromEnv({})).toEqual({ httpPort: 80, httpsPort: 443, tls: "auto" });
  });

  it("reads ports, TLS mode and ACME settings", () => {
    expect(
      routerSettingsFromEnv({
        HOP3_HTTP_PORT: "8080",
        HOP3_HTTPS_PORT: "8443",
        HOP3_TLS: "off",
        HOP3_ACME_EMAIL: "ops@example.com",
        HOP3_ACME_CA: "https://127.0.0.1:14000/dir",
        HOP3_ACME_CA_ROOT: "/etc/hop3/pebble.pem",
      }),
    ).toEqual({
      httpPort: 8080,
      httpsPort: 8443,
      tls: "off",
      acmeEmail: "ops@example.com",
      acmeCa: "https://127.0.0.1:14000/dir",
      acmeCaRootFile: "/etc/hop3/pebble.pem",
    });
  });

  it("refuses bad ports and modes", () => {
    expect(() => routerSettingsFromEnv({ HOP3_HTTP_PORT: "80x" })).toThrow(/not a port/);
    expect(() => routerSettingsFromEnv({ HOP3_HTTPS_PORT: "70000" })).toThrow(/not a port/);
    expect(() => routerSettingsFromEnv({ HOP3_TLS: "on" })).toThrow(/not a TLS mode/);
    expect(() => routerSettingsFromEnv({ HOP3_HTTP_PORT: "443" })).toThrow(/both 443/);
  });
});

describe("canonicalJson / sameJson", () => {
  it("ignores key order but not values", async () => {
    const { sameJson } = await import("../../../src/router/caddy-router.js");
    expect(sameJson('{"a":1,"b":{"c":[1,{"d":2,"e":3}]}}', '{"b":{"c":[1,{"e":3,"d":2}]},"a":1}')).toBe(true);
    expect(sameJson('{"a":[1,2]}', '{"a":[2,1]}')).toBe(false);
    expect(sameJson('{"a":1}', "not json")).toBe(false);
  });
});
