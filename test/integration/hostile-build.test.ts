/**
 * Hostile builds (issue 9), on the real server, through the real router:
 *  - a static site must not serve its ENV, hop3.toml, .git or dotfiles, whatever the URL;
 *  - a buildpack named by the repository must not get the platform's files through its layer metadata
 *    (env files, layer .toml, launch.toml, build plan made symbolic links to the server's secrets).
 * The platform's secrets are read by this test (it runs as root) and compared, never printed.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CliResult,
  cliOutput,
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop,
  podmanImages,
  uniqueApp,
} from "./helpers.js";

const stateDir = process.env.HOP3_TEST_SERVER_ROOT ?? "/var/lib/hop3";
const scratch = mkdtempSync(join(tmpdir(), "hop3-it-hostile-"));
const created: string[] = [];

function newApp(prefix: string): string {
  const app = uniqueApp(`it-hostile-${prefix}`);
  created.push(app);
  return app;
}

function copyOf(name: string): string {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  cpSync(fixture(name), dir, { recursive: true });
  return dir;
}

/** Every form of the platform's secrets that could show up in text: raw, hex, base64. */
function platformSecrets(): string[] {
  const out: string[] = [];
  for (const f of ["admin-token", "secret.key"]) {
    const p = join(stateDir, f);
    if (!existsSync(p)) continue;
    const raw = readFileSync(p);
    const text = raw.toString("utf8").trim();
    if (text.length >= 8 && /^[\x20-\x7e]+$/.test(text)) out.push(text);
    out.push(raw.toString("hex"), raw.toString("base64").replace(/=+$/, ""));
  }
  return out;
}

afterAll(async () => {
  for (const app of created) await destroyQuietly(app);
  rmSync(scratch, { recursive: true, force: true });
});

describe("a static site serves its public files only", () => {
  const app = newApp("static");
  const secrets = ["hop3-static-fixture-secret-7c1e", "hop3-static-fixture-token-4b9d"];
  let url = "";
  let log = "";

  beforeAll(async () => {
    const dir = copyOf("static-secrets");
    // what `hop deploy` never uploads (.git) is planted anyway: the server must not serve it if it got it
    mkdirSync(join(dir, ".git"));
    writeFileSync(
      join(dir, ".git", "config"),
      `[remote "origin"]\n\turl = https://${secrets[0]}@example.org/x\n`,
    );
    writeFileSync(join(dir, ".env"), `SECRET_KEY=${secrets[0]}\n`);
    writeFileSync(join(dir, ".env.production"), `SECRET_KEY=${secrets[0]}\n`);
    const r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    url = deployedUrl(r.stdout);
    log = cliOutput(r);
  }, 900_000);

  it("says in the build log what it serves and what it hides", () => {
    expect(log).toMatch(/\/ -> the app's root \(\d+ files\); not served: ENV hop3\.toml/);
  });

  it("answers 404 for ENV, hop3.toml, .git and dotfiles, however asked, and still serves the site", async () => {
    const paths = [
      "/ENV",
      "/hop3.toml",
      "/.git/config",
      "/.env",
      "/.env.production",
      "/%2eenv",
      "/%45NV",
      "/css/../ENV",
      "/css/%2e%2e/ENV",
      "//ENV",
      "/ENV/",
      "/.git/",
    ];
    for (const p of paths) {
      const r = await getThroughRouter(url, p);
      expect(r.status, p).toBe(404);
      for (const s of secrets)
        expect(r.body.includes(s) || JSON.stringify(r.headers).includes(s), `${p} leaks`).toBe(false);
    }
    const index = await getThroughRouter(url, "/");
    expect(index.status).toBe(200);
    expect(index.body).toContain("<p>static-secrets home</p>");
    expect((await getThroughRouter(url, "/css/site.css")).body).toContain("color: #036");
    for (const s of secrets) expect(log.includes(s), "the build log leaks").toBe(false);
  });
});

describe("a buildpack of the repository cannot read the platform's files through its layers", () => {
  let secrets: string[] = [];
  beforeAll(() => {
    secrets = platformSecrets();
    expect(secrets.length).toBeGreaterThan(0);
  });

  /** Deploys the hostile-buildpack fixture with its leaker in `mode`, aimed at `target`. */
  async function deployHostile(mode: string, target: string): Promise<{ app: string; r: CliResult }> {
    const app = newApp(mode);
    const dir = copyOf("hostile-buildpack");
    writeFileSync(join(dir, "hostile.txt"), `${mode} ${target}\n`);
    return { app, r: await hop(["deploy", dir, "--app", app]) };
  }

  const leaks = (text: string) => secrets.some((s) => text.includes(s));

  it("builds and serves when the buildpacks do nothing hostile (the fixture itself is sound)", async () => {
    const { r } = await deployHostile("none", "/nonexistent");
    expect(r.exitCode, cliOutput(r)).toBe(0);
    expect(r.stdout).toContain("printer: HARMLESS=visible LEAK=unset");
  }, 900_000);

  const cases: Array<[string, string, RegExp]> = [
    ["env-file", "admin-token", /leak\/env\/LEAK is a symbolic link/],
    ["env-dir", ".", /leak\/env (is|leads through) a symbolic link/],
    ["layer-toml", "admin-token", /leak\.toml is a symbolic link/],
    ["launch-toml", "secret.key", /launch\.toml is a symbolic link/],
    ["plan", "admin-token", /plan\.toml is a symbolic link/],
  ];
  for (const [mode, file, message] of cases) {
    it(`fails the build, never reading the link, when ${mode} points at ${file}`, async () => {
      const { app, r } = await deployHostile(mode, join(stateDir, file));
      expect(r.exitCode, cliOutput(r)).toBe(8);
      expect(cliOutput(r)).toMatch(message);
      expect(leaks(cliOutput(r)), "the build log holds a platform secret").toBe(false);
      // no image was made for the app, so none can hold it
      expect(await podmanImages("{{.Repository}}")).not.toContain(`localhost/hop3/${app}`);
    });
  }
});
