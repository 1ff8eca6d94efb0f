/**
 * Process formation and releases: `ps:scale` (kept across releases, unknown types refused), per-type restart,
 * and `rollback` to the previous or a named release, all through the real server and router.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployedUrl, destroyQuietly, fixture, getThroughRouter, hop, uniqueApp } from "./helpers.js";

interface Proc {
  type: string;
  instance: number;
  state: string;
  release: number;
}

async function processes(app: string): Promise<Proc[]> {
  const r = await hop(["ps", "--app", app, "--json"]);
  return (JSON.parse(r.stdout) as { processes: Proc[] }).processes;
}

const formation = (ps: Proc[]) =>
  ps
    .filter((p) => p.state === "running")
    .map((p) => `${p.type}.${p.instance}`)
    .sort();

describe("scaling, restarting and rolling back", () => {
  const app = uniqueApp("it-rel");
  const dir = mkdtempSync(join(tmpdir(), "hop3-rel-"));
  let url = "";

  beforeAll(async () => {
    cpSync(fixture("greeter"), dir, { recursive: true });
    writeFileSync(
      join(dir, "Procfile"),
      "web: python3 /app/server.py\nworker: sh -c 'while true; do echo working; sleep 5; done'\n",
    );
    const r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    url = deployedUrl(r.stdout);
  });

  afterAll(async () => {
    await destroyQuietly(app);
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs one instance of each Procfile type by default", async () => {
    expect(formation(await processes(app))).toEqual(["web.1", "worker.1"]);
  });

  it("ps:scale gives exactly the instances asked for, and the router balances over the web ones", async () => {
    const r = await hop(["ps:scale", "web=2", "worker=0", "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(formation(await processes(app))).toEqual(["web.1", "web.2"]);
    // the router picks up added upstreams at its next refresh (within a second with dynamic upstreams)
    const dynos = new Set<string>();
    const until = Date.now() + 10_000;
    while (dynos.size < 2 && Date.now() < until) {
      dynos.add((JSON.parse((await getThroughRouter(url, "/env")).body) as { DYNO: string }).DYNO);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect([...dynos].sort()).toEqual(["web.1", "web.2"]);
  });

  it("refuses to scale a type the app does not have, and a negative or non-number count", async () => {
    const unknown = await hop(["ps:scale", "clock=1", "--app", app]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/no process type "clock"/);
    expect((await hop(["ps:scale", "web=-1", "--app", app])).exitCode).toBe(2);
    expect(formation(await processes(app))).toEqual(["web.1", "web.2"]);
  });

  it("keeps the scale across a new release", async () => {
    const r = await hop(["config:set", "GREETING=hi", "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const ps = await processes(app);
    expect(formation(ps)).toEqual(["web.1", "web.2"]);
    expect(new Set(ps.map((p) => p.release))).toEqual(new Set([2]));
    expect((await getThroughRouter(url)).body).toBe(`hi from ${app} (v1)`);
  });

  it("ps:restart TYPE replaces only that type's instances", async () => {
    await hop(["ps:scale", "worker=1", "--app", app]);
    const before = await hop(["ps", "--app", app, "--json"]);
    const workerBefore = (
      JSON.parse(before.stdout) as { processes: (Proc & { container: string })[] }
    ).processes.find((p) => p.type === "worker")!.container;
    const r = await hop(["ps:restart", "web", "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const after = (
      JSON.parse((await hop(["ps", "--app", app, "--json"])).stdout) as {
        processes: (Proc & { container: string })[];
      }
    ).processes;
    expect(after.find((p) => p.type === "worker")!.container).toBe(workerBefore);
    expect(formation(after)).toEqual(["web.1", "web.2", "worker.1"]);
  });

  it("rollback returns to the previous release's image and config, as a new release", async () => {
    const toml = join(dir, "hop3.toml");
    writeFileSync(
      toml,
      readFileSync(toml, "utf8").replace('GREETER_VERSION = "v1"', 'GREETER_VERSION = "v2"'),
    );
    const deployed = await hop(["deploy", dir, "--app", app]);
    expect(deployed.exitCode, deployed.stdout + deployed.stderr).toBe(0);
    expect((await getThroughRouter(url)).body).toBe(`hi from ${app} (v2)`);

    const back = await hop(["rollback", "--app", app]);
    expect(back.exitCode, back.stdout + back.stderr).toBe(0);
    expect((await getThroughRouter(url)).body).toBe(`hi from ${app} (v1)`);
    const { releases } = JSON.parse((await hop(["releases", "--app", app, "--json"])).stdout) as {
      releases: { number: number; status: string; description: string }[];
    };
    expect(releases[0]).toMatchObject({ number: 4, status: "active", description: "Rollback to v2" });
    expect(formation(await processes(app))).toEqual(["web.1", "web.2", "worker.1"]);

    const forward = await hop(["rollback", "v3", "--app", app]);
    expect(forward.exitCode, forward.stdout + forward.stderr).toBe(0);
    expect((await getThroughRouter(url)).body).toBe(`hi from ${app} (v2)`);
  });

  it("refuses to roll back to a release that does not exist", async () => {
    const r = await hop(["rollback", "v99", "--app", app]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/no release v99/);
  });
});
