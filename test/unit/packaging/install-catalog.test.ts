/**
 * install.sh --catalog NAME (docs/install.md): bad input is refused from the command line alone, before any work
 * (install.sh exits before it asks for root, so these run as any user and change nothing); and the timings and
 * notes install.sh prints are read from `hop catalog:install --timings` output, through the real shell functions.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const repo = resolve(import.meta.dirname, "..", "..", "..");

/** ./install.sh with these arguments, HOP3_ROOT pointing nowhere (no refreshed catalog), as this user. */
function installSh(args: string[]) {
  const r = spawnSync(join(repo, "install.sh"), args, {
    env: { PATH: process.env.PATH ?? "", HOP3_ROOT: join(tmpdir(), "hop3-no-such-root") },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A function of scripts/lib/catalog.sh run on `input` saved to a file. */
function libCall(fn: string, input: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "hop3-install-catalog-")), "out.txt");
  writeFileSync(file, input);
  const script = [
    "set -euo pipefail",
    `. ${repo}/scripts/lib/common.sh`,
    `. ${repo}/scripts/lib/catalog.sh`,
    `${fn} "$1"`,
  ].join("\n");
  return execFileSync("bash", ["-c", script, "bash", file], { encoding: "utf8" });
}

describe("install.sh --catalog: refused before any work", { timeout: 60_000 }, () => {
  it.each([
    [["--catalog", "wordpres"], /--catalog wordpres: the catalog has no such app; it has: .*wordpress/],
    [["--catalog", "../etc"], /not a recipe name/],
    [["--catalog"], /--catalog needs a value/],
    [["--domain", "blog.example.org"], /--app, --domain and --set go with --catalog NAME/],
    [
      ["--catalog", "wordpress", "--set", "NO_SUCH_KEY=1"],
      /--set NO_SUCH_KEY: wordpress asks no such question/,
    ],
    [["--catalog", "wordpress", "--set", "SITE_TITLE"], /--set SITE_TITLE: expected KEY=VALUE/],
    [["--catalog", "wordpress", "--domain", "bad_name.example"], /not a host name/],
    [["--catalog=wordpress", "--app=Blog"], /--app Blog: an app name is/],
  ])("%j", (args, message) => {
    const r = installSh(args);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    // nothing was started: not even the root check or the install lock
    expect(r.out).toBe("");
    expect(r.err).not.toMatch(/run this as root/);
  });

  it("documents the options in --help", () => {
    const r = installSh(["--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--catalog NAME +then install NAME from the catalog/);
  });
});

describe("install.sh --catalog: what it reads from hop catalog:install --timings", () => {
  // the shape runOperation and timingsTable print (src/cli/render.ts, src/deploy/timings.ts)
  const output = [
    "-----> Installing wordpress 6.1.9 as wordpress",
    "       Config vars: SITE_TITLE",
    "=====> Installed wordpress 6.1.9 as wordpress: https://blog.example.test/",
    "-----> Timings",
    "       STEP               TIME",
    "       build           181.20s",
    "         prepare         0.50s",
    "       addons           24.05s",
    "       release phase     6.10s",
    "       validations       3.00s",
    "       total           230.00s",
    "",
    "Log in as admin at https://blog.example.test/wp-admin/ ; the password: `hop run -a wordpress printenv X`.",
    "",
  ].join("\n");

  it("takes the top-level steps, not the sub-steps nor the total", () => {
    expect(libCall("timing_rows", output)).toBe(
      "build\t181.20\naddons\t24.05\nrelease phase\t6.10\nvalidations\t3.00\n",
    );
  });

  it("takes the notes printed after the table", () => {
    expect(libCall("notes_of", output)).toBe(
      "Log in as admin at https://blog.example.test/wp-admin/ ; the password: `hop run -a wordpress printenv X`.\n",
    );
  });
});
