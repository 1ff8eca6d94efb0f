import { describe, expect, it } from "vitest";
import { allSettledLimit, allSettledSteps } from "../../../src/util/settled.js";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("allSettledLimit", () => {
  it("keeps the results in item order and never runs more than the limit at once", async () => {
    let running = 0;
    let peak = 0;
    const out = await allSettledLimit([30, 5, 20, 1, 10], 2, async (ms, i) => {
      running++;
      peak = Math.max(peak, running);
      await tick(ms);
      running--;
      return i * 10;
    });
    expect(out).toEqual([0, 10, 20, 30, 40]);
    expect(peak).toBe(2);
  });

  it("waits for the other jobs to end before it throws the first failure", async () => {
    const ended: number[] = [];
    const run = allSettledLimit([0, 1, 2], 3, async (i) => {
      if (i === 1) throw new Error("one failed");
      await tick(20);
      ended.push(i);
    });
    await expect(run).rejects.toThrow("one failed");
    expect(ended.sort()).toEqual([0, 2]);
  });

  it("throws the first failure in item order, not in time order", async () => {
    const run = allSettledSteps([
      async () => {
        await tick(20);
        throw new Error("first");
      },
      async () => {
        throw new Error("second");
      },
    ]);
    await expect(run).rejects.toThrow("first");
  });

  it("returns an empty list for no items", async () => {
    expect(await allSettledLimit([], 4, async () => 1)).toEqual([]);
  });
});
