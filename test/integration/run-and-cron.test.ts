/**
 * One-off work on the real server: `hop run` (plain streams, stdin, exit codes, a terminal driven through
 * `script`, --detach) and Procfile cron jobs (cron:list, cron:run, the scheduler, output in `hop logs`).
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliPath, destroyQuietly, fixture, hop, leftovers, podmanAsHop3, uniqueApp } from "./helpers.js";

const app = uniqueApp("it-run");
const scratch = mkdtempSync(join(tmpdir(), "hop3-it-run-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  const dir = join(scratch, "app");
  cpSync(fixture("greeter"), dir, { recursive: true });
  writeFileSync(
    join(dir, "Procfile"),
    [
      "web: python3 /app/server.py",
      "cron: * * * * * echo tick from $APP as $DYNO",
      "cron-slow: 0 3 * * 1-5 sh -c 'echo slow-job-output; echo to-stderr >&2; exit 4'",
      "",
    ].join("\n"),
  );
  const r = await hop(["deploy", dir, "--app", app]);
  expect(r.exitCode, r.stdout + r.stderr).toBe(0);
});

afterAll(async () => {
  await destroyQuietly(app);
  rmSync(scratch, { recursive: true, force: true });
});

describe("hop run", () => {
  it("runs a command with the app's image and prints its output", async () => {
    const r = await hop(["run", "--app", app, "echo", "hello"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe("hello");
  });

  it("passes the exit code back and keeps stdout and stderr apart", async () => {
    expect((await hop(["run", "--app", app, "sh", "-c", "exit 3"])).exitCode).toBe(3);
    const r = await hop(["run", "--app", app, "sh", "-c", "echo out; echo err >&2; exit 5"]);
    expect(r.exitCode).toBe(5);
    expect(r.stdout).toBe("out");
    expect(r.stderr).toBe("err");
  });

  it("gives the app's config and the run's identity", async () => {
    const r = await hop(["run", "--app", app, "printenv", "GREETING", "APP", "PROC_TYPE", "DYNO"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const [greeting, name, procType, dyno] = r.stdout.split("\n");
    expect({ greeting, name, procType }).toEqual({ greeting: "hello", name: app, procType: "run" });
    expect(dyno).toMatch(/^run\.\d+$/);
  });

  it("forwards piped stdin and its end", async () => {
    const r = await hop(["run", "--app", app, "cat"], { input: "abc\nsecond line\n" });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe("abc\nsecond line");
  });

  it("is interactive with a terminal: its size, keyboard input, exit code", async () => {
    // The size is applied right after the start (Podman 4.3 ignores a size at create): the `sleep 1` waits
    // for it, as a shell's SIGWINCH handling does in real use.
    const inner = `stty cols 100 rows 30; exec ${process.execPath} ${cliPath} run --app ${app} sh -c 'tty; sleep 1; stty size; echo ready; read x; echo got-$x; exit 6'`;
    const child = execa("script", ["-qec", inner, "/dev/null"], {
      reject: false,
      stdin: "pipe",
      env: { NO_COLOR: "1" },
      timeout: 120_000,
    });
    let out = "";
    let sent = false;
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (!sent && out.includes("ready")) {
        sent = true;
        child.stdin?.write("ping\r");
      }
    });
    const r = await child;
    child.stdin?.end();
    expect(out).toMatch(/\/dev\/pts\/\d+/);
    expect(out).toContain("30 100");
    expect(out).toContain("got-ping");
    expect(r.exitCode).toBe(6);
  });

  it("--detach returns the container's name; it runs, finishes and its output shows in hop logs", async () => {
    const r = await hop([
      "run",
      "--detach",
      "--app",
      app,
      "sh",
      "-c",
      "echo detached-begin; sleep 3; echo detached-end",
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const name = r.stdout.trim();
    expect(name).toMatch(new RegExp(`^hop3-${app}-run\\.\\d+-[0-9a-f]+$`));
    const state = async () =>
      (await podmanAsHop3(["ps", "-a", "--filter", `name=${name}`, "--format", "{{.State}}"])).trim();
    expect(await state()).toMatch(/running|up/i);
    for (let i = 0; i < 30 && !/exited/i.test(await state()); i++) await sleep(1000);
    expect(await state()).toMatch(/exited/i);
    const logs = await hop(["logs", "--app", app, "-p", "run"]);
    expect(logs.stdout).toMatch(/ run\.\d+ \| detached-begin\n.* run\.\d+ \| detached-end/);
    // not a process instance
    const ps = await hop(["ps", "--app", app, "--json"]);
    const { processes } = JSON.parse(ps.stdout) as { processes: { type: string }[] };
    expect(processes.map((p) => p.type)).toEqual(["web"]);
  });

  it("refuses an empty command and an unknown app", async () => {
    expect((await hop(["run", "--app", app])).exitCode).toBe(2);
    expect((await hop(["run", "--app", `${app}-nope`, "true"])).exitCode).toBe(3);
  });
});

describe("cron", () => {
  it("cron:list shows the Procfile jobs, their schedules and next runs", async () => {
    const r = await hop(["cron:list", "--app", app, "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const { jobs } = JSON.parse(r.stdout) as {
      jobs: { name: string; schedule: string; command: string; nextRun: string | null }[];
    };
    expect(jobs.map((j) => [j.name, j.schedule])).toEqual([
      ["cron", "* * * * *"],
      ["cron-slow", "0 3 * * 1-5"],
    ]);
    expect(new Date(jobs[0]!.nextRun!).getTime() - Date.now()).toBeLessThanOrEqual(60_000);
    const table = await hop(["cron:list", "--app", app]);
    expect(table.stdout).toMatch(/cron-slow\s+0 3 \* \* 1-5\s+sh -c 'echo slow-job-output/);
  });

  it("cron:run runs a job now, streams its output and passes its exit code back", async () => {
    const r = await hop(["cron:run", "cron-slow", "--app", app]);
    expect(r.stdout).toContain("slow-job-output");
    expect(r.stdout).toContain("to-stderr");
    expect(r.exitCode).toBe(4);
    const list = JSON.parse((await hop(["cron:list", "--app", app, "--json"])).stdout) as {
      jobs: { name: string; lastRun: { exitCode: number } | null }[];
    };
    expect(list.jobs.find((j) => j.name === "cron-slow")?.lastRun?.exitCode).toBe(4);
    expect((await hop(["cron:run", "no-such-job", "--app", app])).exitCode).toBe(3);
  });

  it("a * * * * * job runs by itself within a minute and its output is in hop logs as cron.NAME", async () => {
    const deadline = Date.now() + 75_000;
    let logs = "";
    while (Date.now() < deadline) {
      logs = (await hop(["logs", "--app", app, "-p", "cron"])).stdout;
      if (logs.includes(`tick from ${app}`)) break;
      await sleep(3000);
    }
    expect(logs).toMatch(new RegExp(`^\\S+ cron\\.cron \\| tick from ${app} as cron\\.cron$`, "m"));
    expect(logs).toMatch(/ cron\.cron-slow \| slow-job-output/);
  }, 120_000);

  it("destroy removes the kept cron and run containers too", async () => {
    await destroyQuietly(app);
    expect(await leftovers(app)).toEqual([]);
  });
});

describe("Procfiles written for Heroku and Dokku", () => {
  const heroku = uniqueApp("it-run-heroku");
  afterAll(() => destroyQuietly(heroku));

  it("a cron: line without a schedule runs as a process (noted in the deploy log), @daily is a job, Windows line ends and a BOM are fine", async () => {
    const dir = join(scratch, "heroku");
    cpSync(fixture("greeter"), dir, { recursive: true });
    writeFileSync(
      join(dir, "Procfile"),
      "\uFEFFweb: python3 /app/server.py   # the site\r\ncron: sleep 600\r\n\r\ncron-nightly: @daily echo nightly\r\n",
    );
    const r = await hop(["deploy", dir, "--app", heroku]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('note: Procfile:2: "cron" has no schedule, so it runs as an ordinary process');
    const ps = JSON.parse((await hop(["ps", "--app", heroku, "--json"])).stdout) as {
      processes: { type: string; state: string }[];
    };
    expect(ps.processes.map((p) => `${p.type}:${p.state}`).sort()).toEqual(["cron:running", "web:running"]);
    const { jobs } = JSON.parse((await hop(["cron:list", "--app", heroku, "--json"])).stdout) as {
      jobs: { name: string; schedule: string }[];
    };
    expect(jobs.map((j) => [j.name, j.schedule])).toEqual([["cron-nightly", "0 0 * * *"]]);

    // an almost-right schedule is refused before any build, naming the line, the field and its range
    writeFileSync(join(dir, "Procfile"), "web: python3 /app/server.py\ncron: 61 * * * * ./report\n");
    const bad = await hop(["deploy", dir, "--app", heroku]);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stdout + bad.stderr).toContain(
      'Procfile:2: cron entry "cron": invalid minute field "61" (allowed 0-59',
    );
  });
});
