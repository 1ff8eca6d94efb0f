/**
 * Secrets and input, attacked on the real server: an app whose ENV file, hop3.toml [env] and config:set each
 * carry a planted secret leaves none of them readable in clear in the state directory (database and WAL
 * included) or in the hop3 user's unit directories; values systemd would expand or trim reach the process
 * byte for byte; values with control characters are refused with the key and nothing changes.
 */
import { randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { destroyQuietly, fixture, hop, podmanAsHop3, uniqueApp, webContainerNames } from "./helpers.js";

const app = uniqueApp("it-secrets");
const scratch = mkdtempSync(join(tmpdir(), "hop3-it-secrets-"));
const stateDir = process.env.HOP3_ROOT ?? "/var/lib/hop3";
const hop3Home = "/home/hop3";
/** Where the hop3 user's units and their env files live (quadlet path; absent on Podman-supervised hosts). */
const unitDirs = [join(hop3Home, ".config", "containers", "systemd"), join(hop3Home, ".config", "systemd")];

const planted = {
  envFile: `PLANTED-ENVFILE-${randomBytes(8).toString("hex")}`,
  toml: `PLANTED-TOML-${randomBytes(8).toString("hex")}`,
  config: `PLANTED-CONFIG-${randomBytes(8).toString("hex")}`,
};

/** What systemd's Environment= would expand or trim, and the shell would not keep: must arrive unchanged. */
const tricky: Record<string, string> = {
  T_DOLLAR: "$HOME",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${VAR}, which systemd would expand
  T_BRACES: "${USER}x",
  T_BACKSLASH: "a\\b",
  T_LEAD: "  lead",
  T_TRAIL: "trail  ",
  T_QUOTES: '"q"',
  T_SINGLE: "'s'",
  T_SPECIFIER: "%h",
  T_HASH: "a #b",
};

/** Files under `dirs` holding `needle` in clear (binary files included: the database is one). */
async function filesContaining(dirs: string[], needle: string): Promise<string[]> {
  const present = dirs.filter((d) => existsSync(d));
  if (present.length === 0) return [];
  const r = await execa("grep", ["-r", "-l", "-F", "--binary-files=text", "--", needle, ...present], {
    reject: false,
  });
  if (r.exitCode === 2) throw new Error(`grep failed: ${r.stderr}`);
  return String(r.stdout).split("\n").filter(Boolean);
}

beforeAll(async () => {
  const dir = join(scratch, "app");
  cpSync(fixture("greeter"), dir, { recursive: true });
  // the greeter's image without its RUN step (its first layers come from the build cache): a faster build
  writeFileSync(join(dir, "version"), "v1\n");
  writeFileSync(
    join(dir, "Containerfile"),
    readFileSync(join(dir, "Containerfile"), "utf8")
      .replace(/^ARG GREETER_VERSION.*\n/m, "")
      .replace(/^RUN echo .*\n/m, "COPY version /app/version\n"),
  );
  writeFileSync(join(dir, "ENV"), `GREETING=hello\nENVFILE_SECRET=${planted.envFile}\n`);
  writeFileSync(
    join(dir, "hop3.toml"),
    [
      "[healthcheck]",
      'path = "/health"',
      'contains = "ok"',
      "",
      "[env]",
      `TOML_SECRET = "${planted.toml}"`,
      "",
    ].join("\n"),
  );
  const deployed = await hop(["deploy", dir, "--app", app]);
  expect(deployed.exitCode, deployed.stdout + deployed.stderr).toBe(0);
  const set = await hop([
    "config:set",
    "--app",
    app,
    `CONFIG_SECRET=${planted.config}`,
    ...Object.entries(tricky).map(([k, v]) => `${k}=${v}`),
  ]);
  expect(set.exitCode, set.stdout + set.stderr).toBe(0);
}, 600_000);

afterAll(async () => {
  await destroyQuietly(app);
  rmSync(scratch, { recursive: true, force: true });
});

describe("secrets at rest", () => {
  it("the app runs with the planted secrets", async () => {
    const r = await hop(["run", "--app", app, "printenv", "ENVFILE_SECRET", "TOML_SECRET", "CONFIG_SECRET"]);
    expect(r.exitCode, r.stderr).toBe(0);
    // (the helper drops the output's final newline, nothing else)
    expect(r.stdout).toBe(`${planted.envFile}\n${planted.toml}\n${planted.config}`);
  });

  it("no planted secret is readable in clear in the state directory or the hop3 user's unit directories", async () => {
    // the check sees what it looks for: the app's name is in the database in clear
    expect((await filesContaining([stateDir], app)).length).toBeGreaterThan(0);
    for (const secret of Object.values(planted)) {
      const found = await filesContaining([stateDir, ...unitDirs], secret);
      // the quadlet path's env files are the one place allowed: 0600, the hop3 user's, read by the unit only
      const outsideEnvFiles = found.filter((f) => !(f.endsWith(".env") && f.startsWith(unitDirs[0]!)));
      expect(outsideEnvFiles, `${secret} found in clear`).toEqual([]);
      for (const envFile of found.filter((f) => !outsideEnvFiles.includes(f))) {
        const st = statSync(envFile);
        expect(st.mode & 0o777, envFile).toBe(0o600);
        expect(st.uid, envFile).toBe(Number((await execa("id", ["-u", "hop3"])).stdout));
      }
    }
  });
});

describe("values byte for byte", () => {
  it("a one-off (hop run printenv) gets $, %, backslashes, quotes and spaces unchanged", async () => {
    const one = await hop(["run", "--app", app, "printenv", "T_LEAD"]);
    expect(JSON.stringify(one.stdout)).toBe(JSON.stringify(tricky.T_LEAD));
    // all of them in one run (python's view of os.environ, as JSON: trailing spaces and quotes stay visible)
    const script = `import json, os; print(json.dumps({k: os.environ.get(k) for k in ${JSON.stringify(Object.keys(tricky))}}))`;
    const all = await hop(["run", "--app", app, "python3", "-c", script]);
    expect(all.exitCode, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout)).toEqual(tricky);
  });

  it("the app's own web process gets them unchanged", async () => {
    const names = await webContainerNames(app);
    expect(names.length).toBeGreaterThan(0);
    const script = `import json, os; print(json.dumps({k: os.environ.get(k) for k in ${JSON.stringify(Object.keys(tricky))}}))`;
    const out = await podmanAsHop3(["exec", names[0]!, "python3", "-c", script]);
    expect(JSON.parse(out)).toEqual(tricky);
  });
});

describe("values the runtime cannot carry", () => {
  it("config:set refuses a line feed or an escape character with the key, and changes nothing", async () => {
    const before = await hop(["config", "--app", app, "--json"]);
    for (const [value, what] of [
      ["line1\nline2", "a line feed (U+000A)"],
      ["\u001b[2J", "an escape character (U+001B)"],
    ] as const) {
      const r = await hop(["config:set", "--app", app, "OK_TOO=1", `BAD=${value}`]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toContain(`the value of BAD contains ${what}`);
    }
    expect((await hop(["config", "--app", app, "--json"])).stdout).toBe(before.stdout);
  });

  it("a deploy whose ENV file has one is refused with file, line and key, and the app keeps serving", async () => {
    const dir = join(scratch, "bad-env");
    cpSync(join(scratch, "app"), dir, { recursive: true });
    writeFileSync(join(dir, "ENV"), 'GREETING=hello\nPEM="-----BEGIN-----\\nabc"\n');
    const r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(2);
    expect(r.stdout + r.stderr).toContain("ENV:2: the value of PEM contains a line feed (U+000A)");
    const still = await hop(["run", "--app", app, "printenv", "CONFIG_SECRET"]);
    expect(still.exitCode, still.stderr).toBe(0);
    expect(still.stdout).toBe(planted.config);
  });
});
