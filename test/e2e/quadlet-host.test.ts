/**
 * The production path end to end, on a real systemd + rootless Podman 5 host (scripts/testhost):
 * install as the README says (`./install.sh` from a checkout, as root), then from outside: `git push` over SSH
 * deploys an app that answers through the router, systemd undoes `podman kill`, and a restart of the whole
 * host brings everything back with no command typed.
 *
 * Env: HOP3_E2E_KEEP=1 keeps the test host for inspection (scripts/testhost destroy NAME removes it).
 */
import { execSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunTestHosts, httpGet, REPO, TestHost, tail, testhost, waitFor } from "./testhost.js";

const cannot = canRunTestHosts();
const NAME = `hop3-e2e-${process.pid}`;
const DOMAIN = "hop3.localhost";
const APP = "pushed";
/** Shared with every test host: install.sh's debootstrap cache, so only the first run bootstraps bookworm. */
const CACHE = "/var/cache/hop3/testhost/hop3-cache";

describe.skipIf(cannot)("quadlet test host: install, git push, kill, reboot", () => {
  const host = new TestHost(NAME);
  let sshPort = 0;
  let httpPort = 0;
  let work = "";
  const timings: Record<string, number> = {};
  const t0 = Date.now();

  const answers = async (app: string) => {
    const r = await httpGet(httpPort, `${app}.${DOMAIN}`);
    return r.status === 200 && r.body.includes(`app=${app}`);
  };
  const appContainer = async (app: string) => {
    const r = await host.asHop3([
      "podman",
      "ps",
      "--filter",
      `label=io.hop3.app=${app}`,
      "--filter",
      "label=io.hop3.process=web",
      "--format",
      "{{.ID}} {{.Names}}",
    ]);
    const [id, name] = r.out.trim().split("\n")[0]?.split(" ") ?? [];
    if (!id || !name) throw new Error(`no running web container of ${app}`);
    return { id, name };
  };

  /** `systemctl --user is-active UNIT` of the hop3 user: "active", "inactive", "failed"... */
  const userUnitState = async (unit: string) =>
    (await host.asHop3(["systemctl", "--user", "is-active", unit], { allowFail: true })).out.trim();
  /** The hop3 user's loaded units matching a pattern, one per line (`systemctl --user list-units`). */
  const userUnits = async (pattern: string) =>
    (await host.asHop3(["systemctl", "--user", "list-units", "--no-legend", "--plain", pattern])).out;

  beforeAll(async () => {
    let t = Date.now();
    await testhost(["build"], { timeout: 900_000 });
    timings.image = (Date.now() - t) / 1000;
    t = Date.now();
    execSync(`mkdir -p ${CACHE}`);
    await testhost(
      ["create", NAME, "-p", "127.0.0.1::22", "-p", "127.0.0.1::80", "-v", `${CACHE}:/var/cache/hop3`],
      {
        timeout: 180_000,
      },
    );
    timings.boot = (Date.now() - t) / 1000;
    sshPort = await host.port(22);
    httpPort = await host.port(80);

    // The checkout as a user has it: tracked and new files of the working tree, with its node_modules
    // (npm ci needs the npm registry and, for better-sqlite3, a compiler; the README's flow is the same).
    t = Date.now();
    const listed = execSync("git ls-files -z --cached --others --exclude-standard", { cwd: REPO })
      .toString()
      .split("\0")
      .filter((f) => f && existsSync(join(REPO, f)) && !f.startsWith("dist/"));
    await host.copyIn([...listed, "node_modules"], "/root/hop3");
    timings.copy = (Date.now() - t) / 1000;

    t = Date.now();
    // nothing install.sh installs is in the image: apt-get brings podman and its network stack every run
    const install = await host.exec(["/root/hop3/install.sh"], { timeout: 900_000, allowFail: true });
    timings.install = (Date.now() - t) / 1000;
    if (install.code !== 0) {
      throw new Error(
        `./install.sh failed in the test host (exit ${install.code}):\n${tail(install.all, 80)}`,
      );
    }
  }, 1_200_000);

  afterAll(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    if (process.env.HOP3_E2E_KEEP === "1") {
      console.log(`kept test host ${NAME} (ssh 127.0.0.1:${sshPort}, http 127.0.0.1:${httpPort})`);
    } else {
      await testhost(["destroy", NAME]).catch((err) => console.error(String(err)));
    }
    timings.total = (Date.now() - t0) / 1000;
    console.log(`e2e timings (s): ${JSON.stringify(timings)}`);
  }, 120_000);

  it("runs the server under the quadlet supervisor", async () => {
    const r = await host.exec([
      "curl",
      "-fsS",
      "--unix-socket",
      "/var/lib/hop3/run/hop3.sock",
      "http://hop3/api/v1/info",
    ]);
    const info = JSON.parse(r.out) as { supervisor: string };
    expect(
      info.supervisor.startsWith("quadlet"),
      `the server chose "${info.supervisor}" on a systemd + podman 5 host; src/server/main.ts must use selectSupervisor()`,
    ).toBe(true);
    // it runs sandboxed (systemd/hop3-server.service), which works because Podman is the user's socket unit
    const sandbox = await host.exec([
      "systemctl",
      "show",
      "-p",
      "NoNewPrivileges,ProtectSystem,ProtectHome,User",
      "hop3-server",
    ]);
    expect(sandbox.out).toContain("NoNewPrivileges=yes");
    expect(sandbox.out).toContain("ProtectSystem=strict");
    expect(sandbox.out).toContain("User=hop3");
    const socket = await userUnitState("podman.socket");
    expect(socket, "the hop3 user's podman.socket").toBe("active");
  });

  it("serves the API over HTTPS with bearer tokens when HOP3_LISTEN is off loopback", async () => {
    // the documented way: the setting, then install.sh again (it makes a self-signed certificate)
    const again = await host.exec(["/root/hop3/install.sh", "--no-sample"], {
      env: { HOP3_LISTEN: "0.0.0.0:8443" },
      timeout: 300_000,
      allowFail: true,
    });
    expect(again.code, `install.sh with HOP3_LISTEN failed:\n${tail(again.all)}`).toBe(0);
    const config = JSON.parse((await host.exec(["cat", "/root/.config/hop3/config.json"])).out) as {
      url: string;
      ca?: string;
    };
    expect(config.url).toBe("https://127.0.0.1:8443");
    expect(config.ca).toBe("/etc/hop3/api-tls/cert.pem");
    // root's CLI now goes through TLS with the admin token (every later test uses it)
    const apps = await host.exec(["hop", "apps", "--json"], { allowFail: true });
    expect(apps.code, `hop apps over https failed:\n${tail(apps.all)}`).toBe(0);
    const untrusted = await host.exec(["curl", "-sS", "https://127.0.0.1:8443/api/v1/apps"], {
      allowFail: true,
    });
    expect(untrusted.code, "curl must not trust the self-signed certificate").not.toBe(0);
    const noToken = await host.exec(
      [
        "curl",
        "-sS",
        "--cacert",
        "/etc/hop3/api-tls/cert.pem",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "https://127.0.0.1:8443/api/v1/apps",
      ],
      { allowFail: true },
    );
    expect(noToken.out.trim()).toBe("401");
  }, 360_000);

  it("serves the sample install.sh deployed through the router", async () => {
    expect(await answers("hello"), "http://hello.hop3.localhost/ through the router").toBe(true);
  });

  it("deploys with git push over SSH from outside", async () => {
    work = mkdtempSync(join(tmpdir(), "hop3-e2e-"));
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(work, "key")]);
    await host.exec(["sh", "-c", "cat > /tmp/e2e.pub"], {
      input: readFileSync(join(work, "key.pub"), "utf8"),
    });
    await host.exec(["hop", "setup:ssh", "/tmp/e2e.pub"]);
    const src = join(work, "app");
    execSync(`cp -r ${join(REPO, "samples", "hello")} ${src}`);
    // a worker too, for the process formation test below
    writeFileSync(
      join(src, "Procfile"),
      // and a cron job that never comes due during the test (1 January, 03:00): the test starts its service
      "web: python3 /app/app.py\nworker: sh -c 'while true; do sleep 5; done'\n" +
        'cron: 0 3 1 1 * echo "tick from $APP"\n',
    );
    // and persistent data: a .volume quadlet
    writeFileSync(
      join(src, "hop3.toml"),
      `${readFileSync(join(src, "hop3.toml"), "utf8")}\n[[volumes]]\nname = "data"\ntarget = "/data"\n`,
    );
    const git = (args: string[]) =>
      execa("git", args, {
        cwd: src,
        all: true,
        reject: false,
        env: {
          GIT_SSH_COMMAND: `ssh -i ${join(work, "key")} -p ${sshPort} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o LogLevel=ERROR`,
          GIT_AUTHOR_NAME: "e2e",
          GIT_AUTHOR_EMAIL: "e2e@example.test",
          GIT_COMMITTER_NAME: "e2e",
          GIT_COMMITTER_EMAIL: "e2e@example.test",
        },
      });
    await git(["init", "-q", "-b", "main"]);
    await git(["add", "."]);
    await git(["commit", "-q", "-m", "e2e"]);
    const t = Date.now();
    const push = await git(["push", `ssh://hop3@127.0.0.1:${sshPort}/${APP}`, "main"]);
    timings.push = (Date.now() - t) / 1000;
    expect(push.exitCode, `git push failed:\n${tail(String(push.all))}`).toBe(0);
    expect(await answers(APP), `http://${APP}.${DOMAIN}/ after the push`).toBe(true);
    const units = await userUnits("hop3-*");
    expect(units, "the app's web instance is a systemd user unit").toMatch(
      new RegExp(`hop3-${APP}-web\\.1-\\S+\\.service\\s+loaded\\s+active\\s+running`),
    );
  }, 300_000);

  it("keeps apps apart on the systemd host too: neither app connects to the other's container, by address, name or published port", async () => {
    // issue 9: the attack of test/integration/isolation.test.ts, on the quadlet supervisor (Podman 5 and
    // netavark of Debian 13), between the sample install.sh deployed and the app pushed above
    const connectFrom = async (from: string, target: string, port: string) => {
      const script = [
        "import socket",
        "try:",
        `    socket.create_connection((${JSON.stringify(target)}, ${Number(port)}), timeout=3).close(); print('OPEN')`,
        "except Exception as e:",
        "    print(type(e).__name__)",
      ].join("\n");
      return (await host.asHop3(["podman", "exec", from, "python3", "-c", script])).out.trim();
    };
    const web = async (app: string) => {
      const { name } = await appContainer(app);
      const inspect = (format: string) => host.asHop3(["podman", "inspect", name, "--format", format]);
      const ip = (await inspect("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")).out.trim();
      const port = (await host.asHop3(["podman", "exec", name, "printenv", "PORT"])).out.trim();
      const published = (await host.asHop3(["podman", "port", name], { allowFail: true })).out.match(
        /:(\d+)\s*$/m,
      )?.[1];
      expect(ip, `${app}'s address`).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(port, `${app}'s PORT`).toMatch(/^\d+$/);
      return { app, name, ip, port, published };
    };
    const attack = async (from: Awaited<ReturnType<typeof web>>, to: Awaited<ReturnType<typeof web>>) => {
      expect(await connectFrom(from.name, from.ip, from.port), "the probe reaches its own app").toBe("OPEN");
      const targets: [string, string][] = [
        [to.ip, to.port],
        [to.name, to.port],
        [to.app, to.port],
        [`${to.app}.${DOMAIN}`, to.port],
      ];
      if (to.published) {
        // the host's loopback port of the other app: not through the network's gateway nor the host's name
        targets.push(
          [from.ip.replace(/\.\d+$/, ".1"), to.published],
          ["host.containers.internal", to.published],
        );
      }
      for (const [target, port] of targets) {
        expect(await connectFrom(from.name, target, port), `${from.app} -> ${target}:${port}`).not.toBe(
          "OPEN",
        );
      }
    };
    const sample = await web("hello");
    const pushed = await web(APP);
    expect(sample.ip, "two apps, two networks").not.toBe(pushed.ip);
    // the default on a systemd host: the app gateway, so no web process publishes a host port at all
    const doctor = await host.exec(["hop", "doctor", "--json"], { timeout: 120_000 });
    expect(JSON.parse(doctor.out).appGateway).toMatch(/^on \(HOP3_APP_GATEWAY=auto\)/);
    expect(sample.published, "the sample publishes no port").toBeUndefined();
    expect(pushed.published, `${APP} publishes no port`).toBeUndefined();
    await attack(pushed, sample);
    await attack(sample, pushed);
    expect(await answers("hello")).toBe(true);
    expect(await answers(APP)).toBe(true);
  }, 180_000);
  it("runs cron jobs from systemd timers of the hop3 user; the run shows in hop logs and cron:list", async () => {
    const timer = `hop3-cron-${APP}.cron.timer`;
    const timers = await host.asHop3([
      "systemctl",
      "--user",
      "list-timers",
      "--all",
      "--no-legend",
      "hop3-cron-*",
    ]);
    expect(timers.out, "systemctl --user list-timers").toContain(timer);
    const next = await host.asHop3([
      "systemctl",
      "--user",
      "show",
      "-p",
      "NextElapseUSecRealtime",
      "--value",
      timer,
    ]);
    expect(next.out, `the next run of ${timer}`).toMatch(/ \d{4}-01-01 03:00:00 /);
    // what the timer starts when it elapses, started now
    const run = await host.asHop3(["systemctl", "--user", "start", `hop3-cron-${APP}.cron.service`], {
      allowFail: true,
      timeout: 120_000,
    });
    expect(run.code, `the cron service failed:\n${tail(run.all)}`).toBe(0);
    const logs = await host.exec(["hop", "logs", "-n", "50", "--app", APP]);
    expect(logs.out, "hop logs shows the cron run").toMatch(/cron\S*\s.*tick from pushed/);
    const list = await host.exec(["hop", "cron:list", "--json", "--app", APP]);
    const jobs = (JSON.parse(list.out) as { jobs: { name: string; lastRun: { exitCode: number } | null }[] })
      .jobs;
    expect(jobs.find((j) => j.name === "cron")?.lastRun?.exitCode).toBe(0);
  }, 180_000);

  // backups run their podman commands through the Podman service: the sandboxed server cannot run the local CLI
  it("runs scheduled backups from a systemd timer of the hop3 user, and unschedule removes it", async () => {
    // the sample install.sh deployed: this case needs no other
    const app = "hello";
    const timer = `hop3-backup.${app}.timer`;
    type Listed = { backups: { id: string; trigger: string; createdAt: string }[]; failures: unknown[] };
    const listed = async () =>
      JSON.parse(
        (await host.exec(["hop", "backup:list", "--app", app, "--json"], { allowFail: true })).out,
      ) as Listed;
    const before = new Set((await listed()).backups.map((b) => b.id));
    const set = await host.exec(["hop", "backup:schedule", "--app", app, "* * * * *", "--keep", "5"], {
      allowFail: true,
    });
    expect(set.code, `hop backup:schedule failed:\n${tail(set.all)}`).toBe(0);
    const timers = await host.asHop3([
      "systemctl",
      "--user",
      "list-timers",
      "--all",
      "--no-legend",
      "hop3-backup.*",
    ]);
    expect(timers.out, "systemctl --user list-timers").toContain(timer);
    const t = Date.now();
    let scheduled: Listed["backups"] = [];
    let failures: unknown[] = [];
    // the first run starts at the next minute; a backup moments after a deploy waits for the release's SBOM
    await waitFor(
      `no scheduled backup of ${app} within 420 s of its "* * * * *" schedule`,
      async () => {
        const l = await listed();
        scheduled = l.backups.filter((b) => b.trigger === "scheduled" && !before.has(b.id));
        failures = l.failures;
        return scheduled.length > 0 || failures.length > 0;
      },
      420_000,
      2_000,
    ).catch(async (err) => {
      const journal = await host.asHop3(
        ["journalctl", "--user", "-u", `hop3-backup.${app}.service`, "--no-pager", "-n", "40"],
        { allowFail: true },
      );
      throw new Error(`${(err as Error).message}\n${journal.all}`);
    });
    expect(failures, "a failed scheduled run (backup:list)").toEqual([]);
    timings.scheduledBackup = (Date.now() - t) / 1000;
    const unset = await host.exec(["hop", "backup:unschedule", "--app", app], { allowFail: true });
    expect(unset.code, `hop backup:unschedule failed:\n${tail(unset.all)}`).toBe(0);
    const after = await host.asHop3([
      "systemctl",
      "--user",
      "list-timers",
      "--all",
      "--no-legend",
      "hop3-backup.*",
    ]);
    expect(after.out, "the timer after backup:unschedule").not.toContain(timer);
    const files = await host.exec(["ls", "/home/hop3/.config/systemd/user"]);
    expect(files.out).not.toContain(`hop3-backup.${app}.`);
    // a run the timer started may still be finishing: wait for it, then look at what the runs left
    await waitFor(
      "the last scheduled backup run did not finish",
      async () => !/^(active|activating)$/.test(await userUnitState(`hop3-backup.${app}.service`)),
      180_000,
      1_000,
    );
    const last = await listed();
    scheduled = last.backups.filter((b) => b.trigger === "scheduled" && !before.has(b.id));
    // the timer ran them, not the server's tick as well: never two backups in one minute
    const minutes = scheduled.map((b) => b.createdAt.slice(0, 16));
    expect(new Set(minutes).size, `scheduled backups: ${minutes.join(", ")}`).toBe(minutes.length);
    expect(last.failures, "no failed scheduled run").toEqual([]);
    for (const b of scheduled) await host.exec(["hop", "backup:destroy", b.id, "--confirm", b.id]);
  }, 720_000);

  it("keeps persistent data in a .volume quadlet, shared with hop run", async () => {
    const unit = `/home/hop3/.config/containers/systemd/hop3-${APP}-data.volume`;
    expect((await host.exec(["test", "-f", unit], { allowFail: true })).code, unit).toBe(0);
    const write = await host.exec(["hop", "run", "--app", APP, "sh", "-c", "echo kept > /data/note"], {
      allowFail: true,
    });
    expect(write.code, `hop run failed:\n${tail(write.all)}`).toBe(0);
    const web = await appContainer(APP);
    const read = await host.asHop3(["podman", "exec", web.name, "cat", "/data/note"]);
    expect(read.out.trim()).toBe("kept");
  }, 120_000);

  it("ps:scale gives exactly the instances asked for, as systemd units, and the scale survives a redeploy", async () => {
    const running = async () => {
      const units = await userUnits(`hop3-${APP}-*`);
      const count = (type: string) =>
        units
          .split("\n")
          .filter((l) =>
            new RegExp(`^hop3-${APP}-${type}\\.\\d+-\\S+\\.service\\s+loaded\\s+active\\s+running`).test(l),
          ).length;
      lastUnits = units;
      return { web: count("web"), worker: count("worker") };
    };
    let lastUnits = "";
    expect(await running()).toEqual({ web: 1, worker: 1 });
    const scaled = await host.exec(["hop", "ps:scale", "web=3", "worker=2", "--app", APP], {
      allowFail: true,
    });
    expect(scaled.code, `hop ps:scale failed:\n${tail(scaled.all)}`).toBe(0);
    expect(await running()).toEqual({ web: 3, worker: 2 });
    expect(await answers(APP)).toBe(true);
    // a new release (config change) starts the same formation
    const set = await host.exec(["hop", "config:set", "GREETING=Bonjour", "--app", APP], { allowFail: true });
    expect(set.code, `hop config:set failed:\n${tail(set.all)}`).toBe(0);
    expect(await running(), `units after the new release:\n${lastUnits}\n${tail(set.all)}`).toEqual({
      web: 3,
      worker: 2,
    });
    // back to one web instance, so the kill test below watches the only one
    const down = await host.exec(["hop", "ps:scale", "web=1", "worker=0", "--app", APP], { allowFail: true });
    expect(down.code, `hop ps:scale failed:\n${tail(down.all)}`).toBe(0);
    expect(await running(), `units after scaling down:\n${lastUnits}`).toEqual({ web: 1, worker: 0 });
  }, 300_000);

  it("passes config values byte for byte through the unit's 0600 env file, and keeps them out of units", async () => {
    const secret = `PLANTED-E2E-${process.pid}-${Date.now()}`;
    const values: Record<string, string> = {
      E2E_DOLLAR: "$HOME",
      E2E_SPECIFIER: "%h",
      E2E_BACKSLASH: "a\\b",
      E2E_LEAD: "  lead",
      E2E_QUOTES: '"q"',
      E2E_SECRET: secret,
    };
    const assignments = Object.entries(values).map(([k, v]) => `${k}=${v}`);
    const set = await host.exec(["hop", "config:set", "--app", APP, ...assignments], { allowFail: true });
    expect(set.code, `hop config:set failed:\n${tail(set.all)}`).toBe(0);
    const web = await appContainer(APP);
    for (const [key, value] of Object.entries(values)) {
      const r = await host.asHop3(["podman", "exec", web.name, "printenv", key]);
      expect(JSON.stringify(r.out), key).toBe(JSON.stringify(value));
    }
    // the secret is in the instances' env files only: not in units, generated services or the state directory
    const uid = (await host.exec(["id", "-u", "hop3"])).out.trim();
    const dirs = ["/home/hop3/.config", "/var/lib/hop3", `/run/user/${uid}/systemd`];
    const grep = await host.exec(["grep", "-rlF", "--binary-files=text", secret, ...dirs], {
      allowFail: true,
    });
    const files = grep.out.split("\n").filter(Boolean);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files)
      expect(f).toMatch(/^\/home\/hop3\/\.config\/containers\/systemd\/hop3-[^/]+\.env$/);
    const modes = await host.exec(["stat", "-c", "%a %U", ...files]);
    for (const line of modes.out.trim().split("\n")) expect(line).toBe("600 hop3");
  }, 120_000);

  it("systemd replaces a killed app container within seconds", async () => {
    const before = await appContainer(APP);
    await host.asHop3(["podman", "kill", before.name]);
    const t = Date.now();
    await waitFor(
      `${APP} did not answer again within 15 s of podman kill ${before.name}`,
      async () => (await answers(APP)) && (await appContainer(APP)).id !== before.id,
      15_000,
      250,
    );
    timings.recoverAfterKill = (Date.now() - t) / 1000;
  }, 60_000);

  it("runs the router as a quadlet of the hop3 user, which systemd replaces when it is killed", async () => {
    const unitFile = "/home/hop3/.config/containers/systemd/hop3-router.container";
    expect((await host.exec(["test", "-f", unitFile], { allowFail: true })).code, unitFile).toBe(0);
    const active = await userUnitState("hop3-router.service");
    expect(active, "systemctl --user is-active hop3-router.service").toBe("active");
    const routerId = async () =>
      (
        await host.asHop3(["podman", "inspect", "--format", "{{.Id}}", "hop3-router"], { allowFail: true })
      ).out.trim();
    const before = await routerId();
    expect(before).not.toBe("");
    await host.asHop3(["podman", "kill", "hop3-router"]);
    const t = Date.now();
    await waitFor(
      "the router did not serve again within 15 s of podman kill hop3-router",
      async () => {
        const now = await routerId();
        return now !== "" && now !== before && (await answers(APP));
      },
      15_000,
      250,
    );
    timings.routerRecoverAfterKill = (Date.now() - t) / 1000;
  }, 60_000);

  // Redis: the smallest addon image to build inside the test host (from Debian's packages, no registry)
  const ADDON = "e2e-cache";
  const addonUnit = `hop3-addon-${ADDON}.service`;
  const addonContainer = async () =>
    (
      await host.asHop3(["podman", "ps", "--filter", `name=^hop3-addon-${ADDON}$`, "--format", "{{.ID}}"])
    ).out.trim();
  /** From a one-off container of the app: a TCP connection to the addon by its name on the app's network. */
  const appReachesAddon = async () =>
    (
      await host.exec(
        [
          "hop",
          "run",
          "--app",
          APP,
          "python3",
          "-c",
          `import socket; socket.create_connection(("${ADDON}", 6379), 3); print("reached")`,
        ],
        { allowFail: true },
      )
    ).out.includes("reached");

  it("runs an addon as a quadlet of the hop3 user: attached live, replaced by systemd when killed, its data kept", async () => {
    let t = Date.now();
    const create = await host.exec(["hop", "addons:create", "redis", ADDON], {
      allowFail: true,
      timeout: 900_000,
    });
    expect(create.code, `hop addons:create failed:\n${tail(create.all)}`).toBe(0);
    timings.addonCreate = (Date.now() - t) / 1000;
    expect(await userUnitState(addonUnit), addonUnit).toBe("active");
    const unitFile = `/home/hop3/.config/containers/systemd/hop3-addon-${ADDON}.container`;
    const info = JSON.parse((await host.exec(["hop", "addons:info", ADDON, "--json"])).out) as {
      container?: string;
      state?: string;
    };
    expect(info).toMatchObject({ container: `hop3-addon-${ADDON}`, state: "running" });
    // its credentials are in the 0600 env file beside the unit, never in the unit
    const env = await host.exec(["stat", "-c", "%a %U", unitFile.replace(/\.container$/, ".env")]);
    expect(env.out.trim()).toBe("600 hop3");
    expect((await host.exec(["grep", "-c", "REDIS", unitFile], { allowFail: true })).out.trim()).toBe("0");

    const before = await addonContainer();
    const attach = await host.exec(["hop", "addons:attach", ADDON, "--app", APP], { allowFail: true });
    expect(attach.code, `hop addons:attach failed:\n${tail(attach.all)}`).toBe(0);
    // attached without a restart of the database, and written into the unit for its next start
    expect(await addonContainer(), "the addon's container after attach").toBe(before);
    const unit = await host.exec(["cat", unitFile]);
    expect(unit.out).toContain(`Network=hop3-${APP}:alias=${ADDON}`);
    expect(await appReachesAddon(), `${APP} reaches ${ADDON} by name`).toBe(true);
    // the attach's new release: its units start after the addon's at boot (systemd's own view of the order)
    const webUnit = (await userUnits(`hop3-${APP}-web.*`))
      .split("\n")
      .find((l) => /\sactive\s+running/.test(l))
      ?.split(/\s+/)[0];
    expect(webUnit, "the app's web unit after the attach").toBeDefined();
    const after = await host.asHop3(["systemctl", "--user", "show", "-p", "After", "-p", "Wants", webUnit!]);
    expect(after.out).toMatch(new RegExp(`^After=.*\\b${addonUnit.replace(/\./g, "\\.")}`, "m"));
    expect(after.out).toMatch(new RegExp(`^Wants=.*\\b${addonUnit.replace(/\./g, "\\.")}`, "m"));
    const set = await host.exec(["hop", "redis:cli", ADDON, "SET", "e2e", "kept"], { allowFail: true });
    expect(set.out.trim(), tail(set.all)).toBe("OK");

    await host.asHop3(["podman", "kill", `hop3-addon-${ADDON}`]);
    t = Date.now();
    await waitFor(
      `systemd did not replace the killed addon within 60 s`,
      async () => {
        const id = await addonContainer();
        return id !== "" && id !== before && (await userUnitState(addonUnit)) === "active";
      },
      60_000,
      500,
    );
    timings.addonRecoverAfterKill = (Date.now() - t) / 1000;
    const get = await host.exec(["hop", "redis:cli", ADDON, "GET", "e2e"], { allowFail: true });
    expect(get.out.trim(), `the key after the kill:\n${tail(get.all)}`).toBe("kept");
    expect(await appReachesAddon(), `${APP} reaches ${ADDON} after systemd replaced it`).toBe(true);
  }, 1_200_000);

  it("lets the socket-activated Podman API service stop when nothing uses it (the idle server does not ping it)", async () => {
    expect(await userUnitState("podman.socket"), "the hop3 user's podman.socket").toBe("active");
    const t = Date.now();
    await waitFor(
      "podman.service of the hop3 user still runs after 90 s with nothing to do",
      async () => (await userUnitState("podman.service")) !== "active",
      90_000,
      1_000,
    );
    timings.podmanServiceIdleStop = (Date.now() - t) / 1000;
    // and the next request starts it again
    const apps = await host.exec(["hop", "ps", "--app", APP], { allowFail: true });
    expect(apps.code, `hop ps with the API service stopped:\n${tail(apps.all)}`).toBe(0);
    expect(apps.out).toContain("web");
  }, 180_000);

  it("comes back after a restart of the whole host, with no command typed", async () => {
    const t = Date.now();
    await execa("podman", ["restart", "-t", "10", NAME]);
    await testhost(["wait", NAME, "120"]);
    // Published ports may be re-assigned by the restart.
    httpPort = await host.port(80);
    await waitFor(
      `${APP} did not answer within 180 s of the host restart`,
      () => answers(APP),
      180_000,
      1_000,
    );
    timings.recoverAfterReboot = (Date.now() - t) / 1000;
    expect(await answers("hello"), "the sample answers after the restart too").toBe(true);
    const server = await host.exec(["systemctl", "is-active", "hop3-server"], { allowFail: true });
    expect(server.out.trim()).toBe("active");
    const router = await userUnitState("hop3-router.service");
    expect(router, "the router's quadlet after the restart").toBe("active");
    const cron = await userUnitState(`hop3-cron-${APP}.cron.timer`);
    expect(cron, "the cron timer after the restart").toBe("active");
    // apps answer before the server does (systemd starts them, not the server): wait for its API
    await waitFor(
      "the Hop3 server's API did not answer within 60 s of the host restart",
      async () => (await host.exec(["hop", "apps"], { allowFail: true })).code === 0,
      60_000,
      500,
    );
    const data = await host.exec(["hop", "run", "--app", APP, "cat", "/data/note"], { allowFail: true });
    expect(data.out.trim(), `the volume's data after the restart:\n${tail(data.all)}`).toBe("kept");
    // the addon came back with the host (systemd, not the server), with its data, on the app's network
    expect(await userUnitState(addonUnit), `${addonUnit} after the restart`).toBe("active");
    const get = await host.exec(["hop", "redis:cli", ADDON, "GET", "e2e"], { allowFail: true });
    expect(get.out.trim(), `the addon's key after the restart:\n${tail(get.all)}`).toBe("kept");
    expect(await appReachesAddon(), `${APP} reaches ${ADDON} after the restart`).toBe(true);
  }, 360_000);
});
