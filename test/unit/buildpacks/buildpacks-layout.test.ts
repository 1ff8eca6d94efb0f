import { accessSync, constants, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { BUILDPACKS } from "./helpers.js";

const dirs = readdirSync(BUILDPACKS, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(BUILDPACKS, d.name, "buildpack.toml")))
  .map((d) => d.name);

describe("shipped buildpacks", () => {
  it("are all there", () => {
    expect(dirs.sort()).toEqual(
      expect.arrayContaining([
        "go",
        "nodejs",
        "php",
        "postbuild",
        "prebuild",
        "procfile",
        "python",
        "ruby",
        "static",
      ]),
    );
  });

  for (const dir of dirs) {
    describe(dir, () => {
      const toml = parse(readFileSync(join(BUILDPACKS, dir, "buildpack.toml"), "utf8")) as {
        api: string;
        buildpack: { id: string; version: string; name: string };
        targets?: Array<{ os: string }>;
      };
      it("declares Buildpack API 0.10, id hop3/<dir>, a version and linux targets", () => {
        expect(toml.api).toBe("0.10");
        expect(toml.buildpack.id).toBe(`hop3/${dir}`);
        expect(toml.buildpack.version).toMatch(/^\d+\.\d+\.\d+$/);
        expect(toml.targets?.[0]?.os).toBe("linux");
      });
      it("has executable bin/detect and bin/build", () => {
        for (const f of ["bin/detect", "bin/build"]) accessSync(join(BUILDPACKS, dir, f), constants.X_OK);
      });
      it("carries an identical copy of _lib/common.sh when it uses it", () => {
        const uses = ["bin/detect", "bin/build"].some((f) =>
          readFileSync(join(BUILDPACKS, dir, f), "utf8").includes("lib/common.sh"),
        );
        if (!uses) return;
        expect(readFileSync(join(BUILDPACKS, dir, "lib/common.sh"), "utf8")).toBe(
          readFileSync(join(BUILDPACKS, "_lib/common.sh"), "utf8"),
        );
      });
    });
  }
});

describe("order.toml", () => {
  const order = (
    parse(readFileSync(join(BUILDPACKS, "order.toml"), "utf8")) as {
      order: Array<{ group: Array<{ id: string; optional?: boolean }> }>;
    }
  ).order;

  it("only names shipped buildpacks, and every group has a required one", () => {
    for (const g of order) {
      for (const e of g.group) expect(dirs).toContain(e.id.replace(/^hop3\//, ""));
      expect(g.group.some((e) => !e.optional)).toBe(true);
    }
  });

  it("puts the languages before static and the Procfile alone last", () => {
    const required = order.map((g) => g.group.find((e) => !e.optional)?.id);
    expect(required).toEqual([
      "hop3/build-plan",
      "hop3/nodejs",
      "hop3/python",
      "hop3/go",
      "hop3/ruby",
      "hop3/php",
      "hop3/static",
      "hop3/procfile",
    ]);
  });

  it("keeps hooks and Procfile optional, prebuild first and postbuild last", () => {
    for (const g of order) {
      const ids = g.group.map((e) => e.id);
      for (const e of g.group)
        if (
          ["hop3/procfile", "hop3/prebuild", "hop3/postbuild"].includes(e.id) &&
          e.id !== g.group.find((x) => !x.optional)?.id
        )
          expect(e.optional).toBe(true);
      if (ids.includes("hop3/prebuild")) expect(ids[0]).toBe("hop3/prebuild");
      if (ids.includes("hop3/postbuild")) expect(ids[ids.length - 1]).toBe("hop3/postbuild");
    }
  });
});
