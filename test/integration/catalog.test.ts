/**
 * The catalog end to end through the real server, Podman and router (docs/catalog.md). The server is given a
 * catalog the way an operator gives a private one: a public key in HOP3_ROOT/catalog-keys and a signed catalog
 * in HOP3_ROOT/catalog with the installed serial (it wins a tie with the bundled one), holding the bundled
 * recipes and two test recipes (test/fixtures/catalog). Both are removed afterwards: the bundled catalog, with
 * the same serial, is used again.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIndex, renderIndex } from "../../src/catalog/catalog-index.js";
import { signIndex } from "../../src/catalog/signing.js";
import {
  cliOutput,
  destroyQuietly,
  getThroughRouter,
  hop,
  leftovers,
  repoRoot,
  uniqueApp,
} from "./helpers.js";

const root = process.env.HOP3_TEST_SERVER_ROOT ?? "/var/lib/hop3";
const bundled = process.env.HOP3_TEST_PREFIX
  ? join(process.env.HOP3_TEST_PREFIX, "catalog")
  : "/opt/hop3/catalog";
const catalogDir = join(root, "catalog");
const keyFile = join(root, "catalog-keys", `it-catalog-${randomBytes(3).toString("hex")}.pub`);

describe("catalog", () => {
  const app = uniqueApp("it-cat");
  const broken = uniqueApp("it-catbad");
  const refused = uniqueApp("it-catno");
  let created = false;

  beforeAll(async () => {
    if (existsSync(catalogDir))
      throw new Error(`${catalogDir} exists (a refreshed catalog): this test would replace it`);
    const listing = await hop(["catalog", "--json"]);
    expect(listing.exitCode, cliOutput(listing)).toBe(0);
    const serial = (JSON.parse(listing.stdout) as { serial: number }).serial;
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    mkdirSync(join(root, "catalog-keys"), { recursive: true, mode: 0o755 });
    writeFileSync(keyFile, publicKey.export({ type: "spki", format: "pem" }), { mode: 0o644 });
    const staging = `${catalogDir}.it`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { mode: 0o755 });
    for (const d of readdirSync(bundled, { withFileTypes: true })) {
      if (d.isDirectory() && existsSync(join(bundled, d.name, "catalog.toml")))
        cpSync(join(bundled, d.name), join(staging, d.name), { recursive: true });
    }
    for (const name of ["hop3test-hello", "hop3test-broken"])
      cpSync(resolve(repoRoot, "test/fixtures/catalog", name), join(staging, name), { recursive: true });
    const text = renderIndex(buildIndex(staging, serial, new Date()));
    writeFileSync(join(staging, "index.json"), text);
    writeFileSync(
      join(staging, "index.json.sig"),
      signIndex(text, privateKey.export({ type: "pkcs8", format: "pem" }).toString()),
    );
    chmodSync(staging, 0o755);
    cpSync(staging, catalogDir, { recursive: true });
    rmSync(staging, { recursive: true, force: true });
    created = true;
  });

  afterAll(async () => {
    for (const a of [app, broken, refused]) await destroyQuietly(a);
    if (created) rmSync(catalogDir, { recursive: true, force: true });
    rmSync(keyFile, { force: true });
  });

  it("lists and shows the signed catalog's recipes", async () => {
    const list = await hop(["catalog"]);
    expect(list.exitCode, cliOutput(list)).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+VERSION\s+CATEGORY\s+DESCRIPTION/);
    expect(list.stdout).toMatch(/hop3test-hello\s+1\.0-1\s+tools\s+A test recipe/);
    const show = await hop(["catalog:show", "hop3test-hello"]);
    expect(show.exitCode, cliOutput(show)).toBe(0);
    expect(show.stdout).toMatch(/SITE_TITLE\s+Title of the site\s+My site/);
    expect(show.stdout).toMatch(/Validations:\s+GET \/ -> 200/);
  });

  it("refuses nonsense answers and unknown questions before anything is created", async () => {
    const bad = await hop([
      "catalog:install",
      "hop3test-hello",
      "--app",
      refused,
      "--set",
      "SITE_TITLE=<script>",
    ]);
    expect(bad.exitCode, cliOutput(bad)).toBe(2);
    expect(bad.stderr).toMatch(/SITE_TITLE="<script>": must match/);
    const unknown = await hop(["catalog:install", "hop3test-hello", "--app", refused, "--set", "COLOUR=red"]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/COLOUR: hop3test-hello asks no such question \(it asks: SITE_TITLE\)/);
    const missing = await hop(["catalog:install", "no-such-recipe", "--app", refused]);
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toMatch(/the catalog has no app "no-such-recipe"/);
    const apps = await hop(["apps", "--json"]);
    expect(apps.stdout).not.toContain(refused);
  });

  it("installs a recipe: answers as config, generated secret, volume, deploy, validations through the router", async () => {
    const r = await hop([
      "catalog:install",
      "hop3test-hello",
      "--app",
      app,
      "--set",
      "SITE_TITLE=Hello Catalog",
    ]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    expect(r.stdout).toMatch(/Checking the app: GET \//);
    expect(r.stdout).toMatch(new RegExp(`Installed hop3test-hello 1.0-1 as ${app}: (http://\\S+)`));
    expect(r.stdout).toContain(`Its secret: hop config:get APP_SECRET -a ${app}`);
    const url = new RegExp(`as ${app}: (http://\\S+)`).exec(r.stdout)![1]!;
    const page = await getThroughRouter(url, "/");
    expect(page.body).toBe("catalog hello: Hello Catalog (secret of 32 chars)");
    const title = await hop(["config:get", "SITE_TITLE", "-a", app]);
    expect(title.stdout.trim()).toBe("Hello Catalog");
    const listing = await hop(["catalog", "--json"]);
    const entry = (
      JSON.parse(listing.stdout) as { recipes: { name: string; installed: unknown[] }[] }
    ).recipes.find((x) => x.name === "hop3test-hello");
    expect(entry?.installed).toEqual([{ app, version: "1.0-1", status: "installed" }]);
    // an ordinary app afterwards
    const again = await hop(["catalog:upgrade", "-a", app]);
    expect(again.exitCode, cliOutput(again)).toBe(0);
    expect(again.stdout).toMatch(/nothing to upgrade/);
  }, 600_000);

  it("a recipe whose validations fail is rolled back: no app, container, image, network or volume left", async () => {
    const r = await hop(["catalog:install", "hop3test-broken", "--app", broken]);
    expect(r.exitCode, cliOutput(r)).toBe(8);
    expect(r.stderr).toMatch(
      /catalog install of hop3test-broken failed: validations failed after 10 s: GET \/: HTTP 200 but the page does not contain "a text this app never serves"/,
    );
    expect(r.stderr).toMatch(new RegExp(`rolled back: app ${broken} removed`));
    const apps = await hop(["apps", "--json"]);
    expect(apps.stdout).not.toContain(broken);
    expect(await leftovers(broken)).toEqual([]);
  }, 600_000);
});
