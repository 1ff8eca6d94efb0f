import { describe, expect, it } from "vitest";
import { planRoutes, resolveRoutes } from "../../../src/router/route-plan.js";
import type { AppRoute } from "../../../src/router/routes.js";
import { Hop3Error } from "../../../src/util/errors.js";
import { sampleRoutes } from "./fixtures.js";

const up = (port: number) => ({ host: "127.0.0.1", port });

function kindOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof Hop3Error ? err.kind : "not a Hop3Error";
  }
  return undefined;
}

describe("planRoutes", () => {
  it("orders exact names, then deeper wildcards, then the catch-all", () => {
    const routes: AppRoute[] = [
      { app: "zeta", hosts: ["_"], upstreams: [up(1)] },
      { app: "wild", hosts: ["*.example.com"], upstreams: [up(2)] },
      { app: "deep", hosts: ["*.a.example.com", "z.example.com"], upstreams: [up(3)] },
      { app: "alpha", hosts: ["b.example.com", "a.example.com"], upstreams: [up(4)] },
    ];
    expect(planRoutes(routes).map((g) => [g.app, g.kind, g.hosts])).toEqual([
      ["alpha", "exact", ["a.example.com", "b.example.com"]],
      ["deep", "exact", ["z.example.com"]],
      ["deep", "wildcard", ["*.a.example.com"]],
      ["wild", "wildcard", ["*.example.com"]],
      ["zeta", "catch-all", []],
    ]);
  });

  it("is independent of input order and deduplicates hosts and upstreams", () => {
    const a = planRoutes(sampleRoutes());
    const shuffled = sampleRoutes().reverse();
    shuffled[3]!.hosts.reverse();
    shuffled[3]!.hosts.push("BLOG.example.com");
    shuffled[3]!.upstreams.push(up(8001));
    expect(planRoutes(shuffled)).toEqual(a);
    expect(a.find((g) => g.app === "blog" && g.kind === "exact")!.upstreams).toEqual([up(8001), up(8002)]);
  });

  it("refuses a hostname claimed by two apps", () => {
    const routes = [
      { app: "one", hosts: ["x.example.com"], upstreams: [up(1)] },
      { app: "two", hosts: ["X.example.com"], upstreams: [up(2)] },
    ];
    expect(kindOf(() => planRoutes(routes))).toBe("conflict");
  });

  it("refuses two catch-all apps; a catch-all beside names keeps both", () => {
    expect(
      kindOf(() =>
        planRoutes([
          { app: "one", hosts: ["_"], upstreams: [] },
          { app: "two", hosts: ["_"], upstreams: [] },
        ]),
      ),
    ).toBe("conflict");
    // [domains] list = ["_"] with the app's default hostname: its names first, then every other host
    expect(
      planRoutes([
        { app: "one", hosts: ["_", "one.example.com"], upstreams: [up(1)] },
        { app: "two", hosts: ["two.example.com"], upstreams: [up(2)] },
      ]).map((g) => [g.app, g.kind, g.hosts]),
    ).toEqual([
      ["one", "exact", ["one.example.com"]],
      ["two", "exact", ["two.example.com"]],
      ["one", "catch-all", []],
    ]);
  });

  it("refuses bad app names, ports and upstream hosts", () => {
    expect(kindOf(() => planRoutes([{ app: "Bad App", hosts: [], upstreams: [] }]))).toBe("usage");
    expect(kindOf(() => planRoutes([{ app: "app", hosts: [], upstreams: [up(0)] }]))).toBe("usage");
    expect(kindOf(() => planRoutes([{ app: "app", hosts: [], upstreams: [up(70000)] }]))).toBe("usage");
    expect(
      kindOf(() => planRoutes([{ app: "app", hosts: [], upstreams: [{ host: "*.x", port: 80 }] }])),
    ).toBe("usage");
    expect(
      kindOf(() => planRoutes([{ app: "app", hosts: [], upstreams: [{ host: "a b", port: 80 }] }])),
    ).toBe("usage");
  });
});

describe("resolveRoutes", () => {
  it("drops a hostname claimed twice from the later app only, and says so with the app", () => {
    const { routes, dropped } = resolveRoutes([
      { app: "two", hosts: ["two.example.com", "shared.example.com"], upstreams: [up(2)] },
      { app: "one", hosts: ["one.example.com", "shared.example.com"], upstreams: [up(1)] },
      { app: "three", hosts: ["three.example.com"], upstreams: [up(3)] },
    ]);
    expect(routes.map((r) => [r.app, r.hosts])).toEqual([
      ["one", ["one.example.com", "shared.example.com"]],
      ["three", ["three.example.com"]],
      ["two", ["two.example.com"]],
    ]);
    expect(dropped).toEqual([
      { app: "two", what: "shared.example.com", kind: "conflict", reason: expect.stringMatching(/one.*two/) },
    ]);
    // what is left always plans
    expect(() => planRoutes(routes)).not.toThrow();
  });

  it("keeps an app's default hostname for that app, whatever other app claims it", () => {
    // app "aa" has bb's default hostname among its domains (the stored domains:add of issue 9)
    const { routes, dropped } = resolveRoutes([
      {
        app: "aa",
        hosts: ["aa.hop3.localhost", "bb.hop3.localhost"],
        upstreams: [up(1)],
        defaultHost: "aa.hop3.localhost",
      },
      { app: "bb", hosts: ["bb.hop3.localhost"], upstreams: [up(2)], defaultHost: "bb.hop3.localhost" },
    ]);
    expect(routes.map((r) => [r.app, r.hosts])).toEqual([
      ["aa", ["aa.hop3.localhost"]],
      ["bb", ["bb.hop3.localhost"]],
    ]);
    expect(dropped.map((d) => [d.app, d.what, d.kind])).toEqual([["aa", "bb.hop3.localhost", "conflict"]]);
  });

  it("drops invalid hostnames, upstreams and entries, keeping the rest of the app and the other apps", () => {
    const { routes, dropped } = resolveRoutes([
      { app: "ok", hosts: ["ok.example.com", "bad host", "`{{x}}`"], upstreams: [up(1), up(0), up(1)] },
      { app: "Bad App", hosts: ["x.example.com"], upstreams: [up(2)] },
      { app: "ok", hosts: ["again.example.com"], upstreams: [up(3)] },
    ]);
    expect(routes).toEqual([{ app: "ok", hosts: ["ok.example.com"], upstreams: [up(1)] }]);
    expect(dropped.map((d) => [d.app, d.what, d.kind])).toEqual([
      ["Bad App", undefined, "usage"],
      ["ok", "bad host", "usage"],
      ["ok", "`{{x}}`", "usage"],
      ["ok", "127.0.0.1:0", "usage"],
      ["ok", undefined, "conflict"],
    ]);
  });

  it("gives the catch-all to the first app claiming it; the other keeps its names", () => {
    const { routes, dropped } = resolveRoutes([
      { app: "bb", hosts: ["_", "b.example.com"], upstreams: [up(2)] },
      { app: "aa", hosts: ["_", "a.example.com"], upstreams: [up(1)] },
    ]);
    expect(routes.map((r) => [r.app, r.hosts])).toEqual([
      ["aa", ["_", "a.example.com"]],
      ["bb", ["b.example.com"]],
    ]);
    expect(dropped.map((d) => [d.app, d.what])).toEqual([["bb", "_"]]);
  });
});
