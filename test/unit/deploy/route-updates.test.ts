import { describe, expect, it } from "vitest";
import { RouteUpdates } from "../../../src/deploy/route-updates.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("RouteUpdates", () => {
  it("never applies an older table after a newer one, whatever the timing of concurrent updates", async () => {
    // the "store": a counter that concurrent deploys bump before they ask for a route update
    let state = 0;
    const applied: { version: number; state: number }[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const updates = new RouteUpdates<number>(
      async () => {
        const seen = state;
        await sleep(Math.random() * 5); // computing reads Podman: slow, and of varying length
        return seen;
      },
      async (table, version) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(Math.random() * 10);
        applied.push({ version, state: table });
        inFlight--;
      },
    );
    const deploys = Array.from({ length: 40 }, async (_, i) => {
      await sleep(Math.random() * 30);
      state = Math.max(state, i + 1);
      const mine = state;
      const { result } = await updates.update();
      // what this deploy asked for (or newer) is in the router when its update resolves
      expect(result).toBeGreaterThanOrEqual(mine);
    });
    await Promise.all(deploys);
    expect(maxInFlight).toBe(1);
    for (let i = 1; i < applied.length; i++) {
      expect(applied[i]!.version).toBeGreaterThan(applied[i - 1]!.version);
      expect(applied[i]!.state).toBeGreaterThanOrEqual(applied[i - 1]!.state);
    }
    expect(applied.at(-1)!.state).toBe(40);
    expect(updates.applied).toBe(applied.at(-1)!.version);
  });

  it("serves callers that queued during one computation with the next table, not one table each", async () => {
    let computed = 0;
    const updates = new RouteUpdates<number>(
      async () => {
        await sleep(20);
        return ++computed;
      },
      async () => {},
    );
    const first = updates.update();
    await sleep(1);
    const waiting = Array.from({ length: 10 }, () => updates.update());
    await first;
    const results = await Promise.all(waiting);
    expect(new Set(results.map((r) => r.version)).size).toBe(1);
    expect(computed).toBe(2);
  });

  it("a failed apply fails its callers only; the next update applies", async () => {
    let fail = true;
    const applied: number[] = [];
    const updates = new RouteUpdates<string>(
      async () => "table",
      async (_t, v) => {
        if (fail) throw new Error("router down");
        applied.push(v);
      },
    );
    await expect(updates.update()).rejects.toThrow(/router down/);
    fail = false;
    const { version } = await updates.update();
    expect(applied).toEqual([version]);
    expect(updates.applied).toBe(version);
  });
});
