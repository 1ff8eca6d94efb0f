import { describe, expect, it } from "vitest";
import { planRoutes } from "../../../src/router/route-plan.js";
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

  it("refuses two catch-all apps and a catch-all mixed with names", () => {
    expect(
      kindOf(() =>
        planRoutes([
          { app: "one", hosts: ["_"], upstreams: [] },
          { app: "two", hosts: ["_"], upstreams: [] },
        ]),
      ),
    ).toBe("conflict");
    expect(kindOf(() => planRoutes([{ app: "one", hosts: ["_", "a.example.com"], upstreams: [] }]))).toBe(
      "usage",
    );
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
