import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  fail,
  nextState,
  type ReleaseEvent,
  type ReleaseState,
  stateOf,
  storedAs,
  transition,
} from "../../../src/deploy/release-state.js";
import { Store } from "../../../src/store/store.js";
import { useTempDirs } from "../store/temp-dir.js";

const tempDir = useTempDirs();

const STATES: ReleaseState[] = [
  "pending",
  "building",
  "built",
  "started",
  "healthy",
  "routed",
  "active",
  "superseded",
  "failed",
];
const EVENTS: ReleaseEvent[] = [
  { type: "build" },
  { type: "built" },
  { type: "started" },
  { type: "healthy" },
  { type: "routed" },
  { type: "activate" },
  { type: "supersede" },
];

describe("nextState", () => {
  it("walks the life of a deploy: pending -> building -> built -> started -> healthy -> routed -> active", () => {
    let s: ReleaseState = "pending";
    for (const e of ["build", "built", "started", "healthy", "routed", "activate", "supersede"] as const) {
      s = nextState(s, { type: e });
    }
    expect(s).toBe("superseded");
    // a release of an existing image (config change, rollback) starts at built
    expect(nextState("pending", { type: "built" })).toBe("built");
  });

  it("allows exactly the listed transitions and throws for every other one", () => {
    const allowed = new Set([
      "pending build",
      "pending built",
      "building built",
      "built started",
      "started healthy",
      "healthy routed",
      "routed activate",
      "active supersede",
    ]);
    for (const s of STATES) {
      for (const e of EVENTS) {
        const key = `${s} ${e.type}`;
        if (allowed.has(key)) expect(() => nextState(s, e), key).not.toThrow();
        else expect(() => nextState(s, e), key).toThrow(/illegal release transition/);
      }
    }
  });

  it("'active' only follows 'routed'", () => {
    for (const s of STATES.filter((x) => x !== "routed")) {
      expect(() => nextState(s, { type: "activate" })).toThrow(/activate from/);
    }
  });

  it("fails only at the step being attempted, and never after the end", () => {
    expect(nextState("building", { type: "fail", step: "build" })).toBe("failed");
    expect(nextState("built", { type: "fail", step: "release" })).toBe("failed");
    expect(nextState("started", { type: "fail", step: "health" })).toBe("failed");
    expect(nextState("healthy", { type: "fail", step: "route" })).toBe("failed");
    expect(() => nextState("healthy", { type: "fail", step: "build" })).toThrow();
    expect(() => nextState("started", { type: "fail", step: "route" })).toThrow();
    for (const s of ["active", "superseded", "failed"] as const) {
      expect(() => nextState(s, { type: "fail", step: "interrupted" })).toThrow();
    }
    for (const s of ["pending", "building", "built", "started", "healthy", "routed"] as const) {
      expect(nextState(s, { type: "fail", step: "interrupted" })).toBe("failed");
    }
  });

  it("stores fine states beside the coarse status and reads them back", () => {
    for (const s of STATES) expect(stateOf(storedAs(s, "health"))).toBe(s);
    expect(storedAs("healthy")).toEqual({ status: "deploying", step: "healthy" });
    expect(storedAs("failed", "route")).toEqual({ status: "failed", step: "route" });
    // rows written before steps existed
    expect(stateOf({ status: "deploying" })).toBe("built");
  });
});

describe("transition on a store", () => {
  function setup() {
    const dir = tempDir();
    const store = Store.open(join(dir, "hop3.db"), join(dir, "secret.key"));
    store.createApp("web");
    return store;
  }

  it("activates only from routed, superseding the previous release in the same step", () => {
    const store = setup();
    const walk = (r: { id: number; app: string }) => {
      for (const e of ["build", "built", "started", "healthy", "routed"] as const)
        transition(store, r, { type: e });
    };
    const r1 = store.createRelease("web", { sourceKind: "image" });
    walk(r1);
    expect(store.getReleaseById(r1.id)).toMatchObject({ status: "deploying", step: "routed" });
    transition(store, r1, { type: "activate" });
    const r2 = store.createRelease("web", { sourceKind: "image" });
    transition(store, r2, { type: "build" });
    expect(() => transition(store, r2, { type: "activate" })).toThrow(/illegal/);
    expect(store.currentRelease("web")?.id).toBe(r1.id);
    transition(store, r2, { type: "built" });
    transition(store, r2, { type: "started" });
    transition(store, r2, { type: "healthy" });
    transition(store, r2, { type: "routed" });
    transition(store, r2, { type: "activate" });
    expect(store.listReleases("web").map((r) => [r.number, r.status, r.step])).toEqual([
      [2, "active", undefined],
      [1, "superseded", undefined],
    ]);
    expect(store.getReleaseById(r2.id)?.finishedAt).toBeDefined();
    store.close();
  });

  it("a failure at the router switch leaves the previous release active, with the step recorded", () => {
    const store = setup();
    const r1 = store.createRelease("web", { sourceKind: "image" });
    for (const e of ["built", "started", "healthy", "routed", "activate"] as const)
      transition(store, r1, { type: e });
    const r2 = store.createRelease("web", { sourceKind: "config" });
    for (const e of ["built", "started", "healthy"] as const) transition(store, r2, { type: e });
    expect(fail(store, r2, new Error("the router refused its new configuration"))).toMatch(/refused/);
    expect(store.getReleaseById(r2.id)).toMatchObject({
      status: "failed",
      step: "route",
      error: "the router refused its new configuration",
    });
    expect(store.currentRelease("web")?.id).toBe(r1.id);
    // recording a failure twice keeps the first
    fail(store, r2, new Error("later"));
    expect(store.getReleaseById(r2.id)?.error).toBe("the router refused its new configuration");
    // an active release is never failed after the fact
    fail(store, r1, new Error("too late"));
    expect(store.getReleaseById(r1.id)?.status).toBe("active");
    store.close();
  });
});
