/**
 * Buildpacks named by URL on a host that reaches no git server (docs/buildpacks.md, "Buildpacks named by URL"):
 * the Heroku Node.js buildpack URL builds offline with Hop3's own through the built-in mapping, an unknown URL
 * fails with exit 8 and says how to map it, `hop buildpacks:map` makes it build, and `buildpacks:unmap` brings
 * the failure back. Real server, real lifecycle, real router.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  cliOutput,
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop,
  uniqueApp,
} from "./helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "hop3-bp-urls-"));
const created: string[] = [];
// .invalid never resolves (RFC 6761): the fetch fails at once, as on an offline host
const UNKNOWN = `https://git.example.invalid/acme/node-buildpack-${process.pid}.git`;

afterAll(async () => {
  await hop(["buildpacks:unmap", UNKNOWN]);
  await Promise.all(created.map(destroyQuietly));
  rmSync(scratch, { recursive: true, force: true });
});

/** bare-server-js (a server.js and nothing else) with a .buildpacks naming `line`. */
function appNaming(line: string): string {
  const dir = mkdtempSync(join(scratch, "app-"));
  cpSync(fixture("bare-server-js"), dir, { recursive: true });
  writeFileSync(join(dir, ".buildpacks"), `# written for Heroku\r\n${line}\r\n`);
  return dir;
}

function newApp(prefix: string): string {
  const app = uniqueApp(`it-bpurl-${prefix}`);
  created.push(app);
  return app;
}

describe("buildpacks named by URL", () => {
  it("the Heroku Node.js buildpack URL deploys offline through the built-in mapping, and the log says so", async () => {
    const app = newApp("heroku");
    const r = await hop([
      "deploy",
      appNaming("https://github.com/heroku/heroku-buildpack-nodejs.git"),
      "--app",
      app,
    ]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    expect(r.stdout).toContain(
      "-----> .buildpacks: https://github.com/heroku/heroku-buildpack-nodejs.git -> hop3/nodejs (built-in mapping)",
    );
    expect(r.stdout).not.toContain("Fetching buildpack");
    const res = await getThroughRouter(deployedUrl(r.stdout));
    expect(res.body).toMatch(/^bare-server-js ok on node v\d+\.\d+\.\d+\n$/);
  });

  it("an unknown URL fails with exit 8 and says how to map it; a mapping makes it deploy; unmap restores the failure", async () => {
    const app = newApp("mapped");
    const dir = appNaming(`${UNKNOWN}#v1`);
    let r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(8);
    expect(cliOutput(r)).toContain(`cannot fetch buildpack ${UNKNOWN}`);
    expect(cliOutput(r)).toContain(`hop buildpacks:map ${UNKNOWN.replace(/\.git$/, "")} hop3/nodejs`);

    r = await hop(["buildpacks:map", UNKNOWN.replace("https://", "git://"), "hop3/nodejs"]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    expect(r.stdout.trim()).toBe(`Mapped ${UNKNOWN.replace(/\.git$/, "")} -> hop3/nodejs`);
    const maps = await hop(["buildpacks:maps", "--json"]);
    expect(JSON.parse(maps.stdout)).toContainEqual({
      url: UNKNOWN.replace(/\.git$/, ""),
      target: "hop3/nodejs",
      source: "operator",
    });
    const table = await hop(["buildpacks:maps"]);
    expect(table.stdout).toMatch(/^URL\s+TARGET\s+SOURCE$/m);
    expect(table.stdout).toMatch(
      /^https:\/\/github\.com\/heroku\/heroku-buildpack-python\s+hop3\/python\s+built-in$/m,
    );

    r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    expect(r.stdout).toContain(`-----> .buildpacks: ${UNKNOWN}#v1 -> hop3/nodejs (operator mapping)`);
    expect((await getThroughRouter(deployedUrl(r.stdout))).body).toMatch(/^bare-server-js ok on node v/);

    r = await hop(["buildpacks:unmap", UNKNOWN]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    r = await hop(["buildpacks:unmap", UNKNOWN]);
    expect(r.exitCode, cliOutput(r)).toBe(3);
    r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(8);
    expect(cliOutput(r)).toContain("and no mapping names it");
  });

  it("registry spellings map too: `heroku/nodejs` in .buildpacks, a registry tarball as a project.toml uri", async () => {
    const app = newApp("registry");
    let r = await hop(["deploy", appNaming("heroku/nodejs"), "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    expect(r.stdout).toContain("-----> .buildpacks: heroku/nodejs -> hop3/nodejs (built-in mapping)");

    const dir = mkdtempSync(join(scratch, "project-"));
    cpSync(fixture("bare-server-js"), dir, { recursive: true });
    const tarball = "https://buildpack-registry.s3.amazonaws.com/buildpacks/heroku/nodejs.tgz";
    writeFileSync(join(dir, "project.toml"), `[[io.buildpacks.group]]\nuri = "${tarball}"\n`);
    r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    expect(r.stdout).toContain(`-----> project.toml: ${tarball} -> hop3/nodejs (built-in mapping)`);
    expect((await getThroughRouter(deployedUrl(r.stdout))).body).toMatch(/^bare-server-js ok on node v/);
  });

  it("a target the server does not have is refused when the mapping is made (exit 2)", async () => {
    const r = await hop(["buildpacks:map", UNKNOWN, "hop3/nodjs"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("this server has no buildpack hop3/nodjs");
  });
});
