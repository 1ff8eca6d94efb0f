import Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { createRouter } from "../../../src/router/index.js";
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

describe("canonicalJson / sameJson", () => {
  it("ignores key order but not values", async () => {
    const { sameJson } = await import("../../../src/router/caddy-router.js");
    expect(sameJson('{"a":1,"b":{"c":[1,{"d":2,"e":3}]}}', '{"b":{"c":[1,{"e":3,"d":2}]},"a":1}')).toBe(true);
    expect(sameJson('{"a":[1,2]}', '{"a":[2,1]}')).toBe(false);
    expect(sameJson('{"a":1}', "not json")).toBe(false);
  });
});
