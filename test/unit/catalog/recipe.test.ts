import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkGiven, parseSets, resolveAnswers } from "../../../src/catalog/answers.js";
import { loadRecipe, parseCatalogToml } from "../../../src/catalog/recipe.js";
import { compareVersions } from "../../../src/catalog/versions.js";

const GOOD = `name = "wiki"
version = "1.2.3-1"
upstream = "https://example.org/"
license = "GPL-2.0-only"
description = "A wiki"
category = "wiki"
maintainer = "Hop3 catalog <catalog@hop3.example>"
[resources]
memory = "256M"
[[questions]]
key = "SITE_TITLE"
prompt = "Title of the wiki"
default = "My wiki"
pattern = "^.{1,80}$"
[[questions]]
key = "ADMIN_EMAIL"
prompt = "Admin e-mail"
pattern = "^[^@ ]+@[^@ ]+$"
[notes]
post_install = "Password: hop config:get HOP3_ADMIN_PASSWORD -a {app}"
`;

function writeRecipe(
  root: string,
  name: string,
  toml = GOOD.replace('"wiki"\nversion', `"${name}"\nversion`),
) {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "catalog.toml"), toml);
  writeFileSync(
    join(dir, "hop3.toml"),
    'port = 8000\n[[test.validations]]\npath = "/"\nstatus = 200\ncontains = "hello"\n',
  );
  writeFileSync(join(dir, "Containerfile"), "FROM localhost/hop3/base:bookworm\n");
  return dir;
}

describe("catalog.toml", () => {
  it("accepts the documented format", () => {
    const meta = parseCatalogToml(GOOD, "catalog/wiki/catalog.toml", "wiki");
    expect(meta.questions?.map((q) => q.key)).toEqual(["SITE_TITLE", "ADMIN_EMAIL"]);
    expect(meta.resources?.memory).toBe("256M");
  });

  it("names the file, the line and the key of each problem", () => {
    const bad = GOOD.replace('category = "wiki"', 'category = "games"').replace(
      'memory = "256M"',
      'memory = "lots"\ncolour = "red"',
    );
    expect(() => parseCatalogToml(bad, "catalog/wiki/catalog.toml", "wiki")).toThrow(
      /catalog\/wiki\/catalog.toml:6: category: expected one of cms, wiki.*got "games"[\s\S]*catalog.toml:9: resources.memory[\s\S]*:10: unknown key "resources.colour"/,
    );
  });

  it("refuses a name that is not the directory's, a missing key, a bad pattern and a default its pattern refuses", () => {
    expect(() => parseCatalogToml(GOOD, "c.toml", "other")).toThrow(
      /c.toml:1: name "wiki" must be the directory's name "other"/,
    );
    expect(() => parseCatalogToml(GOOD.replace(/^license.*\n/m, ""), "c.toml")).toThrow(
      /missing required key "license"/,
    );
    expect(() => parseCatalogToml(GOOD.replace('"^.{1,80}$"', '"^(unclosed"'), "c.toml")).toThrow(
      /:14: questions\[0\].pattern: is not a valid regular expression/,
    );
    expect(() => parseCatalogToml(GOOD.replace('"^.{1,80}$"', '"^[0-9]+$"'), "c.toml")).toThrow(
      /questions\[0\].default "My wiki" does not match its own pattern/,
    );
    expect(() => parseCatalogToml("name = [", "c.toml")).toThrow(/^c.toml:1:\d+: /);
  });

  it("loads a recipe directory with hop3.toml through the hop3.toml parser", () => {
    const root = mkdtempSync(join(tmpdir(), "recipe-"));
    const dir = writeRecipe(root, "wiki");
    expect(loadRecipe(dir, "wiki").hop3.test?.validations?.[0]?.contains).toBe("hello");
    writeFileSync(join(dir, "hop3.toml"), "[run]\nstrat = 1\n");
    expect(() => loadRecipe(dir, "wiki")).toThrow(/catalog\/wiki\/hop3.toml:2: unknown key "run.strat"/);
    writeFileSync(join(dir, "hop3.toml"), "port = 8000\n");
    expect(() => loadRecipe(dir, "wiki")).toThrow(/\[\[test.validations\]\] missing/);
  });
});

describe("answers", () => {
  const { questions } = parseCatalogToml(GOOD, "c.toml");
  it("takes --set answers, then the defaults", () => {
    expect(resolveAnswers("wiki", questions!, { ADMIN_EMAIL: "a@b.org" })).toEqual({
      SITE_TITLE: "My wiki",
      ADMIN_EMAIL: "a@b.org",
    });
  });
  it("refuses nonsense, unknown keys and missing answers, naming each", () => {
    expect(() => resolveAnswers("wiki", questions!, { ADMIN_EMAIL: "not an address" })).toThrow(
      /ADMIN_EMAIL="not an address": must match \^\[\^@ \]\+@/,
    );
    expect(() => resolveAnswers("wiki", questions!, { ADMIN_EMAIL: "a@b.org", COLOUR: "red" })).toThrow(
      /COLOUR: wiki asks no such question \(it asks: SITE_TITLE, ADMIN_EMAIL\)/,
    );
    expect(() => resolveAnswers("wiki", questions!, {})).toThrow(
      /ADMIN_EMAIL: Admin e-mail: no answer and no default/,
    );
    expect(() =>
      resolveAnswers("wiki", questions!, { ADMIN_EMAIL: "a@b.org", SITE_TITLE: "x".repeat(81) }),
    ).toThrow(/SITE_TITLE=.*must match/);
    expect(() => checkGiven("wiki", questions!, { NOPE: "1" })).toThrow(/NOPE: wiki asks no such question/);
    expect(() => resolveAnswers("wiki", questions!, { ADMIN_EMAIL: "a@b.org\nX=1" })).toThrow(/ADMIN_EMAIL/);
  });
  it("parses --set KEY=VALUE", () => {
    expect(parseSets(["A=1", "B=x=y"])).toEqual({ A: "1", B: "x=y" });
    expect(() => parseSets(["novalue"])).toThrow(/--set wants KEY=VALUE/);
    expect(() => parseSets(["A=1", "A=2"])).toThrow(/given twice/);
  });
});

describe("versions", () => {
  it("compares like dpkg", () => {
    expect(compareVersions("2024.02.06b-1", "2024.02.06b-2")).toBeLessThan(0);
    expect(compareVersions("1.10", "1.9")).toBeGreaterThan(0);
    expect(compareVersions("1.0~rc1", "1.0")).toBeLessThan(0);
    expect(compareVersions("6.5-hop3.2", "6.5-hop3.10")).toBeLessThan(0);
    expect(compareVersions("1.0", "1.0")).toBe(0);
  });
});
