import { describe, expect, it } from "vitest";
import { type Detected, resolvePlan } from "../../../src/build/cnb/plan.js";

const bp = (id: string, plan: Detected["plan"], optional = false): Detected => ({
  entry: { id, version: "1", optional },
  plan,
});

describe("build plan resolution", () => {
  it("matches requires to earlier provides and hands each provider its entries", () => {
    const r = resolvePlan([
      bp("node", [{ provides: [{ name: "node" }], requires: [] }]),
      bp("npm", [{ provides: [], requires: [{ name: "node", metadata: { v: "18" } }] }]),
    ]);
    expect(r).toEqual({
      ok: true,
      group: [
        {
          entry: { id: "node", version: "1", optional: false },
          plan: [{ name: "node", metadata: { v: "18" } }],
        },
        { entry: { id: "npm", version: "1", optional: false }, plan: [] },
      ],
    });
  });

  it("fails when a required buildpack's provide is never required", () => {
    const r = resolvePlan([bp("a", [{ provides: [{ name: "x" }], requires: [] }])]);
    expect(r).toEqual({ ok: false, reason: "a provides x, which no buildpack after it requires" });
  });

  it("drops an optional buildpack whose plan does not fit", () => {
    const r = resolvePlan([bp("a", [{ provides: [], requires: [{ name: "y" }] }], true), bp("b", [])]);
    expect(r.ok && r.group.map((g) => g.entry.id)).toEqual(["b"]);
  });

  it("tries [[or]] alternatives in order", () => {
    const r = resolvePlan([
      bp("a", [
        { provides: [{ name: "x" }], requires: [] },
        { provides: [], requires: [] },
      ]),
    ]);
    expect(r.ok && r.group[0]!.plan).toEqual([]);
  });
});
