/**
 * Procfile `preflight:` (Piku's hook): checks run in the new image with the new config before the release
 * phase; a failing check stops the deploy and the previous release keeps serving.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { deployedUrl, destroyQuietly, fixture, getThroughRouter, hop, uniqueApp } from "./helpers.js";

describe("preflight checks", () => {
  const app = uniqueApp("it-preflight");
  const dir = mkdtempSync(join(tmpdir(), "hop3-it-preflight-"));
  cpSync(fixture("greeter"), dir, { recursive: true });
  writeFileSync(
    join(dir, "Procfile"),
    'preflight: test -n "$GREETER_READY" || { echo "GREETER_READY is not set" >&2; exit 3; }\n',
  );
  let url = "";

  afterAll(async () => {
    await destroyQuietly(app);
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails the first deploy with the check's output and code, and starts nothing", async () => {
    const r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode).not.toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toContain("Running the preflight checks");
    expect(out).toContain("GREETER_READY is not set");
    expect(out).toContain("the preflight check exited with code 3");
    const ps = await hop(["ps", "--app", app, "--json"]);
    expect(JSON.parse(ps.stdout)).toEqual({ processes: [] });
  });

  it("passes once the configuration is there; a later failing check leaves that release serving", async () => {
    expect((await hop(["config:set", "GREETER_READY=yes", "--app", app])).exitCode).toBe(0);
    const ok = await hop(["deploy", dir, "--app", app]);
    expect(ok.exitCode, ok.stdout + ok.stderr).toBe(0);
    url = deployedUrl(ok.stdout);
    expect((await getThroughRouter(url)).status).toBe(200);
    // config:unset is a new release of the same image: its preflight fails, the running one stays
    const unset = await hop(["config:unset", "GREETER_READY", "--app", app]);
    expect(unset.exitCode).not.toBe(0);
    expect(unset.stdout + unset.stderr).toContain("the preflight check exited with code 3");
    const res = await getThroughRouter(url);
    expect(res.status).toBe(200);
    expect(res.body).toBe(`hello from ${app} (v1)`);
  });
});
