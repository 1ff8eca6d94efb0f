import { describe, expect, it } from "vitest";
import { RestartBackoff } from "../../../src/runtime/container-watchdog.js";

describe("RestartBackoff (the Podman supervisor's watchdog)", () => {
  it("restarts at once, then waits longer after each run that did not last, up to a minute", () => {
    const b = new RestartBackoff();
    let now = 0;
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      expect(b.mayStart("c", now)).toBe(true);
      const d = b.restarted("c", 200, now);
      delays.push(d);
      expect(b.mayStart("c", now + d - 1)).toBe(d === 0);
      now += d;
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  });

  it("never gives up, and forgets the failures after a run of a minute", () => {
    const b = new RestartBackoff();
    for (let i = 0; i < 100; i++) b.restarted("c", 10, i * 60_000);
    expect(b.mayStart("c", 100 * 60_000)).toBe(true);
    expect(b.restarted("c", 5 * 60_000, 0)).toBe(1000);
  });

  it("keeps each container's count apart", () => {
    const b = new RestartBackoff();
    b.restarted("a", 0, 0);
    b.restarted("a", 0, 0);
    expect(b.mayStart("b", 0)).toBe(true);
    expect(b.mayStart("a", 1000)).toBe(false);
  });
});
