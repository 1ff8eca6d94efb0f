/**
 * The Ruby buildpack (hop3/ruby) through the real server, on a host where RubyGems cannot be reached: gems
 * come from Debian's packages (ruby-sinatra, thin, puma, ruby-pg...), collected into a launch layer, and the
 * build log names each with its version. Dokku's own Ruby test app deploys unmodified and answers what its
 * authors check ("Hello, world"); a Rack app on a Postgres addon runs its `release: bundle exec rake
 * db:migrate` and counts visits through DATABASE_URL with the pg gem; a gem nothing can provide fails the
 * deploy (exit 8) with a message naming it.
 *
 * Runs against the server install.sh started; the first buildpacks build after a stack change builds the
 * stack images (minutes), hence the long timeout of the first deploy.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

const scratch = mkdtempSync(join(tmpdir(), "hop3-bp-ruby-"));
const created: string[] = [];
const addons: string[] = [];
const COLD_TIMEOUT = 1_200_000;

function newApp(prefix: string): string {
  const app = uniqueApp(`it-rb-${prefix}`);
  created.push(app);
  return app;
}

function copyOf(name: string): string {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  cpSync(fixture(name), dir, { recursive: true });
  return dir;
}

async function deployOk(
  dir: string,
  app: string,
  extra: string[] = [],
): Promise<{ url: string; log: string }> {
  const r = await hop(["deploy", dir, "--app", app, ...extra]);
  expect(r.exitCode, cliOutput(r)).toBe(0);
  expect(r.stdout).toContain("-----> Ruby app detected");
  return { url: deployedUrl(r.stdout), log: r.stdout };
}

afterAll(async () => {
  for (const app of created) {
    await hop(["builds:purge-cache", "--app", app]);
    await destroyQuietly(app);
  }
  for (const a of addons) await hop(["addons:destroy", a, "--confirm", a]);
  rmSync(scratch, { recursive: true, force: true });
});

describe("Dokku's Ruby test app (dokku-ruby: Sinatra on thin, Gemfile asking for Ruby 2.6.8)", () => {
  const app = newApp("dokku");
  let url = "";

  it(
    "deploys unmodified with Debian's gems and answers what Dokku's check_deploy expects",
    async () => {
      const d = await deployOk(fixture("dokku-ruby"), app);
      url = d.url;
      // Ruby: the stack's, with a warning for the Gemfile's `ruby '2.6.8'`
      expect(d.log).toContain("-----> RubyGems cannot be reached: gems from Debian's packages");
      // each gem taken from Debian, with its version, its package and the locked version it replaced
      expect(d.log).toMatch(
        /sinatra 3\.\d+\.\d+ \(Debian package ruby-sinatra 3[^;)]*; Gemfile\.lock had 3\.0\.2\)/,
      );
      expect(d.log).toMatch(/thin 1\.8\.\d+ \(Debian package thin /);
      expect(d.log).toMatch(/rack 2\.2\.\d+ \(Debian package ruby-rack /);
      expect(d.log).toContain("the lockfile was re-resolved against Debian's versions");
      // Dokku's check_deploy: `test "$(curl -s -S URL)" == "Hello, world"`
      const res = await getThroughRouter(url);
      expect(res.status).toBe(200);
      expect(res.body).toBe("Hello, world");
    },
    COLD_TIMEOUT,
  );

  it("warns that the Gemfile's Ruby is not this server's", async () => {
    const r = await hop(["deploy", fixture("dokku-ruby"), "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    expect(cliOutput(r)).toContain("the Gemfile asks for Ruby 2.6.8; this server provides Ruby 3.1");
    // a rebuild with the same Gemfile and lockfile reuses the collected gems: no apt-get
    expect(r.stdout).toContain("Reusing the Debian gems from the cache");
    expect(r.stdout).not.toContain("apt-get update");
    expect((await getThroughRouter(url)).body).toBe("Hello, world");
  });
});

describe("a bare Rack app without Procfile (ruby-app)", () => {
  it(
    "gets rackup on config.ru as its web process",
    async () => {
      const d = await deployOk(fixture("ruby-app"), newApp("rack"));
      expect(d.log).toContain("web: bundle exec rackup -o 0.0.0.0 -p $PORT (config.ru)");
      expect(d.log).toMatch(/webrick 1\.\d+\.\d+ \(already in the stack: Debian package ruby-webrick /);
      expect((await getThroughRouter(d.url)).body).toBe("ruby-app ok\n");
    },
    COLD_TIMEOUT,
  );
});

describe("a gem nothing can provide", () => {
  it(
    "fails with exit 8 and a message naming it; a mirror that does not answer is named too",
    async () => {
      const app = newApp("nogem");
      const dir = copyOf("dokku-ruby");
      writeFileSync(
        join(dir, "Gemfile"),
        `${readFileSync(join(dir, "Gemfile"), "utf8")}gem 'hop3-no-such-gem', '~> 1.0'\n`,
      );
      const r = await hop(["deploy", dir, "--app", app, "--env", "RUBYGEMS_MIRROR=http://127.0.0.1:9/"]);
      expect(r.exitCode, cliOutput(r)).toBe(8);
      expect(cliOutput(r)).toContain("Cannot install the gem 'hop3-no-such-gem (~> 1.0)'");
      expect(cliOutput(r)).toContain("Debian has no package for it (tried ruby-hop3-no-such-gem)");
      expect(cliOutput(r)).toContain("RUBYGEMS_MIRROR is http://127.0.0.1:9/");
    },
    COLD_TIMEOUT,
  );
});

describe("a Rack app on a Postgres addon (ruby-postgres)", () => {
  const app = newApp("pg");
  addons.push(`${app}-postgres`);

  it(
    "runs `release: bundle exec rake db:migrate`, then puma serves config.ru with the pg gem via DATABASE_URL",
    async () => {
      const d = await deployOk(fixture("ruby-postgres"), app);
      expect(d.log).toMatch(/pg 1\.\d+\.\d+ \(Debian package ruby-pg /);
      expect(d.log).toMatch(/puma \d+\.\d+\.\d+ \(Debian package puma /);
      expect(d.log).toContain("web: bundle exec puma -p $PORT (config.ru)");
      // the development group (rspec) is not resolved in a production build
      expect(d.log).not.toContain("rspec");
      const migrated = d.log.indexOf("ruby-postgres db:migrate: visits table ready");
      expect(migrated, d.log).toBeGreaterThan(d.log.indexOf("Running the release phase"));
      const first = await getThroughRouter(d.url);
      expect(first.status, first.body).toBe(200);
      expect(first.body).toMatch(
        /^ruby-postgres ok: visits=\d+ server=15 ruby=3\.1\.\d+ pg=1\.\d+\.\d+ rack=2\.2\.\d+ env=production\n$/,
      );
      const n = Number(/visits=(\d+)/.exec(first.body)?.[1]);
      expect((await getThroughRouter(d.url)).body).toContain(`visits=${n + 1} `);
    },
    COLD_TIMEOUT,
  );
});
