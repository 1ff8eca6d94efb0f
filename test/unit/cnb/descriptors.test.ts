import { describe, expect, it } from "vitest";
import {
  parseBuildpackToml,
  parseDetectPlan,
  parseLaunchToml,
  parseLayerToml,
  parseOrderToml,
  shellQuote,
} from "../../../src/build/cnb/descriptors.js";
import { expandOrder, parseBuildpacksFile, parseProjectToml } from "../../../src/build/cnb/order.js";

describe("CNB descriptors", () => {
  it("parses buildpack.toml, including composite orders", () => {
    const bp = parseBuildpackToml(
      'api = "0.10"\n[buildpack]\nid = "samples/hello-universe"\nversion = "0.0.1"\nclear-env = true\n[[order]]\n[[order.group]]\nid = "samples/hello-world"\n[[order.group]]\nid = "samples/hello-moon"\noptional = true\n',
    );
    expect(bp).toMatchObject({ api: "0.10", id: "samples/hello-universe", clearEnv: true });
    expect(bp.order).toEqual([
      [
        { id: "samples/hello-world", optional: false },
        { id: "samples/hello-moon", optional: true },
      ],
    ]);
    expect(() => parseBuildpackToml('api = "0.10"\n[buildpack]\nid = "app"\nversion = "1"\n')).toThrow(
      /invalid buildpack id/,
    );
    expect(() => parseBuildpackToml('api = "0.10"\n')).toThrow(/\[buildpack\]/);
  });

  it("parses order.toml and rejects an empty one", () => {
    expect(parseOrderToml('[[order]]\n[[order.group]]\nid = "a"\nversion = "1"\n')).toEqual([
      [{ id: "a", version: "1", optional: false }],
    ]);
    expect(() => parseOrderToml("")).toThrow(/no \[\[order\]\]/);
  });

  it("parses detect plans with [[or]] alternatives", () => {
    const plan = parseDetectPlan(
      '[[provides]]\nname = "node"\n[[requires]]\nname = "node"\n[requires.metadata]\nversion = "18"\n[[or]]\n[[or.provides]]\nname = "npm"\n',
    );
    expect(plan).toEqual([
      { provides: [{ name: "node" }], requires: [{ name: "node", metadata: { version: "18" } }] },
      { provides: [{ name: "npm" }], requires: [] },
    ]);
    expect(parseDetectPlan("")).toEqual([]);
  });

  it("reads layer types from [types] (API 0.6+) and from top-level keys (older APIs)", () => {
    expect(parseLayerToml("[types]\nlaunch = true\ncache = true\n[metadata]\nv = 1\n")).toEqual({
      types: { launch: true, build: false, cache: true },
      metadata: { v: 1 },
    });
    expect(parseLayerToml("build = true\n").types).toEqual({ launch: false, build: true, cache: false });
  });

  it("parses launch.toml processes, array and legacy string commands", () => {
    const l = parseLaunchToml(
      '[[processes]]\ntype = "web"\ncommand = ["node", "server.js"]\nargs = ["--port", "5000"]\ndefault = true\nworking-dir = "/workspace/app"\n[[processes]]\ntype = "worker"\ncommand = "echo it\'s $HOME"\nargs = ["a b"]\n[[labels]]\nkey = "k"\nvalue = "v"\n',
    );
    expect(l.processes[0]).toEqual({
      type: "web",
      command: ["node", "server.js"],
      args: ["--port", "5000"],
      default: true,
      workingDir: "/workspace/app",
    });
    expect(l.processes[1]).toEqual({
      type: "worker",
      command: ["/bin/sh", "-c", "echo it's $HOME 'a b'"],
      args: [],
      default: false,
    });
    expect(l.labels).toEqual([{ key: "k", value: "v" }]);
    expect(() => parseLaunchToml('[[processes]]\ntype = "a b"\ncommand = ["x"]\n')).toThrow(
      /invalid process type/,
    );
  });

  it("quotes shell words", () => {
    expect(shellQuote("plain/path-1.0")).toBe("plain/path-1.0");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote("$HOME")).toBe("'$HOME'");
  });
});

describe("app buildpack lists and orders", () => {
  it("parses .buildpacks lines: repo dirs or ids, absolute paths, git URLs with refs", () => {
    expect(
      parseBuildpacksFile(
        "# mine\n./bp/hello\nheroku/nodejs@1.0  # pinned\n/srv/bp\n\nhttps://github.com/x/y.git#v2\n",
      ),
    ).toEqual([
      { kind: "local", name: "./bp/hello" },
      { kind: "local", name: "heroku/nodejs", version: "1.0" },
      { kind: "path", path: "/srv/bp" },
      { kind: "git", url: "https://github.com/x/y.git", ref: "v2" },
    ]);
    expect(() => parseBuildpacksFile("docker://gcr.io/x\n")).toThrow(/\.buildpacks:1/);
  });

  it("reads project.toml groups and build env", () => {
    const p = parseProjectToml(
      '[[io.buildpacks.group]]\nuri = "./bp"\n[[io.buildpacks.group]]\nid = "a/b"\nversion = "2"\n[[io.buildpacks.build.env]]\nname = "X"\nvalue = "1"\n',
    );
    expect(p.refs).toEqual([
      { kind: "local", name: "./bp" },
      { kind: "local", name: "a/b", version: "2" },
    ]);
    expect(p.env).toEqual({ X: "1" });
  });

  it("expands composite buildpacks into one group per inner group", () => {
    const meta = {
      api: "0.10",
      id: "m",
      version: "1",
      clearEnv: false,
      order: [[{ id: "x", optional: false }], [{ id: "y", optional: false }]],
    };
    const out = expandOrder(
      [
        [
          { id: "a", optional: false },
          { id: "m", optional: true },
        ],
      ],
      (e) => (e.id === "m" ? meta : undefined),
    );
    expect(out).toEqual([
      [
        { id: "a", optional: false },
        { id: "x", optional: true },
      ],
      [
        { id: "a", optional: false },
        { id: "y", optional: true },
      ],
    ]);
  });
});
