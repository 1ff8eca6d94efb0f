import { describe, expect, it } from "vitest";
import { Serial } from "../../../src/util/serial.js";

describe("Serial", () => {
  it("runs jobs one at a time, in call order", async () => {
    const s = new Serial();
    const events: string[] = [];
    const job = (name: string, ms: number) => () =>
      new Promise<string>((resolve) => {
        events.push(`start ${name}`);
        setTimeout(() => {
          events.push(`end ${name}`);
          resolve(name);
        }, ms);
      });
    const results = await Promise.all([s.run(job("a", 30)), s.run(job("b", 1)), s.run(job("c", 10))]);
    expect(results).toEqual(["a", "b", "c"]);
    expect(events).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
  });

  it("a failing job rejects its own promise and the next job still runs", async () => {
    const s = new Serial();
    const failed = s.run(async () => {
      throw new Error("boom");
    });
    const next = s.run(async () => "after");
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBe("after");
  });
});
