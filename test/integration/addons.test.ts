/**
 * Addons on real Podman (issue 10): an app declares Postgres and Redis in hop3.toml; its release phase
 * creates a table through DATABASE_URL; its web process writes and reads rows and a key; redeploys and
 * scaling keep the data; pg:psql, pg:dump and pg:restore stream through the attach channel; a second Redis
 * gets a prefix; and another app, not attached, cannot reach the database by name or by address.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import {
  cliOutput,
  cliPath,
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop,
  podmanAsHop3,
  uniqueApp,
} from "./helpers.js";

// first deploy builds an image with apt-get and may build the addon images: minutes on a busy 2-core host
describe("addons", () => {
  const app = uniqueApp("it-addons");
  const other = uniqueApp("it-addons-b");
  const broken = uniqueApp("it-addons-fail");
  const pg = `${app}-postgres`;
  const redis = `${app}-redis`;
  const second = `${app}-c2`;
  let url = "";
  const tmp = mkdtempSync(join(tmpdir(), "hop3-it-addons-"));

  afterAll(async () => {
    await destroyQuietly(app);
    await destroyQuietly(other);
    await destroyQuietly(broken);
    for (const a of [pg, redis, second]) await hop(["addons:destroy", a, "--confirm", a]);
    rmSync(tmp, { recursive: true, force: true });
  });

  const read = async () => (await getThroughRouter(url, "/read")).body.trim();
  /**
   * After a change of instances, waits until the router answers again and every instance reaches the databases:
   * several reads in a row must succeed (the router spreads them over the instances). Reads only: writes are not
   * retried. In a full suite run a new instance once needed more than 10 s for its first query (suspected:
   * aardvark-dns answering late for a container that just joined the network; see the closing note), which a
   * single GET of / could not see. An instance that never reaches them still fails the test after a minute.
   */
  const settled = async () => {
    let inARow = 0;
    for (let i = 0; i < 60 && inARow < 4; i++) {
      const ok = await getThroughRouter(url, "/read").then(
        (r) => r.status === 200,
        () => false,
      );
      inARow = ok ? inARow + 1 : 0;
      if (!ok) await new Promise((r) => setTimeout(r, 1000));
    }
  };

  it("creates and attaches the hop3.toml [[addons]] at the first deploy; the release phase uses them", async () => {
    const r = await hop(["deploy", fixture("addons-app"), "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`Creating the PostgreSQL addon ${pg}`);
    expect(r.stdout).toContain("Running the release phase");
    // the addons' images were readied alongside the app's build (started before it, whatever their state)
    const preparing = r.stdout.indexOf(
      "postgres image | preparing the PostgreSQL 15 image alongside the build",
    );
    expect(preparing, r.stdout).toBeGreaterThanOrEqual(0);
    expect(preparing).toBeLessThan(r.stdout.indexOf("Building the image"));
    expect(r.stdout).toContain("redis image | preparing the Redis 7 image alongside the build");
    expect(r.stdout).toMatch(
      /postgres image \| localhost\/hop3\/addon-postgres:15-\S+ ready|postgres image \| .*postgres:15 ready/,
    );
    url = deployedUrl(r.stdout);
    // [env] DB_HOST = { from = "postgres", key = "PGHOST" }
    expect(await read()).toBe(`rows= last= host=${pg}`);
    const list = await hop(["addons", "-a", app, "--json"]);
    expect(list.exitCode, list.stderr).toBe(0);
    const addons = JSON.parse(list.stdout) as {
      name: string;
      type: string;
      version: string;
      state: string;
    }[];
    expect(addons.map((a) => [a.name, a.type, a.version, a.state])).toEqual([
      [pg, "postgres", "15", "running"],
      [redis, "redis", "7", "running"],
    ]);
    // never published on the host; data in a volume labelled with the addon
    const ports = await podmanAsHop3(["port", `hop3-addon-${pg}`]);
    expect(ports.trim()).toBe("");
    const labels = JSON.parse(
      await podmanAsHop3(["volume", "inspect", `hop3-addon-${pg}-data`, "--format", "{{json .Labels}}"]),
    );
    expect(labels["io.hop3.addon"]).toBe(pg);
  }, 1_200_000);

  it("writes and reads through DATABASE_URL and REDIS_URL; redeploy and scale keep the data", async () => {
    expect((await getThroughRouter(url, "/write?v=alpha")).body).toBe("written");
    expect(await read()).toBe(`rows=alpha last=alpha host=${pg}`);
    const again = await hop(["deploy", fixture("addons-app"), "--app", app]);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).not.toContain("Creating the PostgreSQL addon");
    expect(await read()).toBe(`rows=alpha last=alpha host=${pg}`);
    const scale = await hop(["ps:scale", "web=2", "--app", app]);
    expect(scale.exitCode, scale.stdout + scale.stderr).toBe(0);
    await settled();
    expect((await getThroughRouter(url, "/write?v=beta")).body).toBe("written");
    for (let i = 0; i < 4; i++) expect(await read()).toBe(`rows=alpha,beta last=beta host=${pg}`);
  }, 900_000);

  it("pg:psql, pg:info, pg:dump and pg:restore work through the CLI, streamed", async () => {
    const q = await hop(["pg:psql", "--app", app], { input: "SELECT count(*) FROM notes;\n" });
    expect(q.exitCode, q.stderr).toBe(0);
    expect(q.stdout).toMatch(/^\s+2$/m);
    const info = await hop(["pg:info", pg, "--json"]);
    expect(info.exitCode, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ name: pg, extensions: "pg_trgm" });
    // a dump to a file, through a shell redirection as users type it
    const file = join(tmp, "notes.dump");
    const dump = await execa("sh", ["-c", `"${process.execPath}" "${cliPath}" pg:dump ${pg} > "${file}"`], {
      reject: false,
    });
    expect(dump.exitCode, dump.stderr).toBe(0);
    expect(readFileSync(file).subarray(0, 5).toString()).toBe("PGDMP");
    expect(statSync(file).size).toBeGreaterThan(1000);
    await hop(["pg:psql", pg], { input: "DELETE FROM notes;\n" });
    expect(await read()).toBe(`rows= last=beta host=${pg}`);
    const refused = await hop(["pg:restore", pg], { input: "" });
    expect(refused.exitCode).toBe(2);
    const restore = await execa(
      "sh",
      ["-c", `"${process.execPath}" "${cliPath}" pg:restore ${pg} --confirm ${pg} < "${file}"`],
      { reject: false },
    );
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(await read()).toBe(`rows=alpha,beta last=beta host=${pg}`);
    const cli = await hop(["redis:cli", redis, "GET", "last"]);
    expect(cli.stdout.trim()).toBe("beta");
  }, 600_000);

  it("addons:expose publishes on 127.0.0.1 only; unexpose takes it away; the data and the app stay", async () => {
    // Redis answers any client at once (+PONG, or -NOAUTH without the password): proof enough of a listener
    const ping = (port: number) =>
      new Promise<string>((resolve, reject) => {
        const sock = connect({ host: "127.0.0.1", port }, () => sock.write("PING\r\n"));
        sock.setTimeout(5000, () => sock.destroy(new Error("timeout")));
        sock.once("data", (d) => {
          resolve(d.toString());
          sock.end();
        });
        sock.once("error", reject);
      });
    const port = 20000 + Math.floor(Math.random() * 20000);
    const bad = await hop(["addons:expose", redis, "--port", "80"]);
    expect(bad.exitCode, bad.stdout + bad.stderr).toBe(2);
    expect(bad.stderr).toMatch(/1024 to 65535/);
    const r = await hop(["addons:expose", redis, "--port", String(port)]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`127.0.0.1:${port}`);
    expect(await ping(port)).toMatch(/^(\+PONG|-NOAUTH)/);
    const published = await podmanAsHop3(["port", `hop3-addon-${redis}`]);
    expect(published.trim()).toBe(`6379/tcp -> 127.0.0.1:${port}`);
    const info = await hop(["addons:info", redis, "--json"]);
    expect(JSON.parse(info.stdout)).toMatchObject({ exposed: `127.0.0.1:${port}` });
    // the restart kept the data, and the app reaches the addon again
    await settled();
    expect((await hop(["redis:cli", redis, "GET", "last"])).stdout.trim()).toBe("beta");
    const un = await hop(["addons:unexpose", redis]);
    expect(un.exitCode, un.stdout + un.stderr).toBe(0);
    await expect(ping(port)).rejects.toThrow(/ECONNREFUSED|timeout/);
    expect((await podmanAsHop3(["port", `hop3-addon-${redis}`])).trim()).toBe("");
    await settled();
    expect((await getThroughRouter(url, "/read")).status).toBe(200);
  }, 600_000);

  it("gives a second addon of the same type its name as prefix; detaching takes the variables away", async () => {
    const created = await hop(["addons:create", "redis", second]);
    expect(created.exitCode, created.stdout + created.stderr).toBe(0);
    const attach = await hop(["addons:attach", second, "--app", app]);
    expect(attach.exitCode, attach.stdout + attach.stderr).toBe(0);
    const prefix = second.toUpperCase().replace(/-/g, "_");
    expect(attach.stdout).toContain(`${prefix}_REDIS_URL`);
    const env = await hop(["run", "--app", app, "env"]);
    expect(env.stdout).toContain(`${prefix}_REDIS_URL=redis://default:`);
    expect(env.stdout).toMatch(new RegExp(`^REDIS_URL=redis://default:[A-Za-z0-9]+@${redis}:6379/0$`, "m"));
    const releases = await hop(["releases", "--app", app]);
    expect(releases.stdout).toContain(`Attach ${second}`);
    // the data is never removed while attached, nor without confirmation
    const attached = await hop(["addons:destroy", second, "--confirm", second]);
    expect(attached.exitCode).toBe(6);
    expect(attached.stdout + attached.stderr).toContain(`hop addons:detach ${second} -a ${app}`);
    const detach = await hop(["addons:detach", second, "--app", app]);
    expect(detach.exitCode, detach.stdout + detach.stderr).toBe(0);
    const after = await hop(["run", "--app", app, "env"]);
    expect(after.stdout).not.toContain(`${prefix}_REDIS_URL`);
    const unconfirmed = await hop(["addons:destroy", second]);
    expect(unconfirmed.exitCode).toBe(2);
    const destroyed = await hop(["addons:destroy", second, "--confirm", second]);
    expect(destroyed.exitCode, destroyed.stdout + destroyed.stderr).toBe(0);
    expect(await podmanAsHop3(["volume", "ls", "--format", "{{.Name}}"])).not.toContain(
      `hop3-addon-${second}-`,
    );
    expect(await read()).toBe(`rows=alpha,beta last=beta host=${pg}`);
  }, 600_000);

  it("keeps another app out: not by name, not by address", async () => {
    // app B runs the same image (it has psql and python), without any addon
    const releases = JSON.parse((await hop(["releases", "--app", app, "--json"])).stdout) as {
      releases: { image: string; current: boolean }[];
    };
    const image = releases.releases.find((r) => r.current)!.image;
    const b = await hop(["deploy", "--image", image, "--app", other]);
    expect(b.exitCode, b.stdout + b.stderr).toBe(0);
    const addresses = JSON.parse(
      await podmanAsHop3(["inspect", `hop3-addon-${pg}`, "--format", "{{json .NetworkSettings.Networks}}"]),
    ) as Record<string, { IPAddress: string }>;
    const ips = Object.values(addresses).map((n) => n.IPAddress);
    expect(ips.length).toBe(2); // its own network and the app's
    const script = [
      "import socket, sys",
      "for host in sys.argv[1:]:",
      "    try:",
      "        socket.create_connection((host, 5432), 3).close(); print(host, 'OPEN')",
      "    except Exception as e:",
      "        print(host, type(e).__name__)",
    ].join("\n");
    const probe = await hop(["run", "--app", other, "python3", "-c", script, pg, ...ips]);
    expect(probe.exitCode, probe.stderr).toBe(0);
    expect(probe.stdout).not.toContain("OPEN");
    // the same probe from the attached app reaches it (the probe works)
    const mine = await hop(["run", "--app", app, "python3", "-c", script, pg]);
    expect(mine.stdout).toContain(`${pg} OPEN`);
  }, 600_000);

  it("says clearly what is wrong", async () => {
    const unknown = await hop(["addons:create", "mongodb"]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('unknown addon type "mongodb"');
    const noApp = await hop(["addons:attach", pg, "--app", "it-no-such-app"]);
    expect(noApp.exitCode).toBe(3);
    expect(noApp.stdout + noApp.stderr).toContain("it-no-such-app");
    const noAddon = await hop(["addons:info", "it-no-such-addon"]);
    expect(noAddon.exitCode).toBe(3);
    const dumpMissing = await hop(["pg:dump", "it-no-such-addon"]);
    expect(dumpMissing.exitCode).toBe(3);
    const wrongType = await hop(["redis:cli", pg, "PING"]);
    expect(wrongType.exitCode).toBe(2);
    expect(wrongType.stderr).toContain("is a postgres addon");
  });

  it("a build that fails creates no addon; a declaration of the wrong type is refused before the build", async () => {
    const failing = join(tmp, "failing");
    mkdirSync(failing);
    writeFileSync(join(failing, "hop3.toml"), `[metadata]\nid = "${broken}"\n\n[[addons]]\ntype = "redis"\n`);
    writeFileSync(
      join(failing, "Containerfile"),
      "FROM localhost/hop3/base:bookworm\nRUN echo 'it-addons: this build fails on purpose' && false\n",
    );
    const r = await hop(["deploy", failing, "--app", broken]);
    expect(r.exitCode, cliOutput(r)).not.toBe(0);
    expect(cliOutput(r)).toContain("it-addons: this build fails on purpose");
    expect(cliOutput(r)).toContain("redis image | preparing the Redis 7 image alongside the build");
    const list = await hop(["addons", "--json"]);
    expect(list.exitCode, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((a) => a.name)).not.toContain(
      `${broken}-redis`,
    );
    expect(await podmanAsHop3(["ps", "-a", "--format", "{{.Names}}"])).not.toContain(
      `hop3-addon-${broken}-redis`,
    );

    // an existing addon of another type under the declared name: refused before anything is built
    writeFileSync(
      join(failing, "hop3.toml"),
      `[metadata]\nid = "${broken}"\n\n[[addons]]\ntype = "redis"\nname = "${pg}"\n`,
    );
    const wrong = await hop(["deploy", failing, "--app", broken]);
    expect(wrong.exitCode, cliOutput(wrong)).not.toBe(0);
    expect(cliOutput(wrong)).toContain(
      `hop3.toml declares a redis addon ${pg}, but ${pg} is a postgres addon`,
    );
    expect(cliOutput(wrong)).not.toContain("Building the image");
    expect(cliOutput(wrong)).not.toContain("this build fails on purpose");
  }, 600_000);

  it("leaves the addons and their data when the app is destroyed", async () => {
    const d = await hop(["destroy", "--app", app, "--confirm", app]);
    expect(d.exitCode, d.stdout + d.stderr).toBe(0);
    const info = await hop(["addons:info", pg, "--json"]);
    expect(info.exitCode, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ state: "running", apps: [] });
    const q = await hop(["pg:psql", pg], { input: "SELECT count(*) FROM notes;\n" });
    expect(q.stdout).toMatch(/^\s+2$/m);
  });

  it("a database that does not start: a clear error with its own words, fast; the addon and its data stay", async () => {
    // the cluster's control file gone: Postgres refuses to start, and keeps refusing under the restart policy
    await podmanAsHop3(["exec", `hop3-addon-${pg}`, "rm", "/var/lib/postgresql/data/global/pg_control"]);
    const r = await hop(["addons:expose", pg, "--port", String(20000 + Math.floor(Math.random() * 20000))]);
    expect(r.exitCode, cliOutput(r)).not.toBe(0);
    expect(cliOutput(r)).toMatch(
      /PostgreSQL \(.*\) exited (\(code \d+\)|and was restarted) before it was ready/,
    );
    expect(cliOutput(r)).toContain("pg_control");
    // each log line once, however many times the server failed
    const lines = cliOutput(r)
      .split("\n")
      .filter((l) => l.includes("could not open file"));
    expect(lines.length).toBe(1);
    const info = await hop(["addons:info", pg, "--json"]);
    expect(info.exitCode, cliOutput(info)).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ name: pg });
    expect(await podmanAsHop3(["volume", "exists", `hop3-addon-${pg}-data`]).then(() => true)).toBe(true);
  }, 300_000);
});
