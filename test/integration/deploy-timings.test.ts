/**
 * Deploy timings (issue 12): a buildpack deploy's stream ends with every step's duration, `hop deploy --timings`
 * prints them as a table and `--json` carries them. Only the step names are checked, never the figures.
 */
import { afterAll, describe, expect, it } from "vitest";
import { destroyQuietly, fixture, hop, uniqueApp } from "./helpers.js";

describe("deploy timings", () => {
  const app = uniqueApp("it-timings");
  afterAll(() => destroyQuietly(app));

  it("hop deploy --timings prints each step of a buildpack deploy", async () => {
    const r = await hop(["deploy", fixture("npm-lockfile"), "--app", app, "--timings"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const table = r.stdout.slice(r.stdout.indexOf("-----> Timings"));
    for (const step of [
      "upload",
      "builder detect",
      "build",
      "  prepare",
      "  detect",
      "  buildpack hop3/nodejs",
      "  export",
      "release phase",
      "start",
      "health check",
      "route switch",
      "activate",
      "total",
    ]) {
      expect(table, r.stdout).toMatch(
        new RegExp(`^\\s+${step.replace(/[/]/g, "\\/")}\\s+\\d+\\.\\d\\ds$`, "m"),
      );
    }
  });

  it("--json includes the timings with the result", async () => {
    const r = await hop(["deploy", fixture("npm-lockfile"), "--app", app, "--json"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      timings: { steps: { step: string; ms: number }[]; totalMs: number };
    };
    const names = out.timings.steps.map((s) => s.step);
    expect(names).toEqual(expect.arrayContaining(["upload", "build", "export", "start", "health check"]));
    expect(names).toContain("drain and stop previous");
    expect(out.timings.totalMs).toBeGreaterThan(0);
  });
});
