import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAppJsonChecks, parseChecksFile } from "../../../src/app/checks.js";
import { loadAppSpec } from "../../../src/app/spec.js";

describe("Dokku CHECKS file", () => {
  it("reads settings, paths and expected content", () => {
    const c = parseChecksFile(
      "# checks\nWAIT=2\nTIMEOUT=5\nATTEMPTS=3\n\n/health ok\n//localhost/about About us\nhttp://example.org/ready\n",
    );
    expect(c.checks).toEqual([
      { path: "/health", contains: "ok" },
      { path: "/about", contains: "About us" },
      { path: "/ready" },
    ]);
    expect(c).toMatchObject({ wait: 2, attempts: 3, timeout: 2 + 5 * 3 });
  });

  it("warns about settings it does not know and refuses a check that is not a path, with the line", () => {
    expect(parseChecksFile("DOKKU_X=1\n/ x").warnings[0]).toMatch(/CHECKS:1: DOKKU_X is not supported/);
    expect(() => parseChecksFile("\nhealth ok")).toThrow(/CHECKS:2: a check must start with a path/);
    expect(() => parseChecksFile("WAIT=soon")).toThrow(/CHECKS:1: WAIT must be a number/);
  });
});

describe("app.json healthchecks", () => {
  it("takes the web startup checks", () => {
    const c = parseAppJsonChecks(
      JSON.stringify({
        healthchecks: {
          web: [
            {
              type: "startup",
              name: "web check",
              path: "/health",
              content: "ok",
              attempts: 3,
              timeout: 4,
              wait: 1,
            },
            { type: "startup", path: "/db" },
          ],
        },
      }),
    );
    expect(c?.checks).toEqual([{ path: "/health", contains: "ok" }, { path: "/db" }]);
    expect(c).toMatchObject({ attempts: 3, wait: 1, timeout: 13 });
  });

  it("skips command and liveness checks with a warning, and has nothing without healthchecks", () => {
    const c = parseAppJsonChecks(
      JSON.stringify({
        healthchecks: {
          web: [
            { type: "startup", command: ["true"] },
            { type: "liveness", path: "/" },
          ],
        },
      }),
    );
    expect(c?.checks).toEqual([]);
    expect(c?.warnings.join("\n")).toMatch(/command checks are not supported[\s\S]*liveness/);
    expect(parseAppJsonChecks(JSON.stringify({ name: "x" }))).toBeUndefined();
    expect(() => parseAppJsonChecks("{nope")).toThrow(/app.json is not valid JSON/);
  });
});

describe("loadAppSpec with imported checks", () => {
  const repo = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), "hop3-checks-"));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };

  it("uses a CHECKS file when hop3.toml has no [healthcheck]", async () => {
    const spec = await loadAppSpec(repo({ CHECKS: "WAIT=1\n/health ok\n/version 1.2\n" }));
    expect(spec.healthcheck).toEqual({
      path: "/health",
      contains: "ok",
      wait: 1,
      more: [{ path: "/version", contains: "1.2" }],
    });
  });

  it("prefers app.json to CHECKS, and hop3.toml to both", async () => {
    const both = {
      CHECKS: "/from-checks\n",
      "app.json": JSON.stringify({ healthchecks: { web: [{ path: "/from-app-json" }] } }),
    };
    expect((await loadAppSpec(repo(both))).healthcheck?.path).toBe("/from-app-json");
    const all = { ...both, "hop3.toml": '[healthcheck]\npath = "/from-toml"\n' };
    expect((await loadAppSpec(repo(all))).healthcheck?.path).toBe("/from-toml");
  });
});
