import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadAppSpec, mergeAppSpec } from "../../../src/app/spec.js";
import { expectUsageErrorAsync } from "./expect-usage.js";

const FULL_HOP3_TOML = readFileSync(
  new URL("../../fixtures/appspec/full/hop3.toml", import.meta.url),
  "utf8",
);

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function repo(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "hop3-appspec-"));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

describe("loadAppSpec: finding files", () => {
  it("loads a Piku app from its Procfile and ENV alone", async () => {
    const dir = await repo({
      Procfile: "wsgi: app:app\nworker: python worker.py\ncron: 0 * * * * python hourly.py\n",
      ENV: "FOO=bar\n",
      "nua-config.toml": "this is [not valid toml",
    });
    const spec = await loadAppSpec(dir);
    expect(spec.files).toEqual({ procfile: "Procfile", envFile: "ENV" });
    expect(spec.wsgi).toEqual({ kind: "wsgi", target: "app:app" });
    expect(spec.processes).toEqual({ worker: "python worker.py" });
    expect(spec.cron).toEqual([{ name: "cron", schedule: "0 * * * *", command: "python hourly.py" }]);
    expect(spec.envDefaults).toEqual({ FOO: "bar" });
    expect(spec.name).toBeUndefined();
    expect(spec.build.builder).toBe("auto");
    expect(spec.warnings).toEqual([]);
  });

  it("a Heroku `cron:` process is a process, with the note the deploy log shows", async () => {
    const spec = await loadAppSpec(
      await repo({ "hop3/Procfile": "web: node web.js\ncron: python3 -u clock.py\n" }),
    );
    expect(spec.processes).toEqual({ web: "node web.js", cron: "python3 -u clock.py" });
    expect(spec.cron).toEqual([]);
    expect(spec.notes).toEqual([
      expect.stringMatching(/^hop3\/Procfile:2: "cron" has no schedule, so it runs as an ordinary process/),
    ]);
  });

  it("prefers hop3/ over the root and says the root copies are ignored", async () => {
    const dir = await repo({
      "hop3/hop3.toml": '[metadata]\nid = "inner"\n',
      "hop3.toml": '[metadata]\nid = "outer"\n',
      "hop3/Procfile": "web: inner\n",
      Procfile: "web: outer\n",
    });
    const spec = await loadAppSpec(dir);
    expect(spec.name).toBe("inner");
    expect(spec.processes.web).toBe("inner");
    expect(spec.files).toMatchObject({ hop3toml: "hop3/hop3.toml", procfile: "hop3/Procfile" });
    expect(spec.warnings).toEqual([
      "hop3.toml ignored: hop3/hop3.toml takes precedence",
      "Procfile ignored: hop3/Procfile takes precedence",
    ]);
  });

  it("finds each file independently (hop3.toml in hop3/, Procfile at the root)", async () => {
    const dir = await repo({ "hop3/hop3.toml": "port = 5000\n", Procfile: "web: node index.js\n" });
    const spec = await loadAppSpec(dir);
    expect(spec.files).toEqual({ hop3toml: "hop3/hop3.toml", procfile: "Procfile" });
    expect(spec.port).toBe(5000);
    expect(spec.processes.web).toBe("node index.js");
  });

  it("detects a Containerfile, preferred over a Dockerfile", async () => {
    expect((await loadAppSpec(await repo({ Dockerfile: "FROM x" }))).files).toEqual({
      containerfile: "Dockerfile",
    });
    const both = await repo({ Dockerfile: "FROM x", Containerfile: "FROM y" });
    expect((await loadAppSpec(both)).files.containerfile).toBe("Containerfile");
  });

  it("returns defaults for an empty repository", async () => {
    const spec = await loadAppSpec(await repo({ "README.md": "hi" }));
    expect(spec).toMatchObject({
      processes: {},
      hooks: {},
      cron: [],
      static: [],
      domains: [],
      envDefaults: {},
      addons: [],
      volumes: [],
      files: {},
      warnings: [],
    });
    expect(spec.tomlEnv).toEqual({
      policy: "keep-existing",
      values: {},
      generated: {},
      refs: {},
      computed: {},
    });
  });
});

describe("loadAppSpec: errors carry the file and line", () => {
  it("in hop3.toml", async () => {
    const dir = await repo({ "hop3/hop3.toml": '[metadata]\nid = "ok-app"\n[bogus]\n' });
    const err = await expectUsageErrorAsync(loadAppSpec(dir));
    expect(err.message).toMatch(/^hop3\/hop3\.toml:3: unknown section \[bogus\]/);
  });

  it("in the Procfile", async () => {
    const err = await expectUsageErrorAsync(loadAppSpec(await repo({ Procfile: "web: a\n=======\n" })));
    expect(err.message).toMatch(/^Procfile:2: unresolved merge conflict marker/);
  });

  it("in the ENV file", async () => {
    const err = await expectUsageErrorAsync(loadAppSpec(await repo({ ENV: "OK=1\n2BAD=x\n" })));
    expect(err.message).toMatch(/^ENV:2: invalid variable name "2BAD"/);
  });

  it("for a directory that does not exist", async () => {
    const err = await expectUsageErrorAsync(loadAppSpec(join(tmpdir(), "hop3-no-such-dir-xyz")));
    expect(err.message).toContain("does not exist");
  });

  it("for a configuration file that is a directory", async () => {
    const dir = await repo({ "Procfile/x": "" });
    expect((await expectUsageErrorAsync(loadAppSpec(dir))).message).toBe(
      "Procfile is a directory, expected a file",
    );
  });

  it("for a symlink that leaves the repository", async () => {
    const outside = await repo({ secret: "web: cat /etc/shadow\n" });
    const dir = await repo({});
    await symlink(join(outside, "secret"), join(dir, "Procfile"));
    const err = await expectUsageErrorAsync(loadAppSpec(dir));
    expect(err.message).toContain("Procfile resolves to a path outside the repository");
  });

  it("for a hop3/ directory that is a symlink out of the repository", async () => {
    const outside = await repo({ "hop3.toml": "port = 1\n" });
    const dir = await repo({});
    await symlink(outside, join(dir, "hop3"));
    const err = await expectUsageErrorAsync(loadAppSpec(dir));
    expect(err.message).toContain("hop3/hop3.toml resolves to a path outside the repository");
  });

  it("for binary and oversized files", async () => {
    const binary = await repo({ Procfile: "web: x\u0000y" });
    expect((await expectUsageErrorAsync(loadAppSpec(binary))).message).toBe("Procfile is not a text file");
    const huge = await repo({ ENV: `A=${"x".repeat(1024 * 1024 + 1)}` });
    expect((await expectUsageErrorAsync(loadAppSpec(huge))).message).toMatch(/^ENV is too large/);
  });

  it("accepts a symlink that stays inside", async () => {
    const dir = await repo({ "deploy/Procfile.prod": "web: ./serve\n" });
    await symlink("deploy/Procfile.prod", join(dir, "Procfile"));
    expect((await loadAppSpec(dir)).processes.web).toBe("./serve");
  });
});

describe("AppSpec merge: hop3.toml > Procfile > defaults", () => {
  const PROCFILE = [
    "web: procfile-web",
    "worker: procfile-worker",
    "mailer: procfile-mailer",
    "release: ./migrate",
    "preflight: ./check",
    "prebuild: procfile-prebuild",
    "postbuild: procfile-postbuild",
    "prerun: procfile-prerun",
    "static: public",
  ].join("\n");

  it("takes each key from hop3.toml when it has one, otherwise from the Procfile", async () => {
    const dir = await repo({
      Procfile: PROCFILE,
      "hop3.toml": [
        "[build]",
        'before-build = ["tb1", "tb2"]',
        "[run]",
        'start = "toml-web"',
        'before-run = "toml-prerun"',
        "[run.workers]",
        'worker = "toml-worker"',
        'beat = "toml-beat"',
      ].join("\n"),
    });
    const spec = await loadAppSpec(dir);
    expect(spec.processes).toEqual({
      web: "toml-web",
      worker: "toml-worker",
      mailer: "procfile-mailer",
      beat: "toml-beat",
    });
    expect(spec.hooks).toEqual({
      preflight: ["./check"],
      prebuild: ["tb1", "tb2"],
      postbuild: ["procfile-postbuild"],
      prerun: ["toml-prerun"],
    });
    expect(spec.release).toBe("./migrate");
    expect(spec.static).toEqual([{ prefix: "/", path: "public" }]);
  });

  it("after-build replaces the Procfile postbuild hook", () => {
    const spec = mergeAppSpec({
      toml: { build: { "after-build": "toml-post" } },
      procfile: { hooks: { postbuild: "p" }, cron: [], workers: {} },
    });
    expect(spec.hooks.postbuild).toEqual(["toml-post"]);
  });

  it("drops a Procfile wsgi entry, with a warning, when [run] start sets the web process", () => {
    const spec = mergeAppSpec({
      toml: { run: { start: "uvicorn app:app" } },
      procfile: { wsgi: "app:app", hooks: {}, cron: [], workers: {} },
    });
    expect(spec.processes).toEqual({ web: "uvicorn app:app" });
    expect(spec.wsgi).toBeUndefined();
    expect(spec.warnings).toEqual([
      'Procfile: "wsgi" is ignored because hop3.toml [run] start sets the web process',
    ]);
  });

  it("uses [run] healthcheck as a path when there is no [healthcheck] section", () => {
    const spec = mergeAppSpec({ toml: { run: { healthcheck: "/up", "healthcheck-timeout": 20 } } });
    expect(spec.healthcheck).toEqual({ path: "/up", timeout: 20 });
  });

  it("maps a complete hop3.toml onto the AppSpec", async () => {
    const dir = await repo({ "hop3.toml": FULL_HOP3_TOML, ENV: "FROM_FILE=1\n", Containerfile: "FROM x\n" });
    const spec = await loadAppSpec(dir);
    expect(spec.name).toBe("blog");
    expect(spec.processes).toEqual({
      web: "gunicorn blog:app --bind 0.0.0.0:$PORT",
      worker: "celery -A blog worker",
    });
    expect(spec.hooks).toEqual({
      prebuild: ["echo start"],
      postbuild: ["python manage.py collectstatic --noinput"],
      prerun: ["python manage.py migrate"],
    });
    expect(spec.build).toEqual({
      builder: "auto",
      toolchain: "python",
      beforeBuild: ["echo start"],
      build: ["pip install -r requirements.txt", "npm run build"],
      afterBuild: ["python manage.py collectstatic --noinput"],
      test: ["pytest -q"],
      packages: ["libpq-dev"],
      pipInstall: ["gunicorn"],
      nodeVersion: "20",
      staticDir: "static",
      ignore: ["*.log", "tmp/"],
    });
    expect(spec.run).toMatchObject({ startTimeout: 60, healthcheck: "/up", healthcheckTimeout: 30 });
    expect(spec.port).toBe(8000);
    expect(spec.docker).toEqual({ port: 8000, buildArgs: { PYTHON_VERSION: "3.12", DEBUG: "0" } });
    expect(spec.healthcheck).toEqual({
      path: "/healthz",
      contains: "ok",
      interval: 10,
      timeout: 5,
      retries: 3,
    });
    expect(spec.domains).toEqual(["blog.example.com", "*.blog.example.com"]);
    expect(spec.envDefaults).toEqual({ FROM_FILE: "1" });
    expect(spec.tomlEnv.policy).toBe("override");
    expect(spec.tomlEnv.values).toMatchObject({
      FLASK_ENV: "production",
      HOP3_ADMIN_USER: "admin",
      HOP3_ADMIN_EMAIL: "admin@example.com",
    });
    expect(spec.tomlEnv.generated.HOP3_ADMIN_PASSWORD).toEqual({ generate: "password", length: 20 });
    expect(spec.addons.map((a) => a.type)).toEqual(["postgres", "redis"]);
    expect(spec.volumes).toHaveLength(2);
    expect(spec.limits).toEqual({ memory: "512M", cpu: 1.5, processes: 4 });
    expect(spec.backup).toEqual({ paths: ["/app/uploads"], exclude: ["*.tmp"] });
    expect(spec.tests).toHaveLength(2);
    expect(spec.ports.map((p) => p.number)).toEqual([2222, 5353]);
    expect(spec.files).toEqual({ hop3toml: "hop3.toml", envFile: "ENV", containerfile: "Containerfile" });
    // keys accepted but not acted on are named (hop3toml.test.ts checks each warning)
    expect(spec.warnings.every((w) => /^hop3\.toml:\d+: .* is not acted on yet, ignored: /.test(w))).toBe(
      true,
    );
  });

  it("does not let [admin] override variables that [env] sets itself", () => {
    const spec = mergeAppSpec({
      toml: {
        admin: { username: "root", password: "pw" },
        env: {
          policy: "keep-existing",
          values: { HOP3_ADMIN_USER: "chosen" },
          generated: {},
          refs: {},
          computed: {},
        },
      },
    });
    expect(spec.tomlEnv.values).toEqual({ HOP3_ADMIN_USER: "chosen", HOP3_ADMIN_PASSWORD: "pw" });
  });
});
