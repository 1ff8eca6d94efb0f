/**
 * The npm package cache shared across apps (src/build/cnb/shared-npm-cache.ts), for real: app A's build fills
 * it, app B (another app, the same dependencies) then installs with npm OFFLINE, so every tarball came from the
 * cache; a hostile app C forges blobs in its own cache and tries to write the shared store, and app D, offline
 * too, still gets the real express, and nothing forged is in the store.
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
  podmanAsHop3,
  uniqueApp,
} from "./helpers.js";

const root = process.env.HOP3_TEST_SERVER_ROOT ?? process.env.HOP3_ROOT ?? "/var/lib/hop3";
const store = join(root, "shared-cache", "npm", "_cacache", "content-v2", "sha512");
const blob = (hex: string) => join(store, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
const hexOf = (sri: string) => Buffer.from(sri.replace(/^sha512-/, ""), "base64").toString("hex");
const sha512 = (b: Buffer | string) => createHash("sha512").update(b).digest("hex");

const lock = JSON.parse(readFileSync(join(fixture("express-lockfile"), "package-lock.json"), "utf8")) as {
  packages: Record<string, { integrity?: string }>;
};
const expressHex = hexOf(lock.packages["node_modules/express"]!.integrity!);
const lockedCount = Object.values(lock.packages).filter((p) => p.integrity).length;
/** A digest no real package has: a forged blob under this name must never reach the store. */
const forgedTargetHex = sha512("hop3 shared-cache test: forged target");

/** The sources of an app with express's lockfile; `extra` files on top. */
function appDir(name: string, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), `hop3-shc-${name}-`));
  cpSync(fixture("express-lockfile"), dir, { recursive: true });
  writeFileSync(
    join(dir, "server.js"),
    readFileSync(join(dir, "server.js"), "utf8").replace("hello", `hello ${name}`),
  );
  for (const [f, text] of Object.entries(extra)) writeFileSync(join(dir, f), text);
  return dir;
}

// What a hostile build does in its build script: forge blobs and an index entry in its own npm cache, and try
// to write the shared store (mounted read-only).
const FORGE = `
const fs = require("fs"), path = require("path");
const put = (base, hex, data) => {
  const p = path.join(base, "content-v2", "sha512", hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
};
const own = path.join(process.env.npm_config_cache, "_cacache");
put(own, ${JSON.stringify(expressHex)}, "forged express");
put(own, ${JSON.stringify(forgedTargetHex)}, "forged content");
fs.mkdirSync(path.join(own, "index-v5", "aa", "bb"), { recursive: true });
fs.writeFileSync(path.join(own, "index-v5", "aa", "bb", "forged"), "forged index entry");
try {
  put(process.env.HOP3_SHARED_NPM_CACHE, ${JSON.stringify(expressHex)}, "forged express");
  console.log("shared cache write: succeeded");
} catch (e) {
  console.log("shared cache write: refused (" + e.code + ")");
}
`;

describe("shared npm package cache", () => {
  const apps = {
    a: uniqueApp("it-shc-a"),
    b: uniqueApp("it-shc-b"),
    c: uniqueApp("it-shc-c"),
    d: uniqueApp("it-shc-d"),
  };
  const dirs: string[] = [];
  afterAll(async () => {
    for (const a of Object.values(apps)) await destroyQuietly(a);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("app A's build puts its checked tarballs in the shared store", async () => {
    const dir = appDir("a");
    dirs.push(dir);
    const r = await hop(["deploy", dir, "--app", apps.a]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    expect(existsSync(blob(expressHex)), "express is in the store").toBe(true);
    expect(sha512(readFileSync(blob(expressHex)))).toBe(expressHex);
  });

  it("app B, with the same dependencies, installs them all from the cache: npm offline succeeds", async () => {
    const dir = appDir("b");
    dirs.push(dir);
    const r = await hop(["deploy", dir, "--app", apps.b, "--env", "NPM_CONFIG_OFFLINE=true"]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    expect(r.stdout).toContain(
      `packages in the shared cache: ${lockedCount} of ${lockedCount} locked tarballs`,
    );
    expect((await getThroughRouter(deployedUrl(r.stdout))).body).toContain(`hello b`);
  });

  it("a hostile build cannot poison it: forged blobs stay out, the store is read-only to builds", async () => {
    const dir = appDir("c", { "forge.js": FORGE });
    const pj = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    pj.scripts.build = "node forge.js";
    writeFileSync(join(dir, "package.json"), JSON.stringify(pj, null, 2));
    dirs.push(dir);
    const r = await hop(["deploy", dir, "--app", apps.c]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    expect(r.stdout).toMatch(/shared cache write: refused \(EROFS\)/);
    expect(r.stdout).toMatch(/warning: \d+ files of the npm cache are not what their names say: not shared/);
    expect(existsSync(blob(forgedTargetHex)), "the forged blob is not in the store").toBe(false);
    expect(sha512(readFileSync(blob(expressHex)))).toBe(expressHex);
    expect(existsSync(join(root, "shared-cache", "npm", "_cacache", "index-v5"))).toBe(false);
  });

  it("app D then gets the real express, offline", async () => {
    const dir = appDir("d");
    dirs.push(dir);
    const r = await hop(["deploy", dir, "--app", apps.d, "--env", "NPM_CONFIG_OFFLINE=true"]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    expect((await getThroughRouter(deployedUrl(r.stdout))).body).toContain("hello d");
    const pkg = await podmanAsHop3([
      "run",
      "--rm",
      "--entrypoint",
      "cat",
      `localhost/hop3/${apps.d}:r1`,
      "/layers/hop3_nodejs/modules/node_modules/express/package.json",
    ]);
    expect(JSON.parse(pkg).version).toBe("4.21.2");
  });
});
