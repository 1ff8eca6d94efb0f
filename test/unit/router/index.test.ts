import Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { createRouter, routerKindFromEnv } from "../../../src/router/index.js";
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
