import { describe, expect, it } from "vitest";
import { imagesToPrepare, resolveDeclared } from "../../../src/addons/declared.js";
import { Hop3Error } from "../../../src/util/errors.js";

const none = () => undefined;
const recorded =
  (addons: Record<string, string>) =>
  (name: string): { type: string } | undefined =>
    addons[name] ? { type: addons[name]! } : undefined;

describe("hop3.toml [[addons]] planned before the build", () => {
  it("names each declaration like provision does, and says which exist", () => {
    const r = resolveDeclared(
      "blog",
      [{ type: "mysql" }, { type: "redis", name: "cache" }, { type: "postgres", extensions: ["pg_trgm"] }],
      recorded({ cache: "redis" }),
    );
    expect(r.map((a) => [a.plugin.type, a.name, a.exists, a.extensions])).toEqual([
      ["mariadb", "blog-mariadb", false, []],
      ["redis", "cache", true, []],
      ["postgres", "blog-postgres", false, ["pg_trgm"]],
    ]);
  });

  it("prepares the images of the addons to create only, one per type", () => {
    const r = resolveDeclared(
      "shop",
      [
        { type: "postgres" },
        { type: "postgresql", name: "shop-reports" },
        { type: "mysql", name: "legacy" },
        { type: "redis", name: "shared-cache" },
      ],
      recorded({ legacy: "mariadb", "shared-cache": "redis" }),
    );
    expect(imagesToPrepare(r).map((p) => p.type)).toEqual(["postgres"]);
  });

  it("prepares nothing on a later deploy, when every declared addon exists", () => {
    const r = resolveDeclared("blog", [{ type: "mysql" }], recorded({ "blog-mariadb": "mariadb" }));
    expect(imagesToPrepare(r)).toEqual([]);
    expect(imagesToPrepare(resolveDeclared("blog", [], none))).toEqual([]);
  });

  it("refuses what provision would refuse, before any image is built", () => {
    expect(() => resolveDeclared("blog", [{ type: "mongodb" }], none)).toThrow(
      /unknown addon type "mongodb"/,
    );
    expect(() => resolveDeclared("blog", [{ type: "mysql", name: "Bad_Name" }], none)).toThrow(
      /invalid addon name/,
    );
    expect(() => resolveDeclared("blog", [{ type: "redis", extensions: ["x"] }], none)).toThrow(
      /no extensions/,
    );
    try {
      resolveDeclared("blog", [{ type: "postgres", name: "db" }], recorded({ db: "mariadb" }));
      throw new Error("expected a conflict");
    } catch (err) {
      expect(err).toBeInstanceOf(Hop3Error);
      expect((err as Hop3Error).kind).toBe("conflict");
      expect((err as Hop3Error).message).toBe(
        "hop3.toml declares a postgres addon db, but db is a mariadb addon",
      );
    }
  });
});
