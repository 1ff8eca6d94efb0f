import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  exportImageConfig,
  exportLabels,
  exportOwner,
  mergeProcesses,
} from "../../../src/build/cnb/export.js";
import { LAUNCHER_SCRIPT, processScript } from "../../../src/build/cnb/launcher.js";

const golden = (name: string) => readFileSync(join(import.meta.dirname, "golden", name), "utf8");

describe("export", () => {
  const input = {
    runImage: "localhost/hop3/cnb-run:bookworm",
    stackId: "io.hop3.stacks.bookworm",
    userId: 1000,
    groupId: 1000,
    buildpacks: [
      {
        id: "hop3/nodejs",
        version: "0.1.0",
        layers: { node: { types: { launch: true, build: true, cache: true }, metadata: { v: "18" } } },
      },
    ],
    processes: [
      { type: "web", command: ["npm", "start"], args: [], default: true, buildpackId: "hop3/nodejs" },
    ],
    defaultProcess: "web",
    labels: { "org.example": "x" },
    app: "shop",
    release: 3,
    revision: "abc123",
    lifecycleVersion: "hop3-0.1",
  };

  it("configures the image as the CNB exporter does: launcher entrypoint, CNB user, /workspace", () => {
    expect(exportImageConfig(input)).toEqual({
      User: "1000:1000",
      WorkingDir: "/workspace",
      Env: ["CNB_APP_DIR=/workspace", "CNB_LAYERS_DIR=/layers"],
      Entrypoint: ["/cnb/lifecycle/launcher"],
      Cmd: [],
    });
  });

  it("gives layers and the app to the CNB user, the launcher and process scripts to root", () => {
    expect(exportOwner("layers/hop3_nodejs/node/bin/node", input)).toEqual({ uid: 1000, gid: 1000 });
    expect(exportOwner("workspace/server.js", input)).toEqual({ uid: 1000, gid: 1000 });
    expect(exportOwner("cnb", input)).toEqual({ uid: 0, gid: 0 });
    expect(exportOwner("cnb/lifecycle/launcher", input)).toEqual({ uid: 0, gid: 0 });
    expect(exportOwner("cnbx/file", input)).toEqual({ uid: 1000, gid: 1000 });
  });

  it("labels the image with build and lifecycle metadata", () => {
    const labels = exportLabels(input);
    expect(JSON.parse(labels["io.buildpacks.build.metadata"]!)).toMatchObject({
      processes: [{ type: "web", command: ["npm", "start"], buildpackID: "hop3/nodejs" }],
      buildpacks: [{ id: "hop3/nodejs", version: "0.1.0" }],
      source: { version: { commit: "abc123" } },
    });
    expect(JSON.parse(labels["io.buildpacks.lifecycle.metadata"]!).buildpacks[0].layers.node).toEqual({
      launch: true,
      build: true,
      cache: true,
      data: { v: "18" },
    });
    expect(labels).toMatchObject({
      "io.buildpacks.stack.id": "io.hop3.stacks.bookworm",
      "io.hop3.cnb.default-process": "web",
      "org.opencontainers.image.revision": "abc123",
      "org.example": "x",
    });
  });

  it("merges processes: later buildpacks win, web is the default when none is marked", () => {
    const m = mergeProcesses([
      { buildpackId: "a", processes: [{ type: "web", command: ["a"], args: [], default: false }] },
      { buildpackId: "b", processes: [{ type: "web", command: ["b"], args: [], default: false }] },
    ]);
    expect(m.processes.map((p) => [p.type, p.buildpackId])).toEqual([["web", "b"]]);
    expect(m.defaultProcess).toBe("web");
  });
});

describe("launcher", () => {
  const root = mkdtempSync(join(tmpdir(), "hop3-launcher-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("generates process scripts (golden)", () => {
    expect(
      processScript({ type: "web", command: ["node", "it's.js"], args: ["--port", "5000"], default: true }),
    ).toBe(golden("process-web.sh"));
  });

  it("applies the layers' env and runs the default process, a type, or given args (real sh)", () => {
    // The real script, with /cnb and /layers moved into a temporary directory.
    const script = LAUNCHER_SCRIPT.replaceAll("/cnb/", `${root}/cnb/`);
    const lc = join(root, "cnb", "lifecycle");
    mkdirSync(join(lc, "processes"), { recursive: true });
    mkdirSync(join(root, "cnb", "process"), { recursive: true });
    writeFileSync(join(lc, "launcher"), script);
    chmodSync(join(lc, "launcher"), 0o755);
    symlinkSync(join(lc, "launcher"), join(root, "cnb", "process", "web"));
    const layer = join(root, "layers", "bp", "tools");
    mkdirSync(join(layer, "bin"), { recursive: true });
    mkdirSync(join(layer, "env.launch", "web"), { recursive: true });
    mkdirSync(join(layer, "env"), { recursive: true });
    writeFileSync(join(layer, "bin", "hello"), '#!/bin/sh\necho "hello $GREETING/$MODE/$LIST/$*"\n');
    chmodSync(join(layer, "bin", "hello"), 0o755);
    writeFileSync(join(layer, "env", "GREETING.default"), "hi\n");
    writeFileSync(join(layer, "env", "LIST.prepend"), "a");
    writeFileSync(join(layer, "env", "LIST.delim"), ",");
    writeFileSync(join(layer, "env.launch", "web", "MODE.override"), "web");
    writeFileSync(join(lc, "layers"), `${layer}\n`);
    writeFileSync(join(lc, "default-process"), "web\n");
    writeFileSync(
      join(lc, "processes", "web"),
      processScript({ type: "web", command: ["hello"], args: ["default-arg"], default: true }, root),
    );
    const env = { PATH: "/usr/bin:/bin", LIST: "b", CNB_APP_DIR: root };
    const run = (file: string, args: string[]) => execFileSync(file, args, { env }).toString().trim();
    expect(run(join(lc, "launcher"), [])).toBe("hello hi/web/a,b/default-arg");
    expect(run(join(root, "cnb", "process", "web"), ["x", "y"])).toBe("hello hi/web/a,b/x y");
    expect(run(join(lc, "launcher"), ["/bin/sh", "-c", "hello via-sh"])).toBe("hello hi//a,b/via-sh");
    expect(() =>
      execFileSync(join(lc, "launcher"), [], { env: { ...env, CNB_PROCESS_TYPE: "nope" }, stdio: "pipe" }),
    ).toThrow(/no process type 'nope'/);
  });
});
