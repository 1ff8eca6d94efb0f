/**
 * Issue 9, "one command takes unrelated apps offline": hostname conflicts are refused before anything is
 * stored; a conflict that reaches the store anyway never stops the route table from being applied for the
 * other apps; a failure at the router switch leaves the previous release active and serving; the `_`
 * catch-all works through the real router. Everything against the installed server and its Caddy.
 */
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildFixtureImage,
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop as hopOnce,
  uniqueApp,
} from "./helpers.js";

const root = process.env.HOP3_TEST_SERVER_ROOT ?? process.env.HOP3_ROOT ?? "/var/lib/hop3";

/**
 * `hop`, again when the server was restarted under it: other work on this host reinstalls the server at any
 * moment (SIGTERM in its log), which is not what these tests are about. Any other failure is returned as is.
 */
async function hop(args: string[]): Promise<Awaited<ReturnType<typeof hopOnce>>> {
  for (let attempt = 1; ; attempt++) {
    const r = await hopOnce(args);
    const restarted = /lost the connection to the server|cannot reach the Hop3 server/.test(r.stderr);
    if (!restarted || attempt === 4) return r;
    const until = Date.now() + 120_000;
    while (!existsSync(join(root, "run", "hop3.sock")) && Date.now() < until) await sleep(1000);
    await sleep(3000);
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Release {
  number: number;
  status: string;
  step: string | null;
  error: string | null;
  current: boolean;
}

async function releases(app: string): Promise<Release[]> {
  const r = await hop(["releases", "--app", app, "--json"]);
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { releases: Release[] }).releases;
}

async function domains(app: string): Promise<{ default: string; custom: string[] }> {
  const r = await hop(["domains", "--app", app, "--json"]);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { default: string; custom: string[] };
}

/** The URL of `host` on the router's HTTP port (taken from a deployed URL). */
const onRouter = (deployed: string, host: string) => {
  const u = new URL(deployed);
  u.hostname = host;
  return u.toString();
};

/**
 * The greeter, built once here and used as the base of every app below: their builds then run no RUN step,
 * so these tests depend on the router and the deploy pipeline, not on what the build host's cgroups allow.
 */
const GREETER_IMAGE = "localhost/hop3-test/routing-greeter:1";

beforeAll(async () => {
  await buildFixtureImage("greeter", GREETER_IMAGE);
}, 600_000);

function greeterCopy(extraToml = ""): string {
  const dir = mkdtempSync(join(tmpdir(), "hop3-routing-"));
  cpSync(fixture("greeter"), dir, { recursive: true });
  writeFileSync(join(dir, "Containerfile"), `FROM ${GREETER_IMAGE}\n`);
  if (extraToml)
    writeFileSync(join(dir, "hop3.toml"), `${readFileSync(join(dir, "hop3.toml"), "utf8")}\n${extraToml}\n`);
  return dir;
}

/** Writes the store as the server sees it: what a bug, an old version or a hand edit could have left. */
function forceDomain(hostname: string, app: string): () => void {
  const db = new Database(join(root, "hop3.db"));
  try {
    db.pragma("busy_timeout = 5000");
    db.prepare("INSERT INTO domains (hostname, app, created_at) VALUES (?, ?, ?)").run(
      hostname,
      app,
      new Date().toISOString(),
    );
  } finally {
    db.close();
  }
  return () => {
    const again = new Database(join(root, "hop3.db"));
    try {
      again.pragma("busy_timeout = 5000");
      again.prepare("DELETE FROM domains WHERE hostname = ? AND app = ?").run(hostname, app);
    } finally {
      again.close();
    }
  };
}

describe("one app's hostnames or router trouble never take other apps offline", () => {
  const a = uniqueApp("it-rta");
  const b = uniqueApp("it-rtb");
  const c = uniqueApp("it-rtc");
  const dirs: string[] = [];
  const urls: Record<string, string> = {};

  beforeAll(async () => {
    for (const app of [a, b, c]) {
      const dir = greeterCopy();
      dirs.push(dir);
      const r = await hop(["deploy", dir, "--app", app]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      urls[app] = deployedUrl(r.stdout);
    }
  }, 600_000);

  afterAll(async () => {
    for (const app of [a, b, c]) await destroyQuietly(app);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function everyAppAnswers(): Promise<void> {
    for (const app of [a, b, c]) {
      const res = await getThroughRouter(urls[app]!);
      expect(res.status, `${app}: ${res.body}`).toBe(200);
      expect(res.body).toContain(`from ${app}`);
    }
  }

  it("domains:add of another app's default hostname is refused (exit 6) and stores nothing", async () => {
    const bHost = (await domains(b)).default;
    const r = await hop(["domains:add", bHost, "--app", a]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(6);
    expect(r.stderr).toContain(`${bHost} is already used by app ${b}`);
    expect((await domains(a)).custom).toEqual([]);
    // upper case and a trailing dot are the same hostname
    expect((await hop(["domains:add", `${bHost.toUpperCase()}.`, "--app", a])).exitCode).toBe(6);
    expect((await domains(a)).custom).toEqual([]);
    await everyAppAnswers();
  });

  it("a hostname added to one app by command is refused for another, and in another's hop3.toml", async () => {
    const shared = `${c}-shared.example.test`;
    expect((await hop(["domains:add", shared, "--app", b])).exitCode).toBe(0);
    const r = await hop(["domains:add", shared, "--app", a]);
    expect(r.exitCode).toBe(6);
    expect((await domains(a)).custom).toEqual([]);

    // the same rule at deploy time: hop3.toml [domains] naming b's hostname fails the deploy, a keeps serving
    const dir = greeterCopy(`[domains]\nlist = ["${shared}"]`);
    dirs.push(dir);
    const before = (await releases(a)).find((x) => x.current)!.number;
    const deploy = await hop(["deploy", dir, "--app", a]);
    expect(deploy.exitCode, deploy.stdout + deploy.stderr).toBe(6);
    expect(deploy.stdout + deploy.stderr).toContain(`${shared} is already used by app ${b}`);
    const list = await releases(a);
    expect(list[0]).toMatchObject({ status: "failed", step: "build" });
    expect(list.find((x) => x.current)!.number).toBe(before);
    expect((await hop(["domains:remove", shared, "--app", b])).exitCode).toBe(0);
    await everyAppAnswers();
  });

  it("a conflicting domain forced into the store: a config:set on a third app succeeds, every app answers", async () => {
    const bHost = (await domains(b)).default;
    const undo = forceDomain(bHost, a);
    try {
      const r = await hop(["config:set", "GREETING=third", "--app", c]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect((await releases(c))[0]).toMatchObject({ status: "active", current: true });
      // the conflicting entry is dropped (b keeps its default hostname), never the whole table
      await everyAppAnswers();
      expect((await getThroughRouter(urls[c]!)).body).toContain("third from");
      // a deploy of the app holding the forced domain works too, and b still answers at its name
      const again = await hop(["config:set", "GREETING=forced", "--app", a]);
      expect(again.exitCode, again.stdout + again.stderr).toBe(0);
      expect((await getThroughRouter(urls[b]!)).body).toContain(`from ${b}`);
      const log = readFileSync(join(root, "log", "server.log"), "utf8");
      expect(log).toContain(`app ${a}: left out ${bHost}`);
    } finally {
      undo();
    }
    await everyAppAnswers();
  });

  it("a failure at the router switch leaves the previous release active and serving", async () => {
    const configDir = join(root, "router", "config");
    const mode = statSync(configDir).mode & 0o7777;
    const before = (await releases(a)).find((x) => x.current)!;
    const servedBefore = (await getThroughRouter(urls[a]!)).body;
    // the router cannot take a new table: its configuration directory refuses writes (a full or read-only
    // disk does the same); kept short, the other apps' deploys on this host go through the same router
    chmodSync(configDir, 0o555);
    let r: Awaited<ReturnType<typeof hop>>;
    try {
      r = await hop(["config:set", "GREETING=never-served", "--app", a]);
    } finally {
      chmodSync(configDir, mode);
    }
    expect(r.exitCode, r.stdout + r.stderr).not.toBe(0);
    const list = await releases(a);
    expect(list[0]).toMatchObject({ status: "failed", step: "route", current: false });
    expect(list.find((x) => x.current)).toMatchObject({ number: before.number, status: "active" });
    const served = await getThroughRouter(urls[a]!);
    expect(served.status).toBe(200);
    expect(served.body).toBe(servedBefore);
    expect(served.body).not.toContain("never-served");
    await everyAppAnswers();
    // and the next change goes through
    const next = await hop(["config:set", "GREETING=after", "--app", a]);
    expect(next.exitCode, next.stdout + next.stderr).toBe(0);
    expect((await getThroughRouter(urls[a]!)).body).toContain("after from");
  });
});

describe('[domains] list = ["_"]: the catch-all', () => {
  const app = uniqueApp("it-catchall");
  const other = uniqueApp("it-named");
  const dirs: string[] = [];
  let url = "";
  let otherUrl = "";

  beforeAll(async () => {
    const named = greeterCopy();
    const catchAll = greeterCopy('[domains]\nlist = ["_"]');
    dirs.push(named, catchAll);
    const r1 = await hop(["deploy", named, "--app", other]);
    expect(r1.exitCode, r1.stdout + r1.stderr).toBe(0);
    otherUrl = deployedUrl(r1.stdout);
    const r2 = await hop(["deploy", catchAll, "--app", app]);
    expect(r2.exitCode, r2.stdout + r2.stderr).toBe(0);
    url = deployedUrl(r2.stdout);
  }, 600_000);

  afterAll(async () => {
    await destroyQuietly(app);
    await destroyQuietly(other);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("answers every hostname no other app claims, its own default one included", async () => {
    for (const host of [`nobody-${app}.example.test`, "203.0.113.7", new URL(url).hostname]) {
      const res = await getThroughRouter(onRouter(otherUrl, host));
      expect(res.status, `${host}: ${res.body}`).toBe(200);
      expect(res.body).toContain(`from ${app}`);
    }
  });

  it("leaves other apps' hostnames to them", async () => {
    const res = await getThroughRouter(otherUrl);
    expect(res.status).toBe(200);
    expect(res.body).toContain(`from ${other}`);
  });

  it("is one app's only: a second catch-all app is refused at deploy", async () => {
    const second = uniqueApp("it-catchall2");
    const dir = greeterCopy('[domains]\nlist = ["_"]');
    dirs.push(dir);
    try {
      const r = await hop(["deploy", dir, "--app", second]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(6);
      expect(r.stdout + r.stderr).toContain(`hostname _ is already used by app ${app}`);
    } finally {
      await destroyQuietly(second);
    }
    expect((await getThroughRouter(onRouter(otherUrl, `x-${app}.example.test`))).body).toContain(
      `from ${app}`,
    );
  });
});
