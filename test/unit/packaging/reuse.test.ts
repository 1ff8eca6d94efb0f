/**
 * The repository is REUSE-compliant (https://reuse.software/spec-3.3/) through REUSE.toml alone: every file in
 * the tree (tracked, or new and not ignored) is covered by an annotation giving its copyright and licence, and
 * every licence used has its text in LICENSES/ (and no text there is unused). What `reuse lint` checks, for
 * machines without the tool (it comes from PyPI).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..", "..", "..");

interface Annotation {
  path: string | string[];
  precedence?: string;
  "SPDX-FileCopyrightText"?: string | string[];
  "SPDX-License-Identifier"?: string;
}

/** REUSE.toml globs: `*` is anything but `/`, `**` is anything, `\*` a literal star. */
function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "\\" && i + 1 < glob.length) {
      re += glob[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    } else if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
    } else if (c === "*") re += "[^/]*";
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

const reuse = parse(readFileSync(resolve(root, "REUSE.toml"), "utf8")) as unknown as {
  version: number;
  annotations: Annotation[];
};
const annotations = reuse.annotations.map((a) => ({
  ...a,
  patterns: (Array.isArray(a.path) ? a.path : [a.path]).map(globToRegExp),
}));

/** The annotation REUSE applies to a path: the last table that matches. */
function annotationOf(path: string) {
  let found: (typeof annotations)[number] | undefined;
  for (const a of annotations) if (a.patterns.some((p) => p.test(path))) found = a;
  return found;
}

function treeFiles(): string[] {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return out
    .split("\0")
    .filter((f) => f !== "" && !f.startsWith("LICENSES/") && f !== "REUSE.toml")
    .sort();
}

const licenceIds = (expression: string) =>
  expression
    .replace(/[()]/g, " ")
    .split(/\s+/)
    .filter((t) => t && !["AND", "OR", "WITH"].includes(t));

describe("REUSE compliance", () => {
  it("REUSE.toml is version 1 of the format", () => {
    expect(reuse.version).toBe(1);
  });

  it("the glob rules are REUSE's", () => {
    expect(globToRegExp("**").test("a/b/c.ts")).toBe(true);
    expect(globToRegExp("src/*.ts").test("src/a.ts")).toBe(true);
    expect(globToRegExp("src/*.ts").test("src/x/a.ts")).toBe(false);
    expect(globToRegExp("a/**").test("a/b/c")).toBe(true);
    expect(globToRegExp("x\\*.md").test("x*.md")).toBe(true);
    expect(globToRegExp("x\\*.md").test("xy.md")).toBe(false);
  });

  it("every file has a copyright notice and a licence", () => {
    const files = treeFiles();
    expect(files.length).toBeGreaterThan(100);
    const uncovered = files.filter((f) => {
      const a = annotationOf(f);
      return !a?.["SPDX-FileCopyrightText"] || !a["SPDX-License-Identifier"];
    });
    expect(uncovered).toEqual([]);
  });

  it("third-party fixtures carry their own licence", () => {
    expect(annotationOf("test/fixtures/apps/dokku-ruby/Gemfile.lock")?.["SPDX-License-Identifier"]).toBe(
      "MIT",
    );
    expect(annotationOf("test/fixtures/vulndb/osv-array.json")?.["SPDX-License-Identifier"]).toBe(
      "CC-BY-4.0",
    );
    expect(annotationOf("test/fixtures/vulndb/README.md")?.["SPDX-License-Identifier"]).toBe("Apache-2.0");
    expect(annotationOf("src/cli/main.ts")?.["SPDX-FileCopyrightText"]).toBe("2026 Hop3 contributors");
  });

  it("every licence used has its text in LICENSES/, and every text there is used", () => {
    const used = new Set(reuse.annotations.flatMap((a) => licenceIds(a["SPDX-License-Identifier"] ?? "")));
    const texts = readdirSync(resolve(root, "LICENSES"))
      .filter((f) => f.endsWith(".txt"))
      .map((f) => f.slice(0, -4));
    expect([...used].sort()).toEqual(texts.sort());
  });

  it("Hop3's own licence is package.json's, and LICENSES/ holds its full text", () => {
    const pkg = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8")) as { license: string };
    expect(annotationOf("package.json")?.["SPDX-License-Identifier"]).toBe(pkg.license);
    const text = readFileSync(resolve(root, `LICENSES/${pkg.license}.txt`), "utf8");
    expect(text).toContain("TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION");
    expect(text).toContain("END OF TERMS AND CONDITIONS");
  });
});
