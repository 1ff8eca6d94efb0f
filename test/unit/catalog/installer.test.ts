/**
 * The installer's bookkeeping with doubles for the deploy machinery (the real path is in
 * test/integration/catalog.test.ts): what an interrupted install leaves is removed at the server's start, and
 * only the addons that install created; a refused install creates nothing.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AddonService } from "../../../src/addons/service.js";
import type { CatalogSource } from "../../../src/catalog/catalog-source.js";
import { CatalogInstaller, renderNotes } from "../../../src/catalog/installer.js";
import { parseCatalogToml, type Recipe } from "../../../src/catalog/recipe.js";
import type { Deployer } from "../../../src/deploy/deployer.js";
import type { Lifecycle } from "../../../src/deploy/lifecycle.js";
import type { Platform } from "../../../src/deploy/platform.js";
import { Store } from "../../../src/store/store.js";

function setup() {
  const root = mkdtempSync(join(tmpdir(), "installer-"));
  const store = Store.open(join(root, "hop3.db"), join(root, "secret.key"));
  const destroyed: string[] = [];
  const lifecycle = {
    destroy: async (app: string) => {
      destroyed.push(`app ${app}`);
      store.deleteApp(app);
      return { destroyed: app };
    },
  } as unknown as Lifecycle;
  const addons = {
    destroy: async (name: string) => {
      destroyed.push(`addon ${name}`);
      store.addons.delete(name);
      return { destroyed: name };
    },
  } as unknown as AddonService;
  const meta = parseCatalogToml(
    `name = "wiki"\nversion = "1.0-1"\nupstream = "https://example.org/"\nlicense = "MIT"\ndescription = "w"\ncategory = "wiki"\nmaintainer = "m"\n[[questions]]\nkey = "SITE_TITLE"\nprompt = "Title"\ndefault = "My wiki"\npattern = "^[A-Za-z ]+$"\n`,
  );
  const recipe: Recipe = { meta, hop3: { addons: [{ type: "postgres" }] }, dir: root, warnings: [] };
  const source = { recipe: () => ({ recipe }) } as unknown as CatalogSource;
  const platform = {
    store,
    settings: { baseDomain: "hop3.test", httpPort: 80, httpsPort: 443, tls: "off" },
  } as unknown as Platform;
  const installer = new CatalogInstaller({
    platform,
    deployer: {} as Deployer,
    lifecycle,
    addons,
    source,
    scratchDir: join(root, "tmp"),
  });
  const addon = (name: string) =>
    store.addons.create({ name, type: "postgres", major: "15", image: "i", credentials: {}, options: {} });
  return { store, installer, destroyed, addon };
}

describe("CatalogInstaller", () => {
  it("refuses a bad answer, a taken name and an unknown question before creating anything", () => {
    const { store, installer } = setup();
    expect(() => installer.prepare("wiki", { app: "w1", answers: { SITE_TITLE: "Bad Title!" } })).toThrow(
      /SITE_TITLE="Bad Title!": must match/,
    );
    expect(() => installer.prepare("wiki", { app: "w1", answers: { NOPE: "x" } })).toThrow(
      /NOPE: wiki asks no such question/,
    );
    store.createApp("taken");
    expect(() => installer.prepare("wiki", { app: "taken", answers: {} })).toThrow(
      /an app named taken exists already/,
    );
    expect(store.listApps().map((a) => a.name)).toEqual(["taken"]);
  });

  it("plans to create only the addons that do not exist yet", () => {
    const { installer, addon } = setup();
    expect(installer.prepare("wiki", { app: "w1", answers: {} }).created).toEqual(["w1-postgres"]);
    addon("w2-postgres");
    expect(installer.prepare("wiki", { app: "w2", answers: {} }).created).toEqual([]);
  });

  it("at start-up, removes an install a crash interrupted with the addons it created, and no other", async () => {
    const { store, installer, destroyed, addon } = setup();
    store.createApp("w1");
    addon("w1-postgres");
    addon("shared-db");
    store.addons.attach("shared-db", "w1", () => "");
    store.catalog.begin("w1", "wiki", "1.0-1", ["w1-postgres"]);
    store.createApp("w2");
    store.catalog.begin("w2", "wiki", "1.0-1", []);
    store.catalog.update("w2", { status: "installed" });
    store.createApp("w3");
    store.catalog.begin("w3", "wiki", "1.0-1", []);
    store.catalog.update("w3", {
      status: "upgrading",
      error: "upgrade 1.0-1 -> 2.0-1 did not finish; backup B",
    });

    const notes = await installer.reconcile();
    expect(destroyed).toEqual(["app w1", "addon w1-postgres"]);
    expect(store.addons.get("shared-db")).toBeDefined();
    expect(store.getApp("w2")).toBeDefined();
    expect(store.catalog.get("w3")).toMatchObject({
      status: "failed",
      error: expect.stringMatching(/^interrupted: .*backup B/),
    });
    expect(notes).toEqual([
      "catalog install of wiki as w1 was interrupted: removed app w1, addon w1-postgres",
      expect.stringMatching(/catalog upgrade of w3 was interrupted: marked failed/),
    ]);
  });

  it("keeps an addon it created that another app uses meanwhile", async () => {
    const { store, installer, destroyed, addon } = setup();
    store.createApp("w1");
    store.createApp("other");
    addon("w1-postgres");
    store.addons.attach("w1-postgres", "other", () => "");
    await installer.rollback("w1", ["w1-postgres"]);
    expect(destroyed).toEqual(["app w1"]);
    expect(store.addons.get("w1-postgres")).toBeDefined();
  });

  it("fills {app} and {url} in the notes", () => {
    expect(renderNotes("hop config -a {app}; open {url}", "blog", "http://blog.x/")).toBe(
      "hop config -a blog; open http://blog.x/",
    );
  });

  it("makes the recipes' https://{app-url}/ the app's real URL, http:// where it has no certificate", () => {
    const notes = "Log in at https://{app-url}/wp-admin/ ; CalDAV: {app-url}; `hop run -a {app}`";
    expect(renderNotes(notes, "blog", "https://blog.example.test/")).toBe(
      "Log in at https://blog.example.test/wp-admin/ ; CalDAV: blog.example.test; `hop run -a blog`",
    );
    expect(renderNotes(notes, "blog", "http://blog.hop3.localhost:8080/")).toBe(
      "Log in at http://blog.hop3.localhost:8080/wp-admin/ ; CalDAV: blog.hop3.localhost:8080; `hop run -a blog`",
    );
  });
});
