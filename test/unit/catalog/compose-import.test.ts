import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { composeProblems, importComposeFile, writeRecipe } from "../../../src/catalog/compose-file.js";
import { addonTypeOfImage } from "../../../src/catalog/compose-import.js";
import { loadRecipe } from "../../../src/catalog/recipe.js";

const fixture = (f: string) => resolve(import.meta.dirname, "..", "..", "fixtures", "compose-templates", f);

/** Each real template becomes a recipe that the catalog's own loader accepts. */
function importAndLoad(file: string, opts: { name?: string; service?: string } = {}) {
  const r = importComposeFile(fixture(file), opts);
  const name = /^name = "([^"]+)"/m.exec(r.files["catalog.toml"]!)![1]!;
  const dir = join(mkdtempSync(join(tmpdir(), "import-")), name);
  writeRecipe(dir, r.files);
  return { r, recipe: loadRecipe(dir, name), report: readFileSync(join(dir, "IMPORT.md"), "utf8") };
}

describe("catalog:import of real templates", () => {
  it("Coolify WordPress + MySQL: the MySQL service becomes a MariaDB addon, its values addon references", () => {
    const { r, recipe } = importAndLoad("coolify-wordpress-with-mysql.yaml", { name: "wordpress" });
    expect(r.main).toBe("wordpress");
    expect(recipe.meta.upstream_image).toBe("docker.io/library/wordpress");
    expect(recipe.meta.category).toBe("cms");
    expect(recipe.hop3.port).toBe(80);
    expect(recipe.hop3.addons).toEqual([{ type: "mariadb" }]);
    expect(recipe.hop3.env?.refs).toEqual({
      WORDPRESS_DB_HOST: { from: "mariadb", key: "MYSQL_HOST" },
      WORDPRESS_DB_USER: { from: "mariadb", key: "MYSQL_USER" },
      WORDPRESS_DB_PASSWORD: { from: "mariadb", key: "MYSQL_PASSWORD" },
      WORDPRESS_DB_NAME: { from: "mariadb", key: "MYSQL_DATABASE" },
    });
    expect(recipe.hop3.volumes).toEqual([
      { name: "wordpress-files", target: "/var/www/html", type: "persist" },
    ]);
    expect(readFileSync(join(recipe.dir, "Containerfile"), "utf8")).toMatch(
      /^FROM docker.io\/library\/wordpress:latest$/m,
    );
    expect(r.unmapped).toEqual([]);
  });

  it("Dokploy Umami + Postgres: DATABASE_URL from the addon, the secret generated, the health path validated", () => {
    const { r, recipe, report } = importAndLoad("dokploy-umami.yml", { name: "umami" });
    expect(recipe.meta.upstream_image).toBe("ghcr.io/umami-software/umami:3.0.3");
    expect(recipe.meta.version).toBe("3.0.3-imported");
    expect(recipe.hop3.port).toBe(3000);
    expect(recipe.hop3.addons).toEqual([{ type: "postgres" }]);
    expect(recipe.hop3.env?.refs).toEqual({ DATABASE_URL: { from: "postgres", key: "DATABASE_URL" } });
    expect(recipe.hop3.env?.generated).toEqual({ APP_SECRET: { generate: "password" } });
    expect(recipe.hop3.env?.values).toEqual({ DATABASE_TYPE: "postgresql" });
    expect(recipe.hop3.healthcheck?.path).toBe("/api/heartbeat");
    expect(recipe.hop3.test?.validations).toEqual([{ path: "/api/heartbeat", status: 200 }]);
    // the database's own volume is the addon's; nothing is silently lost
    expect(report).toMatch(/services.db \(postgres:15-alpine\) -> \[\[addons\]\] type = "postgres"/);
    expect(r.unmapped).toEqual([]);
  });

  it("Coolify Uptime Kuma: the port from SERVICE_FQDN_3001, the data volume", () => {
    const { recipe } = importAndLoad("coolify-uptime-kuma.yaml");
    expect(recipe.meta.name).toBe("coolify-uptime-kuma");
    expect(recipe.meta.upstream_image).toBe("docker.io/louislam/uptime-kuma:1");
    expect(recipe.hop3.port).toBe(3001);
    expect(recipe.hop3.volumes).toEqual([{ name: "uptime-kuma", target: "/app/data", type: "persist" }]);
    expect(recipe.hop3.addons).toBeUndefined();
  });

  it("CapRover WordPress: $$cap_ variables resolved, the web service found, everything unmapped listed", () => {
    const { r, recipe, report } = importAndLoad("caprover-wordpress.yml", { name: "wp" });
    expect(r.main).toBe("wp-wordpress");
    expect(recipe.meta.upstream_image).toBe("docker.io/library/wordpress:6.0.1");
    expect(recipe.hop3.port).toBe(80);
    expect(recipe.hop3.addons).toEqual([{ type: "mariadb" }]);
    expect(recipe.hop3.env?.refs?.WORDPRESS_DB_HOST).toEqual({ from: "mariadb", key: "MYSQL_HOST" });
    expect(recipe.hop3.env?.refs?.WORDPRESS_DB_PASSWORD).toEqual({ from: "mariadb", key: "MYSQL_PASSWORD" });
    expect(r.unmapped).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^services.wp-db.image \$\{DB_TYPE\}:\$\{DATABASE_VERSION\}: .* fixed here to mysql:8.0.29/,
        ),
        expect.stringMatching(/^services.wp-db.caproverExtra: /),
        expect.stringMatching(
          /^services.wp-wordpress.environment.WORDPRESS_DB_HOST=srv-captain--wp-db:3306: the port is dropped/,
        ),
        expect.stringMatching(/^question DB_PASS \(Database password\): not asked/),
        expect.stringMatching(/^caproverOneClickApp.instructions.end/),
      ]),
    );
    for (const u of r.unmapped) expect(report).toContain(u);
  });
});

describe("catalog:import refuses", () => {
  it("a file that is not Compose (schema), naming the problem", () => {
    expect(composeProblems({ services: { web: { image: "x", portz: [80] } } })).toEqual([
      expect.stringMatching(/\/services\/web: must NOT have additional properties \(portz\)/),
    ]);
  });
  it("a --service the file does not have", () => {
    const doc = fixture("caprover-wordpress.yml");
    expect(() => importComposeFile(doc, { name: "wp", service: "nope" })).toThrow(/no service "nope"/);
  });
  it("nothing but the well-known database images as addons", () => {
    expect(addonTypeOfImage("nginx:1")).toBeUndefined();
    expect(addonTypeOfImage("bitnami/postgresql:16")).toBe("postgres");
    expect(addonTypeOfImage("postgres:16")).toBe("postgres");
    expect(addonTypeOfImage("docker.io/library/mariadb:11")).toBe("mariadb");
    expect(addonTypeOfImage("valkey/valkey:8")).toBe("redis");
  });
  it("an existing output directory", () => {
    const dir = mkdtempSync(join(tmpdir(), "import-"));
    expect(() => writeRecipe(dir, { a: "b" })).toThrow(/exists already: nothing was written/);
  });
});
