/**
 * The CNB platform against real rootless Podman (the hop3 user's socket), driven directly (not through
 * the server): a third-party-style shell buildpack (test/fixtures/buildpacks/hello-cnb) detects, builds,
 * exports an image that answers HTTP, reuses its cache layer on a rebuild, and fails with its output.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join, resolve } from "node:path";
import Docker from "dockerode";
import tar from "tar-fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergeAppSpec } from "../../src/app/spec.js";
import { detectOnly, type LifecycleOptions, runLifecycle } from "../../src/build/cnb/lifecycle.js";
import { ensureStackImages } from "../../src/build/cnb/stack.js";
import { imageFacts, releaseSpecFromApp } from "../../src/deploy/release-spec.js";
import { appLayersImageTag } from "../../src/runtime/labels.js";

const repoRoot = resolve(import.meta.dirname, "..", "..");
const hop3Uid = Number(execFileSync("id", ["-u", "hop3"]).toString().trim());
const hop3Gid = Number(execFileSync("id", ["-g", "hop3"]).toString().trim());
const docker = new Docker({ socketPath: `/run/user/${hop3Uid}/podman/podman.sock` });
const run = Math.random().toString(36).slice(2, 8);
const tag = (n: number) => `localhost/hop3-test/cnb-hello:${run}-${n}`;

let base: string;
let options: LifecycleOptions;
const containers: string[] = [];
const images: string[] = [];

function own(dir: string): void {
  if (process.getuid?.() !== 0) return;
  execFileSync("chown", ["-R", `${hop3Uid}:${hop3Gid}`, dir]);
}

function makeApp(name: string, hello?: string, extra: Record<string, string> = {}): string {
  const dir = join(base, "apps", name);
  mkdirSync(dir, { recursive: true });
  if (hello !== undefined) writeFileSync(join(dir, "hello.txt"), hello);
  for (const [f, c] of Object.entries(extra)) writeFileSync(join(dir, f), c);
  own(dir);
  return dir;
}

async function build(app: string, sourceDir: string, n: number, o: LifecycleOptions = options) {
  const lines: string[] = [];
  images.push(tag(n));
  const started = Date.now();
  const result = await runLifecycle(o, {
    app,
    release: n,
    sourceDir,
    tag: tag(n),
    env: { HOP3_TEST_VAR: "yes" },
    revision: "0123456789abcdef",
    emit: (l) => lines.push(l),
  });
  return { result, lines, ms: Date.now() - started };
}

function get(port: number): Promise<string> {
  return new Promise((res, rej) => {
    http
      .get({ host: "127.0.0.1", port, path: "/", timeout: 3000 }, (r) => {
        let body = "";
        r.on("data", (d) => {
          body += d;
        });
        r.on("end", () => res(body));
      })
      .on("error", rej);
  });
}

async function runToEnd(image: string, cmd: string[]): Promise<string> {
  const c = await docker.createContainer({ Image: image, Cmd: cmd, Labels: { "io.hop3.test": "cnb" } });
  containers.push(c.id);
  await c.start();
  await c.wait();
  const buf = (await c.logs({ stdout: true, stderr: true })) as unknown as Buffer;
  return buf.toString("utf8");
}

beforeAll(async () => {
  base = mkdtempSync("/tmp/hop3-cnb-it-");
  const buildpacksDir = join(base, "buildpacks");
  cpSync(join(repoRoot, "test/fixtures/buildpacks/hello-cnb"), join(buildpacksDir, "hello-cnb"), {
    recursive: true,
  });
  writeFileSync(
    join(buildpacksDir, "order.toml"),
    '[[order]]\n[[order.group]]\nid = "test/hello-cnb"\nversion = "1.2.3"\n',
  );
  own(base);
  const stack = await ensureStackImages(docker, {
    imagesDir: join(repoRoot, "images"),
    baseImage: "localhost/hop3/base:bookworm",
  });
  options = {
    docker,
    stack,
    buildpacksDir,
    workRoot: join(base, "build"),
    cacheRoot: join(base, "cache"),
    network: { caFile: "/etc/ssl/certs/ca-certificates.crt" },
  };
  mkdirSync(options.workRoot);
  mkdirSync(options.cacheRoot);
  own(base);
  expect(statSync(options.workRoot).uid).toBe(process.getuid?.() === 0 ? hop3Uid : statSync(base).uid);
});

afterAll(async () => {
  for (const id of containers)
    await docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => {});
  for (const t of images)
    await docker
      .getImage(t)
      .remove({ force: true })
      .catch(() => {});
  for (const a of [app, `${app}x`, `${app}y`, `${app}w`])
    await docker
      .getImage(appLayersImageTag(a))
      .remove({ force: true })
      .catch(() => {});
  if (base) rmSync(base, { recursive: true, force: true });
});

const app = `cnbit${run}`;

describe("buildpacks platform (real Podman)", () => {
  let first: Awaited<ReturnType<typeof build>>;

  it("detects, builds and exports an image that answers on $PORT", async () => {
    const src = makeApp("hello", "Hello from the cnb-hello app\n");
    first = await build(app, src, 1);
    const out = first.lines.join("\n");
    expect(out).toContain("hello-cnb: found hello.txt");
    expect(out).toContain("-----> Hello CNB buildpack");
    expect(out).toContain("hello-cnb: installing deps");
    expect(out).toMatch(/Buildpacks: test\/hello-cnb@1\.2\.3/);
    expect(first.result.processes).toEqual({
      web: "hello-serve",
      worker: "sh -c echo worker $HELLO_MODE; sleep 1000",
    });
    expect(first.result.defaultProcess).toBe("web");

    const info = await docker.getImage(tag(1)).inspect();
    const labels = info.Config.Labels ?? {};
    expect(labels["io.buildpacks.stack.id"]).toBe("io.hop3.stacks.bookworm");
    expect(labels["org.opencontainers.image.revision"]).toBe("0123456789abcdef");
    const meta = JSON.parse(labels["io.buildpacks.build.metadata"]!);
    expect(meta.buildpacks).toEqual([
      { id: "test/hello-cnb", version: "1.2.3", homepage: "https://example.org/hello-cnb" },
    ]);
    const lifecycle = JSON.parse(labels["io.buildpacks.lifecycle.metadata"]!);
    expect(Object.keys(lifecycle.buildpacks[0].layers)).toEqual(["web"]);
    expect(info.Config.User).toBe("1000:1000");
    expect(info.Config.Entrypoint).toEqual(["/cnb/lifecycle/launcher"]);
    expect(info.Config.WorkingDir).toBe("/workspace");
    // the run image's role would make every instance a one-off; the export container's must not stay either
    expect(labels["io.hop3.role"]).toBe("");
    // the app and its layers belong to the CNB user, how it is started to root
    const owners = await runToEnd(tag(1), [
      "/bin/sh",
      "-c",
      "stat -c '%u:%g %n' /workspace/hello.txt /layers/test_hello-cnb/web/bin/hello-serve /cnb/lifecycle/launcher /cnb/process/web",
    ]);
    expect(owners).toContain("1000:1000 /workspace/hello.txt");
    expect(owners).toContain("1000:1000 /layers/test_hello-cnb/web/bin/hello-serve");
    expect(owners).toContain("0:0 /cnb/lifecycle/launcher");
    expect(owners).toContain("0:0 /cnb/process/web");

    const facts = imageFacts(info);
    expect(facts.buildpacks).toEqual({ processes: ["web", "worker"], defaultProcess: "web" });
    const spec = releaseSpecFromApp(mergeAppSpec({ toml: {} }), facts);
    expect(spec.processes).toEqual({ web: "/cnb/process/web", worker: "/cnb/process/worker" });
    expect(spec.webPort).toBe(5000);

    // As the deployer runs it: no command (default process), PORT set by the platform.
    const c = await docker.createContainer({
      Image: tag(1),
      Env: ["PORT=5000"],
      Labels: { "io.hop3.test": "cnb" },
      ExposedPorts: { "5000/tcp": {} },
      HostConfig: { PortBindings: { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] } },
    });
    containers.push(c.id);
    await c.start();
    const port = Number((await c.inspect()).NetworkSettings.Ports["5000/tcp"]![0]!.HostPort);
    let body = "";
    for (let i = 0; i < 60 && !body.includes("greeting"); i++) {
      body = await get(port).catch(() => "");
      if (!body) await new Promise((r) => setTimeout(r, 250));
    }
    expect(body).toContain("Hello from the cnb-hello app");
    expect(body).toContain("greeting=Hello from hello-cnb mode=web");
  });

  it("runs Procfile-style commands and /cnb/process/TYPE with the buildpacks' environment", async () => {
    const out = await runToEnd(tag(1), [
      "/bin/sh",
      "-c",
      'command -v hello-serve; echo "G=$GREETING"; id -u',
    ]);
    expect(out).toContain("/layers/test_hello-cnb/web/bin/hello-serve");
    expect(out).toContain("G=Hello from hello-cnb");
    expect(out).toContain("1000");
    const worker = await runToEnd(tag(1), [
      "/bin/sh",
      "-c",
      "timeout 2 /cnb/process/worker; echo PATH=$PATH",
    ]);
    expect(worker).toContain("worker");
    // The environment was applied once: the layer's bin is on PATH exactly once.
    expect(worker.split("/layers/test_hello-cnb/web/bin").length - 1).toBe(1);
  });

  it("reuses the cache layer on a rebuild after a one-line change", async () => {
    const src = makeApp("hello2", "Hello again\n");
    const second = await build(app, src, 2);
    const out = second.lines.join("\n");
    expect(out).toContain("Restored from cache (test/hello-cnb): deps");
    expect(out).toContain("hello-cnb: restored deps from cache");
    expect(out).not.toContain("installing deps");
    console.log(`cold build ${first.ms} ms, warm build ${second.ms} ms`);
    // the launch layer was rewritten with the same files: its image layer is reused, the app's is new
    expect(out).toContain("launch layers unchanged, reused");
    const layers = async (t: string) => (await docker.getImage(t).inspect()).RootFS.Layers ?? [];
    const [one, two] = [await layers(tag(1)), await layers(tag(2))];
    expect(two.slice(0, -1)).toEqual(one.slice(0, -1));
    expect(two.at(-1)).not.toBe(one.at(-1));
    expect(await runToEnd(tag(2), ["cat", "/workspace/hello.txt"])).toContain("Hello again");
  });

  it("exports a new layers image when a launch layer changed, never the previous one", async () => {
    const changed = await build(app, makeApp("variant", "Hello VARIANT\n"), 17);
    expect(changed.lines.join("\n")).not.toContain("reused");
    const out = await runToEnd(tag(17), [
      "/bin/sh",
      "-c",
      "cat /layers/test_hello-cnb/web/variant /workspace/hello.txt",
    ]);
    expect(out).toContain("variant");
    expect(out).toContain("Hello VARIANT");
    // and back: the layer without the file, not the variant's
    const back = await build(app, makeApp("plain", "Plain\n"), 18);
    expect(back.lines.join("\n")).not.toContain("reused");
    const files = await runToEnd(tag(18), ["ls", "/layers/test_hello-cnb/web"]);
    expect(files).not.toContain("variant");
  });

  it("a new app with the same launch layers as another gets that app's layers image, never an image that only claims it", async () => {
    const shared = { ...options, sharedCacheRoot: join(base, "shared") };
    mkdirSync(shared.sharedCacheRoot, { recursive: true });
    own(shared.sharedCacheRoot);
    const src = makeApp("same", "Same layers\n");
    const x = await build(`${app}x`, src, 21, shared);
    expect(x.lines.join("\n")).not.toContain("shared");
    const y = await build(`${app}y`, src, 22, shared);
    expect(y.lines.join("\n")).toContain("launch layers the same as another app's, shared");
    const layers = async (t: string) => (await docker.getImage(t).inspect()).RootFS.Layers ?? [];
    expect((await layers(tag(22))).slice(0, -1)).toEqual((await layers(tag(21))).slice(0, -1));
    expect(await runToEnd(tag(22), ["cat", "/workspace/hello.txt"])).toContain("Same layers");

    // An attacker's image labelled with that digest (and even tagged like a layers image) is never a base:
    // the server only trusts the image ids it recorded itself.
    const digest = (await docker.getImage(appLayersImageTag(`${app}x`)).inspect()).Config.Labels![
      "io.hop3.cnb.layers"
    ]!;
    const evil = await docker.createContainer({
      Image: options.stack.run,
      Cmd: ["true"],
      Labels: { "io.hop3.cnb.layers": digest },
    });
    containers.push(evil.id);
    const planted = join(base, "planted");
    mkdirSync(join(planted, "layers"), { recursive: true });
    writeFileSync(join(planted, "layers", "planted-by-attacker"), "x");
    await evil.putArchive(tar.pack(planted) as unknown as NodeJS.ReadableStream, { path: "/" });
    await evil.commit({ repo: "localhost/hop3-test/evil", tag: "cnb-layers" });
    images.push("localhost/hop3-test/evil:cnb-layers");
    // the server's record gone and the real layers images untagged: the attacker's is the only one claiming it
    rmSync(join(shared.sharedCacheRoot, "cnb-layers"), { recursive: true, force: true });
    for (const a of [`${app}x`, `${app}y`]) await docker.getImage(appLayersImageTag(a)).remove();
    const w = await build(`${app}w`, src, 23, shared);
    expect(w.lines.join("\n")).not.toContain("shared");
    expect(await runToEnd(tag(23), ["ls", "/layers"])).not.toContain("planted-by-attacker");
  });

  it("fails with the buildpack's output when bin/build fails, and keeps the cache", async () => {
    const src = makeApp("broken", "FAIL please\n");
    const lines: string[] = [];
    images.push(tag(3));
    await expect(
      runLifecycle(options, {
        app,
        release: 3,
        sourceDir: src,
        tag: tag(3),
        env: {},
        emit: (l) => lines.push(l),
      }),
    ).rejects.toThrow(/buildpack test\/hello-cnb failed: bin\/build exited with code 3/);
    expect(lines.join("\n")).toContain("hello-cnb: hello.txt asks for a failure");
    const again = await build(app, makeApp("hello3", "Back\n"), 4);
    expect(again.lines.join("\n")).toContain("hello-cnb: restored deps from cache");
  });

  it("says clearly when no buildpack recognises the app", async () => {
    const src = makeApp("nothing", undefined, { "README.md": "nothing to build\n" });
    await expect(
      runLifecycle(options, { app, release: 5, sourceDir: src, tag: tag(5), env: {}, emit: () => {} }),
    ).rejects.toThrow(/no buildpack recognised this app: tried test\/hello-cnb/);
  });

  it("uses the buildpacks an app lists in .buildpacks (a directory of the repository)", async () => {
    const src = makeApp("listed", "Listed\n", { ".buildpacks": "# the app's own buildpack\n./bp/hello\n" });
    cpSync(join(repoRoot, "test/fixtures/buildpacks/hello-cnb"), join(src, "bp", "hello"), {
      recursive: true,
    });
    own(src);
    const found = await detectOnly(options, { app, release: 6, sourceDir: src, env: {}, emit: () => {} });
    expect(found).toEqual([{ id: "test/hello-cnb", version: "1.2.3" }]);
  });

  it("fails with a broken bin/detect's output and code (detection runs in parallel, errors stay in order)", async () => {
    const src = makeApp("broken-detect", "Hi\n", { ".buildpacks": "./bp/broken\n" });
    const bp = join(src, "bp", "broken");
    mkdirSync(join(bp, "bin"), { recursive: true });
    writeFileSync(
      join(bp, "buildpack.toml"),
      'api = "0.10"\n\n[buildpack]\nid = "test/broken"\nversion = "0.0.1"\n\n[[targets]]\nos = "linux"\n',
    );
    writeFileSync(join(bp, "bin", "detect"), '#!/bin/sh\necho "broken detect says why" >&2\nexit 3\n', {
      mode: 0o755,
    });
    writeFileSync(join(bp, "bin", "build"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    own(src);
    const lines: string[] = [];
    await expect(
      runLifecycle(options, {
        app,
        release: 7,
        sourceDir: src,
        tag: tag(7),
        env: {},
        emit: (l) => lines.push(l),
      }),
    ).rejects.toThrow(/buildpack test\/broken: bin\/detect failed with exit code 3/);
    expect(lines.join("\n")).toContain("broken detect says why");
  });
});

describe("stack images (ensureStackImages)", () => {
  /** An images/ directory whose cnb/build and cnb/run Containerfiles run the given steps on the base image. */
  function stackDir(name: string, steps: { build: string; run: string }): string {
    const dir = join(base, "stacks", name);
    for (const kind of ["build", "run"] as const) {
      mkdirSync(join(dir, "cnb", kind), { recursive: true });
      writeFileSync(
        join(dir, "cnb", kind, "Containerfile"),
        `ARG BASE_IMAGE\nFROM \${BASE_IMAGE}\nARG STACK_ID\nRUN ${steps[kind]}\n`,
      );
    }
    return dir;
  }
  const tags = (name: string) => {
    const t = {
      build: `localhost/hop3-test/cnb-build:${run}-${name}`,
      run: `localhost/hop3-test/cnb-run:${run}-${name}`,
    };
    images.push(t.build, t.run);
    return t;
  };
  const exists = (ref: string) =>
    docker
      .getImage(ref)
      .inspect()
      .then(
        () => true,
        () => false,
      );

  it("builds the two images once, even for two deploys asking at the same time", async () => {
    const imagesDir = stackDir("twice", { build: "echo build > /kind", run: "echo run > /kind" });
    const overrides = tags("twice");
    const lines: string[] = [];
    const ask = () =>
      ensureStackImages(docker, {
        imagesDir,
        baseImage: "localhost/hop3/base:bookworm",
        images: overrides,
        log: (l) => lines.push(l),
      });
    const [first, second] = await Promise.all([ask(), ask()]);
    expect(first.build).toBe(overrides.build);
    expect(second.run).toBe(overrides.run);
    expect(lines.filter((l) => l.startsWith("Building")).sort()).toEqual([
      expect.stringContaining(`build image ${overrides.build}`),
      expect.stringContaining(`run image ${overrides.run}`),
    ]);
    expect(await exists(overrides.build)).toBe(true);
    expect(await exists(overrides.run)).toBe(true);
    // present now: nothing is built again
    lines.length = 0;
    await ask();
    expect(lines).toEqual([]);
  }, 300_000);

  it("a failing stack build fails the call only once the other build has ended, naming the image", async () => {
    const imagesDir = stackDir("fails", { build: "sleep 3 && echo build > /kind", run: "exit 3" });
    const overrides = tags("fails");
    await expect(
      ensureStackImages(docker, { imagesDir, baseImage: "localhost/hop3/base:bookworm", images: overrides }),
    ).rejects.toThrow(overrides.run);
    // the build image's build was awaited, not left running behind the error
    expect(await exists(overrides.build)).toBe(true);
    expect(await exists(overrides.run)).toBe(false);
  }, 300_000);
});
