/**
 * The buildpack fixture apps (test/fixtures/apps) deployed through the real server: `hop deploy DIR` with
 * no Containerfile goes through the buildpacks builder, and each app answers through the router with what
 * its source says it answers, or fails with its own message, exit 8, and the previous release serving.
 *
 * Runs against the server install.sh started; the stack images (localhost/hop3/cnb-build|cnb-run) are
 * built by the first deploy when missing, which is why that one has a long timeout.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  cliOutput,
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop,
  leftovers,
  repoRoot,
  uniqueApp,
} from "./helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "hop3-bp-apps-"));
const created: string[] = [];
const COLD_START_TIMEOUT = 600_000;

/** A fresh app name, destroyed (with its build cache) at the end of the file. */
function newApp(prefix: string): string {
  const app = uniqueApp(`it-bp-${prefix}`);
  created.push(app);
  return app;
}

/** A writable copy of a fixture app, to change or extend without touching the fixture. */
function copyOf(name: string): string {
  const dir = mkdtempSync(join(scratch, `${name}-`));
  cpSync(fixture(name), dir, { recursive: true });
  return dir;
}

async function deployOk(dir: string, app: string): Promise<{ url: string; log: string }> {
  const r = await hop(["deploy", dir, "--app", app]);
  expect(r.exitCode, cliOutput(r)).toBe(0);
  expect(r.stdout).toContain("-----> Building with Cloud Native Buildpacks");
  return { url: deployedUrl(r.stdout), log: r.stdout };
}

/** GET through the router, with the response headers (getThroughRouter has the body only). */
function getFull(
  url: string,
  path = "/",
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const u = new URL(url);
  return new Promise((done, fail) => {
    const req = http.get(
      { host: "127.0.0.1", port: Number(u.port || 80), path, headers: { host: u.host }, timeout: 10_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => done({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout on ${url}${path}`)));
    req.on("error", fail);
  });
}

async function processTypes(app: string): Promise<string[]> {
  const r = await hop(["ps", "--app", app, "--json"]);
  expect(r.exitCode, cliOutput(r)).toBe(0);
  const { processes } = JSON.parse(r.stdout) as { processes: { type: string; state: string }[] };
  expect(processes.every((p) => p.state === "running")).toBe(true);
  return processes.map((p) => p.type).sort();
}

/** Index of the first line of `log` containing `text` (-1 when absent): to check the order of steps. */
const lineOf = (log: string, text: string) => log.split("\n").findIndex((l) => l.includes(text));

afterAll(async () => {
  for (const app of created) {
    // destroy does not (yet) remove the buildpack cache: purge it first, while the app exists
    await hop(["builds:purge-cache", "--app", app]);
    await destroyQuietly(app);
  }
  rmSync(scratch, { recursive: true, force: true });
});

describe("npm app with a lockfile (npm-lockfile)", () => {
  const app = newApp("npm");
  let url = "";

  it(
    "installs with npm ci, runs the build script, starts the start script with NODE_ENV=production",
    async () => {
      const d = await deployOk(fixture("npm-lockfile"), app);
      url = d.url;
      expect(d.log).toContain("-----> Node.js app detected");
      expect(d.log).toContain("-----> Installing dependencies: npm ci");
      expect(d.log).toContain("build: wrote dist/built.txt");
      const res = await getThroughRouter(url);
      expect(res.status).toBe(200);
      expect(res.body).toMatch(
        /^npm-lockfile ok: ms\(90000\)=2m; built with node v\d+\.\d+\.\d+; NODE_ENV=production\n$/,
      );
    },
    COLD_START_TIMEOUT,
  );

  it("a rebuild after a one-line change reuses node_modules from the cache", async () => {
    const dir = copyOf("npm-lockfile");
    const server = join(dir, "server.js");
    writeFileSync(
      server,
      readFileSync(server, "utf8").replace("`npm-lockfile ok:", "`npm-lockfile changed:"),
    );
    const d = await deployOk(dir, app);
    expect(d.log).toContain("Restored from cache (hop3/nodejs): modules");
    expect(d.log).toContain("-----> Reusing node_modules from the cache (package-lock.json unchanged)");
    expect(d.log).not.toContain("Installing dependencies");
    // the reused modules are really there: the app still requires `ms`, and the build script ran again
    expect((await getThroughRouter(url)).body).toMatch(
      /^npm-lockfile changed: ms\(90000\)=2m; built with node v[\d.]+; NODE_ENV=production\n$/,
    );
    // the previous release's instance is gone (app images must not look like one-off containers)
    const ps = JSON.parse((await hop(["ps", "--app", app, "--json"])).stdout) as {
      processes: { type: string; release: number }[];
    };
    expect(ps.processes.map((p) => `${p.type}@v${p.release}`)).toEqual(["web@v2"]);
    expect(await leftovers(app)).not.toContainEqual(expect.stringMatching(/-web\.1-r1-/));
  });
});

describe("bare server.js, no package.json (bare-server-js)", () => {
  it("runs node server.js", async () => {
    const app = newApp("bare");
    const d = await deployOk(fixture("bare-server-js"), app);
    expect(d.log).toContain("no package.json: running server.js");
    expect((await getThroughRouter(d.url)).body).toMatch(/^bare-server-js ok on node v\d+\.\d+\.\d+\n$/);
  });
});

describe("Python WSGI app without dependencies (python-wsgi)", () => {
  it("serves the Procfile's wsgi: callable with gunicorn on PORT", async () => {
    const app = newApp("wsgi");
    const d = await deployOk(fixture("python-wsgi"), app);
    expect(d.log).toContain("-----> Python app detected");
    const res = await getThroughRouter(d.url, "/some/path");
    expect(res.status).toBe(200);
    expect(res.body).toMatch(
      new RegExp(
        `^python-wsgi ok: python 3\\.\\d+, path /some/path, server gunicorn/[\\d.]+, app ${app}\\n$`,
      ),
    );
  });
});

describe("Go module with a vendored dependency (go-module)", () => {
  it("builds with -mod=vendor and runs the binary", async () => {
    const app = newApp("gomod");
    const d = await deployOk(fixture("go-module"), app);
    expect(d.log).toContain("vendor/ found: building with -mod=vendor");
    expect((await getThroughRouter(d.url)).body).toMatch(/^go-module ok: go1\.\d+(\.\d+)?\n$/);
  });
});

describe("GOPATH-style Go app without go.mod (go-gopath)", () => {
  it("builds under the import path from .godir", async () => {
    const app = newApp("gopath");
    const d = await deployOk(fixture("go-gopath"), app);
    expect(d.log).toContain("example.com/gopathapp");
    expect((await getThroughRouter(d.url)).body).toBe("go-gopath ok\n");
  });
});

describe("static site with index.html (static-site)", () => {
  it("serves the files with their content types", async () => {
    const app = newApp("static");
    const d = await deployOk(fixture("static-site"), app);
    const index = await getFull(d.url);
    expect(index.status).toBe(200);
    expect(index.headers["content-type"]).toMatch(/^text\/html/);
    expect(index.body).toBe(readFileSync(join(fixture("static-site"), "index.html"), "utf8"));
    const json = await getFull(d.url, "/assets/data.json");
    expect(json.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(json.body)).toEqual({ fixture: "static-site" });
    const css = await getFull(d.url, "/assets/style.css");
    expect(css.headers["content-type"]).toMatch(/^text\/css/);
    expect(css.body).toContain("color: #036");
    expect((await getFull(d.url, "/nothing-here.html")).status).toBe(404);
  });
});

describe("Piku static mappings (static-piku)", () => {
  it("serves each URL prefix from its directory", async () => {
    const app = newApp("piku");
    const d = await deployOk(fixture("static-piku"), app);
    expect((await getFull(d.url)).body).toContain("<p>static-piku public ok</p>");
    const docs = await getFull(d.url, "/docs/");
    expect(docs.status).toBe(200);
    expect(docs.body).toContain("<p>static-piku docs ok</p>");
    const redirect = await getFull(d.url, "/docs");
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe("/docs/");
    const notes = await getFull(d.url, "/docs/notes.txt");
    expect(notes.headers["content-type"]).toMatch(/^text\/plain/);
    expect(notes.body).toBe("plain text from the docs mapping\n");
    // the public mapping does not reach into the docs directory's files
    expect((await getFull(d.url, "/notes.txt")).status).toBe(404);
  });
});

describe("Procfile with web, worker and release (procfile-multi)", () => {
  const app = newApp("multi");

  it("runs the release command once before traffic moves, then web, worker and the odd-named type", async () => {
    const d = await deployOk(fixture("procfile-multi"), app);
    const release = lineOf(d.log, `procfile-multi release ran for ${app}`);
    expect(release, d.log).toBeGreaterThan(
      lineOf(d.log, "-----> Running the release phase: node release.js"),
    );
    expect(release).toBeLessThan(lineOf(d.log, "-----> Starting"));
    expect(d.log.split(`procfile-multi release ran for ${app}`)).toHaveLength(2);
    const res = await getThroughRouter(d.url);
    expect(res.body).toBe("procfile-multi ok: web (PROC_TYPE=web)\n");
    // release is a one-shot: never a long-running process
    expect(await processTypes(app)).toEqual(["clock_tick-1", "web", "worker"]);
  });

  it("the worker runs (its output is in hop logs)", async () => {
    let logs = "";
    for (let i = 0; i < 20 && !logs.includes("worker.1 | procfile-multi worker started"); i++) {
      logs = (await hop(["logs", "--app", app])).stdout;
      if (!logs.includes("worker.1 | procfile-multi worker started"))
        await new Promise((r) => setTimeout(r, 500));
    }
    expect(logs).toContain("worker.1 | procfile-multi worker started");
    expect(logs).toContain("clock_tick-1.1 | procfile-multi tick #1 started");
  });

  it("cron and hook entries are not long-running processes; prebuild/postbuild run in the build", async () => {
    const dir = copyOf("procfile-multi");
    writeFileSync(
      join(dir, "Procfile"),
      `${readFileSync(join(dir, "Procfile"), "utf8")}
cron-nightly: 0 3 * * * node worker.js nightly
prebuild: echo procfile-prebuild-ran
postbuild: echo procfile-postbuild-ran
prerun: echo procfile-prerun-ran
preflight: echo procfile-preflight-ran
`,
    );
    const d = await deployOk(dir, app);
    expect(lineOf(d.log, "procfile-prebuild-ran")).toBeGreaterThan(-1);
    expect(lineOf(d.log, "procfile-postbuild-ran")).toBeGreaterThan(lineOf(d.log, "procfile-prebuild-ran"));
    expect(await processTypes(app)).toEqual(["clock_tick-1", "web", "worker"]);
  });
});

describe("hop3.toml with build hooks and generated env (hop3toml-hooks)", () => {
  const app = newApp("hooks");
  const answer = new RegExp(
    "^hop3toml-hooks ok: before=before-build after=after-build greeting=hello from hop3.toml " +
      `secret_len=32 secret_id=([0-9a-f]{12}) greeting_url=http://${app}\\.hop3\\.localhost(?::\\d+)?/greet\\n$`,
  );
  let firstSecret = "";

  it("runs before-build and after-build, and the app sees [env], the generated secret and computed values", async () => {
    const d = await deployOk(fixture("hop3toml-hooks"), app);
    expect(d.log).toContain("-----> Running hop3.toml [build].before-build");
    expect(d.log).toContain("-----> Running hop3.toml [build].after-build");
    expect(d.log).toContain("Generated SECRET_KEY");
    const res = await getThroughRouter(d.url);
    expect(res.body).toMatch(answer);
    firstSecret = res.body.match(answer)![1]!;
  });

  it("keeps the generated secret across deploys", async () => {
    expect(firstSecret).not.toBe("");
    const d = await deployOk(fixture("hop3toml-hooks"), app);
    expect(d.log).not.toContain("Generated SECRET_KEY");
    const res = await getThroughRouter(d.url);
    expect(res.body).toMatch(answer);
    expect(res.body.match(answer)![1]).toBe(firstSecret);
  });
});

describe("[run].before-run for every process, also one that runs the image's own ENTRYPOINT + CMD", () => {
  it("runs before-run before the new release's processes start, then the image's command word for word", async () => {
    const app = newApp("beforerun");
    const dir = mkdtempSync(join(scratch, "before-run-"));
    const greeter = readFileSync(join(fixture("greeter"), "Containerfile"), "utf8");
    // the greeter's first layers (python3 on the base image), then an entry point that must still run
    writeFileSync(
      join(dir, "Containerfile"),
      `${greeter.slice(0, greeter.indexOf("WORKDIR"))}WORKDIR /app\nCOPY entry.sh serve.py ./\nEXPOSE 5000\n` +
        'ENTRYPOINT ["/bin/sh", "/app/entry.sh"]\nCMD ["python3", "/app/serve.py", "two words"]\n',
    );
    writeFileSync(join(dir, "entry.sh"), 'echo "entrypoint ran" > /tmp/entry\nexec "$@"\n');
    writeFileSync(
      join(dir, "serve.py"),
      [
        "import http.server, os, sys",
        "class H(http.server.BaseHTTPRequestHandler):",
        "    def do_GET(self):",
        "        read = lambda p: open(p).read().strip() if os.path.exists(p) else 'missing'",
        "        body = f\"{read('/tmp/before-run')}; {read('/tmp/entry')}; arg={sys.argv[1]}\\n\".encode()",
        "        self.send_response(200); self.end_headers(); self.wfile.write(body)",
        "http.server.HTTPServer(('0.0.0.0', int(os.environ['PORT'])), H).serve_forever()",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "hop3.toml"),
      '[run]\nbefore-run = ["echo \\"before-run ran for $PROC_TYPE\\" > /tmp/before-run", "test -s /tmp/before-run"]\n',
    );
    const r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    const res = await getThroughRouter(deployedUrl(r.stdout));
    expect(res.body).toBe("before-run ran for web; entrypoint ran; arg=two words\n");
  });
});

describe("a third-party-style shell buildpack named in .buildpacks (hello-cnb)", () => {
  it("builds with the app's own buildpack only, and runs its launch.toml processes", async () => {
    const app = newApp("hello");
    const dir = copyOf("bare-server-js");
    mkdirSync(join(dir, "buildpacks"));
    cpSync(resolve(repoRoot, "test/fixtures/buildpacks/hello-cnb"), join(dir, "buildpacks", "hello-cnb"), {
      recursive: true,
    });
    writeFileSync(join(dir, "hello.txt"), "Hello from a third-party buildpack\n");
    writeFileSync(join(dir, ".buildpacks"), "# this app brings its own buildpack\nbuildpacks/hello-cnb\n");
    const d = await deployOk(dir, app);
    expect(d.log).toContain("Using the app's buildpacks: test/hello-cnb");
    expect(d.log).toContain("Buildpacks: test/hello-cnb@1.2.3");
    expect(d.log).toContain("hello-cnb: installing deps");
    expect(d.log).not.toContain("Node.js app detected");
    expect((await getThroughRouter(d.url)).body).toBe(
      "Hello from a third-party buildpack\ngreeting=Hello from hello-cnb mode=web\n",
    );
    expect(await processTypes(app)).toEqual(["web", "worker"]);
  });
});

/** Deploys bare-server-js as the good release a failing deploy must leave serving. */
async function goodRelease(app: string): Promise<string> {
  const d = await deployOk(fixture("bare-server-js"), app);
  expect((await getThroughRouter(d.url)).body).toMatch(/^bare-server-js ok/);
  return d.url;
}

async function releaseStatuses(app: string): Promise<{ number: number; status: string }[]> {
  const r = await hop(["releases", "--app", app, "--json"]);
  return (JSON.parse(r.stdout) as { releases: { number: number; status: string }[] }).releases.map(
    ({ number, status }) => ({ number, status }),
  );
}

describe("a failing build (failing-build)", () => {
  it("fails with exit 8 and the build script's own error", async () => {
    const app = newApp("fbuild");
    const r = await hop(["deploy", fixture("failing-build"), "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(8);
    expect(r.stdout).toContain("failing-build: this build fails on purpose");
    expect(cliOutput(r)).toContain("The 'build' script failed");
    expect(r.stderr).toMatch(/buildpack hop3\/nodejs failed/);
    expect((await getThroughRouter(`http://${app}.hop3.localhost/`)).status).toBe(404);
  });

  it("over a good release: exit 8, and the good release keeps serving", async () => {
    const app = newApp("fbuild2");
    const url = await goodRelease(app);
    const r = await hop(["deploy", fixture("failing-build"), "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(8);
    expect(r.stdout).toContain("failing-build: this build fails on purpose");
    expect(r.stderr).toContain("v1 is still serving");
    expect((await getThroughRouter(url)).body).toMatch(/^bare-server-js ok/);
    expect(await releaseStatuses(app)).toEqual([
      { number: 2, status: "failed" },
      { number: 1, status: "active" },
    ]);
  });
});

describe("a failing release command (failing-release)", () => {
  it("fails with exit 8 and the release command's output", async () => {
    const app = newApp("frel");
    const r = await hop(["deploy", fixture("failing-release"), "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(8);
    expect(r.stdout).toContain("failing-release: this release fails on purpose");
    expect(r.stderr).toContain("the release command exited with code 1");
    expect((await getThroughRouter(`http://${app}.hop3.localhost/`)).status).toBe(404);
    expect(await processTypes(app)).toEqual([]);
  });

  it("over a good release: exit 8, no process of the new release started, the good one keeps serving", async () => {
    const app = newApp("frel2");
    const url = await goodRelease(app);
    const r = await hop(["deploy", fixture("failing-release"), "--app", app]);
    expect(r.exitCode, cliOutput(r)).toBe(8);
    expect(r.stdout).toContain("failing-release: this release fails on purpose");
    expect(r.stdout).not.toContain("-----> Starting");
    expect(r.stderr).toContain("the release command exited with code 1");
    expect(r.stderr).toContain("v1 is still serving");
    expect((await getThroughRouter(url)).body).toMatch(/^bare-server-js ok/);
    const ps = JSON.parse((await hop(["ps", "--app", app, "--json"])).stdout) as {
      processes: { type: string; release: number }[];
    };
    expect(ps.processes.map((p) => `${p.type}@v${p.release}`)).toEqual(["web@v1"]);
  });
});

describe("destroy", () => {
  it("leaves no container, image or network of any app built here", async () => {
    const { apps } = JSON.parse((await hop(["apps", "--json"])).stdout) as { apps: { name: string }[] };
    const existing = new Set(apps.map((a) => a.name));
    for (const app of created.filter((a) => existing.has(a))) {
      await hop(["builds:purge-cache", "--app", app]);
      const r = await hop(["destroy", "--app", app, "--confirm", app]);
      expect(r.exitCode, cliOutput(r)).toBe(0);
      expect(await leftovers(app), app).toEqual([]);
    }
  });
});
