import { describe, expect, it } from "vitest";
import {
  readTimingsEvent,
  StepTimings,
  timed,
  timingsSummary,
  timingsTable,
} from "../../../src/deploy/timings.js";
import { formatEvent } from "../../../src/git/push-output.js";
import { ndjsonOperation } from "../../../src/server/ndjson.js";

/** A clock the test moves by hand. */
function clock() {
  let t = 1000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("StepTimings", () => {
  it("records steps in the order they start, sub-steps after the step that holds them", async () => {
    const c = clock();
    const t = new StepTimings(c.now);
    t.add("upload", 120);
    await t.time("build", async () => {
      c.advance(300);
      t.add("buildpack heroku/nodejs", 250, true);
      c.advance(200);
      t.add("export", 200, true);
    });
    c.advance(10);
    expect(t.snapshot()).toEqual({
      steps: [
        { step: "upload", ms: 120 },
        { step: "build", ms: 500 },
        { step: "buildpack heroku/nodejs", ms: 250, sub: true },
        { step: "export", ms: 200, sub: true },
      ],
      totalMs: 510,
    });
  });

  it("records a step that fails, and rethrows", async () => {
    const c = clock();
    const t = new StepTimings(c.now);
    await expect(
      t.time("health check", async () => {
        c.advance(40);
        throw new Error("no answer");
      }),
    ).rejects.toThrow("no answer");
    expect(t.snapshot().steps).toEqual([{ step: "health check", ms: 40 }]);
  });

  it("timed() without a recorder just runs the step", async () => {
    expect(await timed(undefined, "start", async () => 7)).toBe(7);
  });
});

describe("rendering", () => {
  const t = {
    steps: [
      { step: "upload", ms: 120 },
      { step: "build", ms: 5432 },
      { step: "buildpack heroku/nodejs", ms: 3100, sub: true },
      { step: "route switch", ms: 45 },
    ],
    totalMs: 6012,
  };

  it("is an aligned table with sub-steps indented and the total last", () => {
    expect(timingsTable(t)).toEqual([
      "STEP                        TIME",
      "upload                     0.12s",
      "build                      5.43s",
      "  buildpack heroku/nodejs  3.10s",
      "route switch               0.04s",
      "total                      6.01s",
    ]);
  });

  it("is one line of top-level steps for a git push", () => {
    expect(timingsSummary(t)).toBe("Timings: upload 0.1s, build 5.4s, route switch 0.0s, total 6.0s");
    expect(formatEvent({ event: "timings", ...t }, "web")).toBe(
      "       Timings: upload 0.1s, build 5.4s, route switch 0.0s, total 6.0s\n",
    );
  });

  it("keeps only well-formed steps of an event from the wire", () => {
    expect(readTimingsEvent({ steps: [{ step: "x", ms: 1 }, { step: 3 }, null], totalMs: 2 })).toEqual({
      steps: [{ step: "x", ms: 1 }],
      totalMs: 2,
    });
    expect(readTimingsEvent({ steps: "no" })).toBeUndefined();
  });
});

describe("the deploy stream", () => {
  it("sends the timings just before done, on failure too", async () => {
    const c = clock();
    const rec = new StepTimings(c.now);
    const res = ndjsonOperation(
      async (progress) => {
        await progress.timings?.time("start", async () => {
          c.advance(5);
        });
        throw new Error("boom");
      },
      undefined,
      rec,
    );
    const events = (await res.text())
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(["timings", "done"]);
    expect(events[0]).toEqual({ event: "timings", steps: [{ step: "start", ms: 5 }], totalMs: 5 });
    expect(events[1].ok).toBe(false);
  });
});
