import { describe, expect, it } from "vitest";
import { isIgnored, parseDockerignore } from "../../../src/build/dockerignore.js";

/** The paths of `paths` that the ignore file `text` leaves in the build context. */
function kept(text: string, paths: string[]): string[] {
  const rules = parseDockerignore(text);
  return paths.filter((p) => !isIgnored(rules, p));
}

describe("parseDockerignore", () => {
  it("skips comments and blank lines, keeps one rule per pattern", () => {
    const rules = parseDockerignore("# build output\n\n   \nnode_modules\r\n!keep\n#!not-a-rule\n");
    expect(rules.map((r) => r.negate)).toEqual([false, true]);
    expect(rules[0]!.regex.test("node_modules")).toBe(true);
    expect(rules[1]!.regex.test("keep")).toBe(true);
  });

  it("treats only a # in column 1 as a comment, as Docker does", () => {
    expect(kept(" #notes\n# hidden", ["#notes", "# hidden"])).toEqual(["# hidden"]);
  });

  it("ignores a UTF-8 byte order mark before the first pattern", () => {
    expect(kept("\uFEFFsecret.env\n", ["secret.env", "x"])).toEqual(["x"]);
  });

  it("drops patterns that clean to nothing", () => {
    expect(parseDockerignore("/\n.\n./\n!\n")).toEqual([]);
  });
});

describe("isIgnored (Docker semantics)", () => {
  it("ignores nothing without rules", () => {
    expect(isIgnored([], "anything/at/all")).toBe(false);
  });

  it("anchors patterns at the context root (unlike .gitignore)", () => {
    expect(kept("foo", ["foo", "sub/foo", "foo/bar", "foobar"])).toEqual(["sub/foo", "foobar"]);
    expect(kept("*.log", ["a.log", "logs/a.log"])).toEqual(["logs/a.log"]);
  });

  it("does not let * or ? cross a /", () => {
    expect(kept("*/temp*", ["a/temp.txt", "a/b/temp.txt", "temp.txt", "a/tempdir/x"])).toEqual([
      "a/b/temp.txt",
      "temp.txt",
    ]);
    expect(kept("temp?", ["temp1", "tempab", "tem"])).toEqual(["tempab", "tem"]);
    expect(kept("a?b", ["a/b"])).toEqual(["a/b"]);
  });

  it("lets ** match any number of directories, zero included", () => {
    expect(kept("**/*.go", ["main.go", "cmd/x/main.go", "README.md"])).toEqual(["README.md"]);
    expect(kept("docs/**/*.png", ["docs/a.png", "docs/x/y/a.png", "docsa.png", "other/docs/a.png"])).toEqual([
      "docsa.png",
      "other/docs/a.png",
    ]);
    expect(kept("build/**", ["build/a", "build/a/b", "builder"])).toEqual(["builder"]);
  });

  it("re-includes with ! and lets the last matching pattern win", () => {
    expect(kept("*.md\n!README*.md\nREADME-secret.md", ["a.md", "README.md", "README-secret.md"])).toEqual([
      "README.md",
    ]);
    // order matters: an exclusion after the exception wins again
    expect(kept("!README.md\n*.md", ["README.md"])).toEqual([]);
  });

  it("excludes everything below an excluded directory, unless re-included", () => {
    expect(kept("node_modules", ["node_modules/a/index.js", "src/node_modules.ts"])).toEqual([
      "src/node_modules.ts",
    ]);
    expect(kept("vendor\n!vendor/keep", ["vendor/drop", "vendor/keep", "vendor/keep/deep.txt"])).toEqual([
      "vendor/keep",
      "vendor/keep/deep.txt",
    ]);
    expect(kept("*\n!src", ["src/main.ts", "secret.env", "test/x.ts"])).toEqual(["src/main.ts"]);
  });

  it("treats a leading /, ./ and a trailing / as the same root-relative pattern", () => {
    for (const p of ["/tmp", "./tmp", "tmp/", "/tmp/", "tmp//", "./tmp/./"]) {
      expect(kept(p, ["tmp", "tmp/x", "a/tmp"]), p).toEqual(["a/tmp"]);
    }
    expect(kept("a/../b", ["a", "b"])).toEqual(["a"]);
  });

  it("trims spaces around a pattern and after !", () => {
    expect(kept("  *.tmp  \n! keep.tmp", ["x.tmp", "keep.tmp"])).toEqual(["keep.tmp"]);
  });

  it("supports character classes, ranges and negated classes", () => {
    expect(kept("file[0-9].txt", ["file1.txt", "filea.txt"])).toEqual(["filea.txt"]);
    expect(kept("[abc].js", ["a.js", "d.js"])).toEqual(["d.js"]);
    expect(kept("file[^0-9].txt", ["file1.txt", "filea.txt"])).toEqual(["file1.txt"]);
  });

  it("negates a class with ^ only: a leading ! is a member, as in Go's filepath.Match", () => {
    expect(kept("[!a].txt", ["a.txt", "!.txt", "b.txt"])).toEqual(["b.txt"]);
  });

  it("matches dots and regex metacharacters literally, and honours backslash escapes", () => {
    expect(kept("a.b", ["a.b", "axb"])).toEqual(["axb"]);
    expect(kept("(x)+$", ["(x)+$", "x"])).toEqual(["x"]);
    expect(kept("\\*.txt", ["*.txt", "a.txt"])).toEqual(["a.txt"]);
    expect(kept("\\[x]", ["[x]", "x"])).toEqual(["x"]);
  });

  it("leaves an unclosed [ as a literal", () => {
    expect(kept("a[b", ["a[b", "ab"])).toEqual(["ab"]);
  });

  it("excludes dotfiles only when a pattern names them", () => {
    expect(kept(".git\n.env*", [".git/config", ".env", ".env.local", ".github/workflows/ci.yml"])).toEqual([
      ".github/workflows/ci.yml",
    ]);
  });
});
