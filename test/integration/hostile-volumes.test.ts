/**
 * Hostile bind volumes (issue 9): an app tries to get the platform's state directory mounted by making a
 * link where a bind source is, then has its container killed so that a restart Hop3 does not drive (the
 * watchdog; systemd or conmon elsewhere) mounts it. Nested sources, which made that possible, are refused
 * before the build; the attack from inside the container then finds nothing to swap, and after the restart
 * the container sees its own directory only, and the other apps still answer.
 */
import { cpSync, lstatSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cliOutput,
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop,
  podmanAsHop3,
  uniqueApp,
} from "./helpers.js";

const stateDir = process.env.HOP3_TEST_SERVER_ROOT ?? "/var/lib/hop3";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The web container of an app (one instance). */
async function webContainer(app: string): Promise<string> {
  const out = await podmanAsHop3([
    "ps",
    "--filter",
    `label=io.hop3.app=${app}`,
    "--filter",
    "label=io.hop3.process=web",
    "--format",
    "{{.ID}}",
  ]);
  const id = out.split("\n").find(Boolean);
  if (!id) throw new Error(`no running web container for ${app}`);
  return id;
}

describe("bind volumes cannot be turned into a way to the platform's files", () => {
  const app = uniqueApp("it-hostile-vol");
  const bystander = uniqueApp("it-hostile-by");
  let url = "";
  let bystanderUrl = "";
  const secretKey = readFileSync(join(stateDir, "secret.key"));

  beforeAll(async () => {
    const r = await hop(["deploy", fixture("volumes"), "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    url = deployedUrl(r.stdout);
    const b = await hop(["deploy", fixture("volumes"), "--app", bystander]);
    expect(b.exitCode, cliOutput(b)).toBe(0);
    bystanderUrl = deployedUrl(b.stdout);
  }, 900_000);

  afterAll(async () => {
    await destroyQuietly(app);
    await destroyQuietly(bystander);
  });

  /** Deploys the fixture with an extra hop3.toml; answers the refused deploy's output. */
  async function refused(extraToml: string): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), "hop3-it-hvol-"));
    try {
      cpSync(fixture("volumes"), dir, { recursive: true });
      writeFileSync(join(dir, "hop3.toml"), readFileSync(join(dir, "hop3.toml"), "utf8") + extraToml);
      const r = await hop(["deploy", dir, "--app", app]);
      expect(r.exitCode, cliOutput(r)).not.toBe(0);
      expect(cliOutput(r)).not.toContain("Building the image");
      return cliOutput(r);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("refuses nested bind sources before the build, naming both entries", async () => {
    const out = await refused('\n[[volumes]]\ntype = "bind"\nsource = "uploads/inner"\ntarget = "/inner"\n');
    expect(out).toMatch(
      /\[\[volumes\]\] #3 \(\/uploads, source "uploads"\) holds #4 \(\/inner, source "uploads\/inner"\): bind sources must not nest/,
    );
    const deep = await refused('\n[[volumes]]\ntype = "bind"\nsource = "files/inner"\ntarget = "/inner"\n');
    expect(deep).toContain("must be one directory directly in the app's data directory");
    expect((await getThroughRouter(url)).body).toMatch(/^data=/);
  });

  it("an app that makes links in its bind directory and is killed gets only that directory back", async () => {
    const before = await webContainer(app);
    // From inside, as the app's user and as the container's root: links to the state directory and the
    // host's root, and every way to put a link in place of the mount itself.
    const attack =
      "rm -rf /uploads; mv /uploads /moved; umount /uploads; rmdir /uploads; ln -sfn /etc /uploads; " +
      `ln -s ${stateDir} /uploads/state; ln -s / /uploads/hostroot; true`;
    await podmanAsHop3(["exec", before, "sh", "-c", attack]);
    await podmanAsHop3(["exec", "--user", "0", before, "sh", "-c", attack]);
    const started = (await podmanAsHop3(["inspect", "--format", "{{.State.StartedAt}}", before])).trim();
    await podmanAsHop3(["kill", before]);

    // the watchdog starts it again (a restart Hop3's deploy code does not drive)
    let restarted = false;
    for (let i = 0; i < 120 && !restarted; i++) {
      await sleep(1000);
      const state = (
        await podmanAsHop3(["inspect", "--format", "{{.State.Running}} {{.State.StartedAt}}", before]).catch(
          () => "",
        )
      ).trim();
      restarted = state.startsWith("true") && !state.endsWith(started);
    }
    expect(restarted, "the watchdog restarted the killed container").toBe(true);

    const mounts = JSON.parse(
      await podmanAsHop3(["inspect", "--format", "{{json .Mounts}}", before]),
    ) as Array<{ Source: string; Destination: string }>;
    const uploads = mounts.find((m) => m.Destination === "/uploads");
    expect(uploads?.Source).toBe(realpathSync(join(stateDir, "data", app, "uploads")));

    const look = await podmanAsHop3([
      "exec",
      "--user",
      "0",
      before,
      "sh",
      "-c",
      `cat /uploads/secret.key /uploads/state/secret.key /uploads/hostroot${stateDir}/secret.key 2>/dev/null; ls /uploads /uploads/state/ 2>&1; true`,
    ]);
    expect(Buffer.from(look, "utf8").includes(secretKey), "the restarted container reads secret.key").toBe(
      false,
    );
    expect(look).not.toMatch(/hop3\.db|admin-token|secret\.key/);
    // the attack did happen: the links the app made are there, in its own directory, and lead nowhere inside
    expect(lstatSync(join(stateDir, "data", app, "uploads", "state")).isSymbolicLink()).toBe(true);

    // serving again: the watchdog re-applies the routes after the restart (a route update by another test
    // while the container was down leaves the app out until then), so give it a few seconds
    let body = "";
    for (let i = 0; i < 30 && !/^data=/.test(body); i++) {
      if (i) await sleep(1000);
      body = (await getThroughRouter(url)).body;
    }
    expect(body).toMatch(/^data=/);
    expect((await getThroughRouter(bystanderUrl)).body).toMatch(/^data=/);
  });
});

describe("a persist volume name shared by two apps never mounts the other app's data", () => {
  // `hop3-APP-NAME`: app A's volume `data-x` and app `A-data`'s volume `x` have the same Podman name
  const attacker = uniqueApp("it-hvc");
  const victim = `${attacker}-data`;
  const dirs: string[] = [];

  afterAll(async () => {
    await destroyQuietly(attacker);
    await destroyQuietly(victim);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function withVolumeName(name: string): string {
    const dir = mkdtempSync(join(tmpdir(), "hop3-it-hvc-"));
    dirs.push(dir);
    cpSync(fixture("volumes"), dir, { recursive: true });
    const toml = readFileSync(join(dir, "hop3.toml"), "utf8");
    writeFileSync(join(dir, "hop3.toml"), toml.replace('name = "data"', `name = "${name}"`));
    return dir;
  }

  it("refuses to start the second app on the first one's volume; the first keeps its data and serves", async () => {
    const v = await hop(["deploy", withVolumeName("x"), "--app", victim]);
    expect(v.exitCode, cliOutput(v)).toBe(0);
    const victimUrl = deployedUrl(v.stdout);
    const volume = `hop3-${victim}-x`;
    expect(volume).toBe(`hop3-${attacker}-data-x`);
    const id = await webContainer(victim);
    await podmanAsHop3(["exec", id, "sh", "-c", "echo victim-secret > /data/note"]);
    expect((await getThroughRouter(victimUrl)).body).toContain("data=victim-secret");

    const a = await hop(["deploy", withVolumeName("data-x"), "--app", attacker]);
    expect(a.exitCode, cliOutput(a)).not.toBe(0);
    expect(cliOutput(a)).toContain(`the volume ${volume} (for /data) belongs to app ${victim}`);
    expect(cliOutput(a)).not.toContain("victim-secret");
    // no container of the attacker ever got the volume
    const users = await podmanAsHop3(["ps", "-a", "--filter", `volume=${volume}`, "--format", "{{.Labels}}"]);
    // (the victim's own name starts with the attacker's: match the whole label value)
    expect(users).not.toMatch(new RegExp(`io\\.hop3\\.app:${attacker}[\\s\\]]`));
    expect(users).toMatch(new RegExp(`io\\.hop3\\.app:${victim}[\\s\\]]`));
    expect((await getThroughRouter(victimUrl)).body).toContain("data=victim-secret");
  }, 900_000);
});
