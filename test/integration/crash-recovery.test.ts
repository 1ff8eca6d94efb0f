/**
 * A crash of hop3-server in the middle of a deploy leaves the previous release serving; the restarted server
 * marks the interrupted release failed, removes what it had started, and does not restart the healthy app.
 * Also: a killed app container is started again (Podman supervisor's watchdog, or systemd with quadlets), and
 * a release's SBOM job cut by a kill right after its deploy answered is run again by the restarted server.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateCycloneDx } from "../sbom-schemas.js";
import {
  cliOutput,
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop,
  podmanAsHop3,
  repoRoot,
  uniqueApp,
} from "./helpers.js";

const root = process.env.HOP3_ROOT ?? "/var/lib/hop3";

function serverPid(): number {
  return Number(readFileSync(join(root, "run", "server.pid"), "utf8").trim());
}

async function restartServer(): Promise<void> {
  // what an operator (or systemd) does: start it again; install.sh starts a server that is not running
  const r = await execa(join(repoRoot, "install.sh"), ["--no-sample"], { reject: false, all: true });
  if (r.exitCode !== 0) throw new Error(`install.sh could not start the server again:\n${r.all}`);
}

async function webContainers(app: string): Promise<{ name: string; release: string; state: string }[]> {
  const out = await podmanAsHop3([
    "ps",
    "-a",
    "--filter",
    `label=io.hop3.app=${app}`,
    "--format",
    '{{.Names}} {{index .Labels "io.hop3.release"}} {{.State}}',
  ]);
  return out
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [name, release, state] = l.split(" ");
      return { name: name!, release: release!, state: state! };
    });
}

describe("crash safety and self-healing", () => {
  const app = uniqueApp("it-crash");
  let url = "";

  beforeAll(async () => {
    const r = await hop(["deploy", fixture("greeter"), "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    url = deployedUrl(r.stdout);
  });

  afterAll(async () => {
    await destroyQuietly(app);
  });

  it("a server killed during a deploy leaves the previous release serving, and its restart cleans up", async () => {
    const before = await webContainers(app);
    expect(before.map((c) => c.release)).toEqual(["1"]);
    // a deploy whose new instance never becomes healthy gives a wide window to kill the server in
    const deploy = execa(
      process.execPath,
      [join(repoRoot, "dist/cli/main.js"), "deploy", fixture("never-ready"), "--app", app],
      {
        reject: false,
        all: true,
      },
    );
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !(await webContainers(app)).some((c) => c.release === "2")) {
      await new Promise((r) => setTimeout(r, 200));
    }
    process.kill(serverPid(), "SIGKILL");
    const cut = await deploy;
    expect(cut.exitCode).not.toBe(0);
    expect((await getThroughRouter(url)).body).toBe(`hello from ${app} (v1)`);

    await restartServer();
    const { releases } = JSON.parse((await hop(["releases", "--app", app, "--json"])).stdout) as {
      releases: { number: number; status: string; error: string | null }[];
    };
    expect(releases[0]).toMatchObject({ number: 2, status: "failed" });
    expect(releases[0]?.error).toMatch(/interrupted/);
    const after = await webContainers(app);
    expect(after.map((c) => c.release)).toEqual(["1"]);
    // the healthy instance was not restarted: same container
    expect(after[0]?.name).toBe(before[0]?.name);
    expect((await getThroughRouter(url)).body).toBe(`hello from ${app} (v1)`);
  });

  it("a server killed during a backup leaves no backup listed, and its restart clears the half-written one", async () => {
    const backup = execa(
      process.execPath,
      [join(repoRoot, "dist/cli/main.js"), "backup:create", "--app", app],
      { reject: false, all: true, env: { NO_COLOR: "1" } },
    );
    // the image's save is the longest step: kill while it writes into the backup's temporary directory
    await new Promise<void>((resolve) => {
      backup.all?.on("data", (d: Buffer) => {
        if (d.toString().includes("Saving the release's image")) resolve();
      });
      void backup.then(() => resolve());
    });
    process.kill(serverPid(), "SIGKILL");
    const cut = await backup;
    expect(cut.exitCode, cut.all).not.toBe(0);
    expect(cut.all).toContain("Saving the release's image");
    expect(existsSync(join(root, "backups", ".tmp"))).toBe(true);
    expect((await getThroughRouter(url)).body).toBe(`hello from ${app} (v1)`);

    await restartServer();
    const listed = async () =>
      (
        JSON.parse((await hop(["backup:list", "--app", app, "--json"])).stdout) as {
          backups: { id: string }[];
        }
      ).backups;
    expect(await listed()).toEqual([]);
    expect(existsSync(join(root, "backups", ".tmp"))).toBe(false);
    // and the next backup is whole
    const again = await hop(["backup:create", "--app", app]);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    const [whole] = await listed();
    expect(whole).toBeDefined();
    const show = await hop(["backup:show", whole!.id]);
    expect(show.exitCode, show.stdout + show.stderr).toBe(0);
    await hop(["backup:destroy", whole!.id, "--confirm", whole!.id]);
  }, 600_000);

  it("a killed app container is started again within seconds", async () => {
    const [web] = await webContainers(app);
    await podmanAsHop3(["kill", web!.name]);
    const t0 = Date.now();
    let body = "";
    while (Date.now() - t0 < 30_000) {
      body = await getThroughRouter(url)
        .then((r) => (r.status === 200 ? r.body : ""))
        .catch(() => "");
      if (body) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(body).toBe(`hello from ${app} (v1)`);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
});

describe("a restore cut by a server kill", () => {
  const app = uniqueApp("it-crash-rs");
  const copy = uniqueApp("it-crash-rs-copy");
  let url = "";
  let copyUrl = "";
  let id = "";
  const blobSum = async (a: string) => {
    const r = await hop(["run", "--app", a, "sha256sum", "/data/blob"]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    return r.stdout.trim().split(/\s+/)[0];
  };

  // the server runs this checkout (it records restores in its store), then an app whose persist volume holds
  // 40 MB of random bytes: its restore spends seconds on the volume, a wide window to kill the server in
  beforeAll(async () => {
    await restartServer();
    const r = await hop(["deploy", fixture("volumes"), "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    url = deployedUrl(r.stdout);
    copyUrl = url.replace(`//${app}.`, `//${copy}.`);
    const w = await hop([
      "run",
      "--app",
      app,
      "sh",
      "-c",
      "head -c 40000000 /dev/urandom > /data/blob && echo kept > /data/note",
    ]);
    expect(w.exitCode, cliOutput(w)).toBe(0);
    const b = await hop(["backup:create", "--app", app, "--json"]);
    expect(b.exitCode, cliOutput(b)).toBe(0);
    id = (JSON.parse(b.stdout) as { id: string }).id;
  }, 900_000);

  afterAll(async () => {
    await destroyQuietly(copy);
    await destroyQuietly(app);
    if (id) await hop(["backup:destroy", id, "--confirm", id]);
  });

  it("leaves the half-restored app stopped, unrouted and marked failed after the restart; the backup is intact and restores again", async () => {
    const restore = execa(
      process.execPath,
      [join(repoRoot, "dist/cli/main.js"), "backup:restore", id, "--to", copy],
      { reject: false, all: true, env: { NO_COLOR: "1" } },
    );
    await new Promise<void>((resolve) => {
      restore.all?.on("data", (d: Buffer) => {
        if (d.toString().includes("Restoring the volumes")) resolve();
      });
      void restore.then(() => resolve());
    });
    process.kill(serverPid(), "SIGKILL");
    const cut = await restore;
    expect(cut.exitCode, cut.all).not.toBe(0);
    expect(cut.all).toContain("Restoring the volumes");
    expect(cut.all).not.toContain(`Restored ${id}`);

    await restartServer();
    // marked failed, with the reason and the way out, in `hop apps`, `hop info` and `hop releases`
    type Restore = { backup: string; status: string; step: string | null; error: string | null };
    const apps = JSON.parse((await hop(["apps", "--json"])).stdout) as {
      apps: { name: string; state: string; restore?: Restore }[];
    };
    const half = apps.apps.find((a) => a.name === copy);
    expect(half, JSON.stringify(apps)).toMatchObject({
      state: "restore-failed",
      restore: { backup: id, status: "failed" },
    });
    expect(half?.restore?.error).toMatch(/^interrupted: the server stopped during the restore of backup /);
    expect(half?.restore?.error).toContain(`hop backup:restore ${id} --to ${copy} --force`);
    const human = await hop(["apps"]);
    expect(human.stderr).toContain(`${copy}: restore of backup ${id} FAILED: interrupted`);
    const info = await hop(["info", copy]);
    expect(info.stdout).toMatch(/Restore:\s+FAILED/);
    const releases = JSON.parse((await hop(["releases", "--app", copy, "--json"])).stdout) as {
      releases: { status: string }[];
      restore?: Restore;
    };
    expect(releases.restore).toMatchObject({ backup: id, status: "failed" });
    expect(releases.releases.filter((r) => r.status === "active")).toEqual([]);
    // not serving: no running container of it, nothing of it through the router
    expect((await webContainers(copy)).filter((c) => c.state === "running")).toEqual([]);
    const routed = await getThroughRouter(copyUrl);
    expect(routed.status, routed.body).not.toBe(200);
    expect(routed.body).not.toContain("data=");

    // the backup was only read: listed, every checksum verified; the original app still serves
    const show = await hop(["backup:show", id]);
    expect(show.exitCode, cliOutput(show)).toBe(0);
    expect((await getThroughRouter(url)).body).toContain("data=kept");

    // the half-restored app is kept (its data is the operator's to drop): a plain restore onto it is refused,
    // the one the message gives restores it whole and clears the mark
    const refused = await hop(["backup:restore", id, "--to", copy]);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain("--force");
    const again = await hop(["backup:restore", id, "--to", copy, "--force"]);
    expect(again.exitCode, cliOutput(again)).toBe(0);
    const after = JSON.parse((await hop(["apps", "--json"])).stdout) as {
      apps: { name: string; state: string; restore?: Restore }[];
    };
    const whole = after.apps.find((a) => a.name === copy);
    expect(whole?.state).toBe("running");
    expect(whole?.restore).toBeUndefined();
    expect((await getThroughRouter(copyUrl)).body).toContain("data=kept");
    expect(await blobSum(copy)).toBe(await blobSum(app));
  }, 900_000);
});

describe("an SBOM job cut by a server kill", () => {
  const apps: string[] = [];
  // the server runs this checkout (install.sh installs and restarts only when the code changed)
  beforeAll(restartServer, 600_000);
  afterAll(async () => {
    for (const a of apps) await destroyQuietly(a);
  });

  it("is queued again by the restarted server, which writes a schema-valid CycloneDX SBOM", async () => {
    // The job starts after the deploy answered and reads the whole image (seconds): kill the server as soon as
    // the deploy returns. Its marker (v1.pending.json) is written before the answer. Should the SBOM be
    // written before the kill landed, the case would prove nothing: try again with a fresh app (a first
    // release reads its image; it cannot copy another release's SBOM), and fail if it never lands in time.
    let app = "";
    for (let attempt = 1; attempt <= 3 && !app; attempt++) {
      const candidate = uniqueApp("it-crash-sbom");
      apps.push(candidate);
      const r = await hop(["deploy", fixture("greeter"), "--app", candidate]);
      process.kill(serverPid(), "SIGKILL");
      expect(r.exitCode, cliOutput(r)).toBe(0);
      const dir = join(root, "sbom", candidate);
      const written = existsSync(join(dir, "v1.cdx.json"));
      // the job was marked before the deploy answered, whether it was waiting or running
      if (!written) expect(existsSync(join(dir, "v1.pending.json"))).toBe(true);
      await restartServer();
      if (!written) app = candidate;
    }
    expect(app, "the SBOM was written before every kill: the case could not be exercised").not.toBe("");

    // the restarted server queued the job again: `hop sbom` answers "being generated", then the document
    const until = Date.now() + 240_000;
    let doc: unknown;
    for (;;) {
      const r = await hop(["sbom", "-a", app, "--release", "v1"]);
      if (r.exitCode === 0) {
        doc = JSON.parse(r.stdout);
        break;
      }
      // anything but "being generated" (failed, "the server stopped while generating it") is the bug
      expect(r.stderr, cliOutput(r)).toMatch(/being generated/);
      expect(Date.now(), `no SBOM within 240 s: ${cliOutput(r)}`).toBeLessThan(until);
      await new Promise((res) => setTimeout(res, 2000));
    }
    expect(validateCycloneDx(doc), JSON.stringify(validateCycloneDx.errors?.slice(0, 5))).toBe(true);
    const bom = doc as {
      components: { name: string }[];
      metadata: { component: { name: string; version: string } };
    };
    expect(bom.metadata.component).toMatchObject({ name: app, version: "v1" });
    // the greeter's image is Debian with python3: its packages were read from the image
    expect(bom.components.map((c) => c.name)).toEqual(expect.arrayContaining(["libc6", "python3"]));
    expect(existsSync(join(root, "sbom", app, "v1.pending.json"))).toBe(false);
    // and provenance, signed after the SBOM, verifies
    const verify = await hop(["sbom:verify", "-a", app, "--release", "v1"]);
    expect(verify.exitCode, cliOutput(verify)).toBe(0);
    const { releases } = JSON.parse((await hop(["releases", "--app", app, "--json"])).stdout) as {
      releases: { number: number; components: number | null; sbom: { state: string } }[];
    };
    expect(releases[0]).toMatchObject({ number: 1, sbom: { state: "ready" } });
    expect(releases[0]?.components).toBe(bom.components.length);
  }, 900_000);
});
