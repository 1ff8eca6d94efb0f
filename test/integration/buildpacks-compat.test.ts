/**
 * Real repositories written for other platforms, deployed unmodified through the real server (buildpacks builder,
 * real Podman, real router), checked the way their authors check them; and Python dependencies on a host with no
 * package index (this one has none): vendored wheels, Debian's packages, a clear failure otherwise.
 *
 * - Paketo's procfile sample: plan.toml requires go with launch = true, and `web: go run main.go` needs the Go
 *   toolchain at run time (the run image has none). Its authors check GET /hello-world.txt contains "Hello World!".
 * - A Flask app whose requirements.txt is met by Debian packages (python3-flask, python3-gunicorn), stated in the log.
 * - dokku's python-flask test app, pinned to Flask==2.3.1: Debian 12 has 2.2.2, nothing can meet it: exit 8 naming it.
 * - A requirement vendored as a wheel in wheelhouse/: installed with no index.
 */
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

const created: string[] = [];
// the first buildpacks deploy may build the stack images
const TIMEOUT = 900_000;

function newApp(prefix: string): string {
  const app = uniqueApp(`it-compat-${prefix}`);
  created.push(app);
  return app;
}

async function deployOk(name: string, app: string): Promise<{ url: string; log: string }> {
  const r = await hop(["deploy", fixture(name), "--app", app]);
  expect(r.exitCode, cliOutput(r)).toBe(0);
  expect(r.stdout).toContain("-----> Building with Cloud Native Buildpacks");
  return { url: deployedUrl(r.stdout), log: r.stdout };
}

afterAll(async () => {
  for (const app of created) {
    await hop(["builds:purge-cache", "--app", app]);
    await destroyQuietly(app);
  }
}, 120_000);

describe("Paketo's build-plan convention (plan.toml)", () => {
  it(
    "the procfile sample: go required at launch, `go run main.go` serves /hello-world.txt",
    async () => {
      const app = newApp("paketo-go");
      const { url, log } = await deployOk("paketo-procfile-go", app);
      expect(log).toMatch(/Buildpacks: hop3\/go@[^,]+, hop3\/build-plan@[^,]+, hop3\/procfile/);
      expect(log).toContain("requires go (launch)");
      expect(log).toContain("toolchain for run time (plan.toml: launch = true)");
      const r = await getThroughRouter(url, "/hello-world.txt");
      expect(r.status).toBe(200);
      expect(r.body).toContain("Hello World!");
      // the process really is `go run`, with the toolchain from the launch layer
      const run = await hop(["run", "--app", app, "sh", "-c", "command -v go; go version"]);
      expect(run.exitCode, cliOutput(run)).toBe(0);
      expect(run.stdout).toMatch(/\/layers\/hop3_go\/go-dist\/bin\/go/);
      expect(run.stdout).toMatch(/go version go1\.\d+/);
    },
    TIMEOUT,
  );
});

describe("Python dependencies with no package index", () => {
  it(
    "requirements met by Debian packages, each named with its version in the build log",
    async () => {
      const app = newApp("py-deb");
      const { url, log } = await deployOk("python-debian-deps", app);
      expect(log).toContain("cannot be reached");
      expect(log).toContain("Requirements met by Debian packages");
      expect(log).toMatch(/Flask>=2\.0 -> python3-flask 2\.\d+\.\d+/);
      expect(log).toMatch(/gunicorn -> python3-gunicorn \d+\.\d+/);
      const r = await getThroughRouter(url, "/");
      expect(r.status).toBe(200);
      expect(r.body).toBe("python/flask");
    },
    TIMEOUT,
  );

  it(
    "dokku's Flask app pinned to versions Debian has not got: exit 8, naming each requirement and the ways out",
    async () => {
      const app = newApp("py-pinned");
      const r = await hop(["deploy", fixture("dokku-python-flask"), "--app", app]);
      expect(r.exitCode, cliOutput(r)).toBe(8);
      const out = cliOutput(r);
      expect(out).toContain("Flask==2.3.1: python3-flask is 2.2.2");
      expect(out).toContain("Werkzeug==2.3.1: python3-werkzeug is 2.2.2");
      expect(out).not.toContain("Jinja2==3.1.2:");
      expect(out).toContain("vendor the wheels");
      expect(out).toContain("PIP_INDEX_URL");
      expect(out).toContain("a Debian package");
    },
    TIMEOUT,
  );

  it(
    "a wheelhouse/ in the repository installs offline, as the build log says",
    async () => {
      const app = newApp("py-wheels");
      const { url, log } = await deployOk("python-wheelhouse", app);
      expect(log).toContain(
        "Vendored dependencies: wheelhouse/ (pip install --no-index --find-links wheelhouse",
      );
      expect(log).toContain("Successfully installed hop3-greeting-1.0.0");
      const r = await getThroughRouter(url, "/");
      expect(r.status).toBe(200);
      expect(r.body).toBe("Hello from a vendored wheel, Hop3!");
    },
    TIMEOUT,
  );
});
