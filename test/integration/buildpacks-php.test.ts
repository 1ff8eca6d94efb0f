/**
 * The PHP buildpack (hop3/php) through the real server: Paketo's PHP sample deployed unmodified serves the page
 * its authors check for; php-fpm behind nginx answers through the router with a front-controller fallback; a
 * Heroku Procfile `web: heroku-php-nginx public/` works; an app served from its root never gives away its .env,
 * composer.json, vendor/ or .git; missing Packagist packages and missing extensions fail with exit 8 and say
 * what to do; a Postgres addon is reached with PDO through DATABASE_URL.
 *
 * Runs against the server install.sh started (HOP3_TEST_SKIP_INSTALL=1 scripts/test integration -- <this file>).
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

const scratch = mkdtempSync(join(tmpdir(), "hop3-bp-php-"));
const created: string[] = [];
const addons: string[] = [];
// the first deploy may build the PHP stack images (minutes on a busy 2-core host)
const COLD = 900_000;

function newApp(prefix: string): string {
  const app = uniqueApp(`it-php-${prefix}`);
  created.push(app);
  return app;
}

/** A scratch app directory: a copy of a fixture (or empty) with extra files. */
function appDir(files: Record<string, string>, from?: string): string {
  const dir = mkdtempSync(join(scratch, "app-"));
  if (from) cpSync(fixture(from), dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function deployOk(dir: string, app: string): Promise<{ url: string; log: string }> {
  const r = await hop(["deploy", dir, "--app", app]);
  expect(r.exitCode, cliOutput(r)).toBe(0);
  expect(r.stdout).toContain("-----> PHP app detected");
  return { url: deployedUrl(r.stdout), log: r.stdout };
}

afterAll(async () => {
  for (const app of created) {
    await hop(["builds:purge-cache", "--app", app]);
    await destroyQuietly(app);
  }
  for (const a of addons) await hop(["addons:destroy", a, "--confirm", a]);
  rmSync(scratch, { recursive: true, force: true });
}, 300_000);

describe("Paketo's PHP sample (paketo-php-webserver), unmodified", () => {
  it(
    "serves htdocs/index.php with nginx + php-fpm: the page its authors check for",
    async () => {
      const app = newApp("paketo");
      const started = Date.now();
      const { url, log } = await deployOk(fixture("paketo-php-webserver"), app);
      const cold = Date.now() - started;
      expect(log).toContain("using PHP 8.2");
      expect(log).toContain("web: nginx + php-fpm serving htdocs/ (detected)");
      const res = await getThroughRouter(url);
      expect(res.status).toBe(200);
      expect(res.body).toContain("<title>Powered By Paketo Buildpacks</title>");
      expect(res.body).not.toContain("<?php");
      expect(res.headers["x-powered-by"]).toBeUndefined(); // expose_php = Off
      // a warm rebuild of the same source
      const t = Date.now();
      await deployOk(fixture("paketo-php-webserver"), app);
      console.log(`paketo-php-webserver: cold deploy ${cold} ms, warm ${Date.now() - t} ms`);
    },
    COLD,
  );
});

describe("an app served from its root, with a committed vendor/ and private files", () => {
  const app = newApp("root");
  let url = "";

  it("uses the committed vendor/ as is and serves index.php, with a front-controller fallback", async () => {
    const dir = appDir({
      "index.php":
        '<?php header("Content-Type: text/plain"); echo "front: ", $_SERVER["REQUEST_URI"], "\\n";',
      "composer.json": '{"require": {"php": ">=8.1", "acme/lib": "^1.0"}}',
      "composer.lock": '{"packages": []}',
      "vendor/autoload.php": "<?php // committed vendor\n",
      "vendor/acme/lib/secret.php": '<?php echo "vendor code ran";',
      ".env": "APP_KEY=do-not-serve\n",
      ".git/config": "[core]\n",
      "config.php.bak": "<?php $password = 'do-not-serve';",
      "Procfile.dev": "x",
    });
    const d = await deployOk(dir, app);
    url = d.url;
    expect(d.log).toContain("Using the committed vendor/ as is (1 packages): composer install skipped");
    expect(d.log).toContain("serving the app's root (detected)");
    const res = await getThroughRouter(url, "/blog/2024/hello?x=1");
    expect(res.status).toBe(200);
    expect(res.body).toBe("front: /blog/2024/hello?x=1\n");
  });

  it("never serves .env, composer.json/lock, vendor/, .git or backups (404)", async () => {
    for (const path of [
      "/.env",
      "/composer.json",
      "/composer.lock",
      "/vendor/autoload.php",
      "/vendor/acme/lib/secret.php",
      "/vendor/",
      "/.git/config",
      "/config.php.bak",
      "/%2eenv",
      "/x/../.env",
      "/index.php/../.env",
    ]) {
      const res = await getThroughRouter(url, path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).not.toMatch(/do-not-serve|vendor code ran|\[core\]|acme\/lib/);
    }
  });
});

describe("a Heroku Procfile: web: heroku-php-nginx public/", () => {
  it("serves public/ only; the app's other files are out of reach", async () => {
    const app = newApp("procfile");
    const dir = appDir({
      Procfile: "web: heroku-php-nginx public/\n",
      "public/index.php": '<?php require __DIR__."/../lib/greet.php"; echo greet("procfile"), "\\n";',
      "public/style.css": "body{}\n",
      "lib/greet.php": '<?php function greet($w) { return "hello from $w"; }',
      "config.php": "<?php $secret = 'do-not-serve';",
      "index.php": "<?php echo 'root index must not be the docroot';",
    });
    const { url, log } = await deployOk(dir, app);
    expect(log).toContain("the Procfile's web process replaces it: heroku-php-nginx public/");
    expect((await getThroughRouter(url)).body).toBe("hello from procfile\n");
    const css = await getThroughRouter(url, "/style.css");
    expect(css.body).toBe("body{}\n");
    expect(css.headers["content-type"]).toContain("text/css");
    for (const path of ["/config.php", "/lib/greet.php", "/../config.php", "/Procfile"]) {
      const res = await getThroughRouter(url, path);
      // a missing file goes to the front controller: 200 with index.php's page, never the file
      expect(res.body, path).not.toMatch(/do-not-serve|function greet|web: heroku/);
    }
  });
});

describe("Dokku's PHP Procfile: web: vendor/bin/heroku-php-apache2 web/", () => {
  it("runs the nginx server, says .htaccess is not read, and serves web/ through its front controller", async () => {
    const app = newApp("apache2");
    // the Procfile and check of Dokku's tests/apps/php, with an index.php that needs no Packagist package
    const dir = appDir({
      Procfile: "web: vendor/bin/heroku-php-apache2 web/\n",
      "composer.json": '{"require": {"php": ">=8.1"}}',
      "web/index.php": "<?php echo '<html><h3>php</h3></html>';",
      "web/.htaccess": "RewriteEngine On\n",
    });
    const { url, log } = await deployOk(dir, app);
    expect(log).toContain("heroku-php-apache2 runs nginx + php-fpm here: .htaccess files are not read");
    expect((await getThroughRouter(url)).body).toBe("<html><h3>php</h3></html>");
    expect((await getThroughRouter(url, "/some/route")).body).toBe("<html><h3>php</h3></html>");
    expect((await getThroughRouter(url, "/.htaccess")).status).toBe(404);
    const logs = await hop(["logs", "--app", app, "-n", "200"]);
    expect(logs.stdout).toContain(
      "heroku-php-apache2: Hop3 runs this app with nginx and php-fpm: .htaccess files are not read",
    );
    expect(logs.stdout).toMatch(/"GET \/some\/route HTTP\/1\.1" 200/); // nginx's access log on stdout
  });
});

describe("dependencies this host cannot get, and missing extensions", () => {
  it("Paketo's composer sample with no vendor/ and no Packagist: exit 8 naming the package and the ways out", async () => {
    const app = newApp("nopkg");
    const r = await hop(["deploy", fixture("paketo-php-composer-ext"), "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(8);
    expect(cliOutput(r)).toContain(
      "extensions required by composer.json are available: zip gd fileinfo mysqli mbstring",
    );
    expect(cliOutput(r)).toContain("Could not fetch the PHP packages composer.json requires");
    expect(cliOutput(r)).toContain("Required: vlucas/phpdotenv 5.3.0");
    expect(cliOutput(r)).toContain("commit vendor/");
    expect(cliOutput(r)).toContain("hop config:set COMPOSER_MIRROR=");
  });

  it("a required extension PHP does not have: exit 8 naming it", async () => {
    const app = newApp("noext");
    const dir = appDir({
      "composer.json": '{"require": {"ext-imagick": "*", "ext-intl": "*"}}',
      "index.php": "<?php",
    });
    const r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(8);
    expect(cliOutput(r)).toContain("composer.json requires ext-imagick, which PHP 8.2");
    expect(cliOutput(r)).not.toContain("requires ext-imagick ext-intl");
  });
});

describe("a PHP app with a Postgres addon (php-postgres)", () => {
  it(
    "reaches it with PDO through DATABASE_URL and answers a query result",
    async () => {
      const app = newApp("pg");
      addons.push(`${app}-postgres`);
      const { url, log } = await deployOk(fixture("php-postgres"), app);
      expect(log).toContain("extensions required by composer.json are available: pdo_pgsql");
      let res = await getThroughRouter(url);
      for (let i = 0; i < 30 && res.status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        res = await getThroughRouter(url);
      }
      expect(res.body).toMatch(/^php-postgres ok: answer=42 visits=\d+ driver=pgsql\n$/);
    },
    COLD,
  );
});
