import { describe, expect, it } from "vitest";
import {
  BUILTIN_BUILDPACK_MAPS,
  findBuildpackMapping,
  mappingLogLine,
  normaliseBuildpackUrl,
  parseMapTarget,
  unreachableBuildpackError,
} from "../../../src/build/cnb/buildpack-urls.js";
import { parseBuildpackRef } from "../../../src/build/cnb/order.js";
import { Hop3Error } from "../../../src/util/errors.js";

const NODE = "https://github.com/heroku/heroku-buildpack-nodejs";

describe("normaliseBuildpackUrl: every spelling of one buildpack is one key", () => {
  it.each([
    "https://github.com/heroku/heroku-buildpack-nodejs",
    "https://github.com/heroku/heroku-buildpack-nodejs.git",
    "https://github.com/heroku/heroku-buildpack-nodejs/",
    "https://github.com/heroku/heroku-buildpack-nodejs.git/",
    "https://github.com/heroku/heroku-buildpack-nodejs#v200",
    "https://github.com/heroku/heroku-buildpack-nodejs.git#main",
    "http://github.com/heroku/heroku-buildpack-nodejs",
    "https://www.github.com/heroku/heroku-buildpack-nodejs",
    "https://GitHub.com/Heroku/Heroku-Buildpack-NodeJS.git",
    "github.com/heroku/heroku-buildpack-nodejs",
    "git@github.com:heroku/heroku-buildpack-nodejs.git",
    "ssh://git@github.com/heroku/heroku-buildpack-nodejs.git",
    "git://github.com/heroku/heroku-buildpack-nodejs.git",
    "git+https://github.com/heroku/heroku-buildpack-nodejs.git",
    "https://user:secret@github.com/heroku/heroku-buildpack-nodejs.git",
    "  https://github.com/heroku/heroku-buildpack-nodejs  ",
  ])("%s", (spelling) => {
    expect(normaliseBuildpackUrl(spelling)).toBe(NODE);
  });

  it.each([
    ["https://buildpack-registry.s3.amazonaws.com/buildpacks/heroku/nodejs.tgz", "heroku/nodejs"],
    ["https://codon-buildpacks.s3.amazonaws.com/buildpacks/heroku/ruby.tgz", "heroku/ruby"],
    [
      "https://buildpack-registry.s3.amazonaws.com/buildpacks/heroku-community/static.tgz",
      "heroku-community/static",
    ],
    ["heroku/nodejs", "heroku/nodejs"],
    ["Heroku/NodeJS", "heroku/nodejs"],
    ["urn:cnb:registry:heroku/python@1.2.3", "heroku/python"],
    ["https://git.example.org:8443/Team/BP.git", "https://git.example.org:8443/Team/BP"],
  ])("%s -> %s", (input, key) => {
    expect(normaliseBuildpackUrl(input)).toBe(key);
  });

  it("keeps the case of paths on hosts that may honour it", () => {
    expect(normaliseBuildpackUrl("https://git.example.org/Org/Repo")).not.toBe(
      normaliseBuildpackUrl("https://git.example.org/org/repo"),
    );
  });

  it.each(["", "   ", "nodejs", "./buildpacks/mine", "ftp://example.org/bp", "https://"])(
    "refuses %j",
    (input) => {
      expect(() => normaliseBuildpackUrl(input)).toThrow(Hop3Error);
    },
  );
});

describe("built-in mappings", () => {
  it.each([
    ["https://github.com/heroku/heroku-buildpack-nodejs.git", "hop3/nodejs"],
    ["https://github.com/heroku/heroku-buildpack-python", "hop3/python"],
    ["https://github.com/heroku/heroku-buildpack-go.git#v180", "hop3/go"],
    ["https://github.com/heroku/heroku-buildpack-php", "hop3/php"],
    ["git@github.com:heroku/heroku-buildpack-ruby.git", "hop3/ruby"],
    ["https://github.com/heroku/heroku-buildpack-static", "hop3/static"],
    ["https://github.com/ryandotsmith/null-buildpack.git", "hop3/procfile"],
    ["https://buildpack-registry.s3.amazonaws.com/buildpacks/heroku/nodejs.tgz", "hop3/nodejs"],
    ["heroku/python", "hop3/python"],
    ["heroku/go", "hop3/go"],
    ["heroku-community/static", "hop3/static"],
  ])("%s -> %s", (url, target) => {
    expect(findBuildpackMapping(url, {})).toEqual({
      key: normaliseBuildpackUrl(url),
      target,
      source: "built-in",
    });
  });

  it("every built-in key is already in canonical form (a lookup can find it)", () => {
    for (const key of Object.keys(BUILTIN_BUILDPACK_MAPS)) expect(normaliseBuildpackUrl(key)).toBe(key);
  });

  it("an operator mapping wins over the built-in one, whatever spelling either uses", () => {
    const operator = { [NODE]: "https://mirror.example.org/nodejs.git" };
    expect(findBuildpackMapping("git@github.com:heroku/heroku-buildpack-nodejs.git", operator)).toEqual({
      key: NODE,
      target: "https://mirror.example.org/nodejs.git",
      source: "operator",
    });
  });

  it("an unknown URL, or something that is no URL, has no mapping", () => {
    expect(findBuildpackMapping("https://git.example.org/acme/bp.git", {})).toBeUndefined();
    expect(findBuildpackMapping("nodejs", {})).toBeUndefined();
    expect(findBuildpackMapping("toString", {})).toBeUndefined();
  });

  it("names the mapping in the build log", () => {
    const m = findBuildpackMapping(`${NODE}.git`, {})!;
    expect(mappingLogLine(".buildpacks", `${NODE}.git`, m)).toBe(
      "-----> .buildpacks: https://github.com/heroku/heroku-buildpack-nodejs.git -> hop3/nodejs (built-in mapping)",
    );
  });
});

describe("parseMapTarget", () => {
  it.each([
    ["hop3/nodejs", { kind: "id", id: "hop3/nodejs" }],
    ["hop3/python@0.1.0", { kind: "id", id: "hop3/python", version: "0.1.0" }],
    ["/etc/hop3/buildpacks/mine/", { kind: "path", path: "/etc/hop3/buildpacks/mine" }],
    ["https://mirror.example.org/bp.git", { kind: "url", url: "https://mirror.example.org/bp.git" }],
    [
      "https://mirror.example.org/bp.git#v2",
      { kind: "url", url: "https://mirror.example.org/bp.git", ref: "v2" },
    ],
    ["git@mirror.example.org:bp.git", { kind: "url", url: "git@mirror.example.org:bp.git" }],
  ])("%s", (input, target) => {
    expect(parseMapTarget(input)).toEqual(target);
  });

  it.each(["", "hop3 nodejs", "/etc/../root", "https://mirror/x.git#a b", "ftp://x/y", "hop3/nodejs@"])(
    "refuses %j",
    (input) => {
      expect(() => parseMapTarget(input)).toThrow(Hop3Error);
    },
  );
});

describe("the unmapped URL error says how to map it", () => {
  it("with the canonical URL, an example target and the server's buildpacks", () => {
    const err = unreachableBuildpackError(
      "https://git.example.invalid/Acme/bp.git#v1",
      "git exited with 128",
      ["hop3/prebuild", "hop3/nodejs", "hop3/go"],
    );
    expect(err.kind).toBe("deployFailed");
    expect(err.exitCode).toBe(8);
    expect(err.message).toBe(
      "cannot fetch buildpack https://git.example.invalid/Acme/bp.git#v1 (git exited with 128), and no mapping names it",
    );
    expect(err.hint).toContain("hop buildpacks:map https://git.example.invalid/Acme/bp hop3/nodejs");
    expect(err.hint).toContain("(this server has hop3/go, hop3/nodejs)");
  });
});

describe("parseBuildpackRef: registry ids", () => {
  it("reads urn:cnb:registry: as an id to look up (or map)", () => {
    expect(parseBuildpackRef("urn:cnb:registry:heroku/nodejs@3.0.0", "x")).toEqual({
      kind: "local",
      name: "heroku/nodejs",
      version: "3.0.0",
    });
  });
});
