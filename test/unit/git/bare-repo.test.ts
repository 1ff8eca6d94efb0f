import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureBareRepo, renderPreReceiveHook, repoPath } from "../../../src/git/bare-repo.js";

const dir = mkdtempSync(join(tmpdir(), "hop3-bare-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("renderPreReceiveHook", () => {
  it("execs node on the hook script, quoted for sh", () => {
    expect(renderPreReceiveHook("/usr/bin/node", "/opt/hop3/dist/git/pre-receive.js")).toBe(
      "#!/bin/sh\n# Installed by Hop3 at every push; deploys the pushed branch through the Hop3 server.\n" +
        "exec '/usr/bin/node' '/opt/hop3/dist/git/pre-receive.js'\n",
    );
    expect(renderPreReceiveHook("/n", "/it's here/x.js")).toContain(`exec '/n' '/it'\\''s here/x.js'`);
  });
});

describe("ensureBareRepo", () => {
  it("creates the bare repository with its config and hook, and is idempotent", async () => {
    const repo = repoPath(join(dir, "root"), "myapp");
    expect(repo).toBe(join(dir, "root", "git", "myapp.git"));
    await ensureBareRepo(repo, "#!/bin/sh\nexit 0\n");
    await ensureBareRepo(repo, "#!/bin/sh\nexit 3\n");
    const git = (...args: string[]) =>
      execFileSync("git", ["--git-dir", repo, ...args], { encoding: "utf8" }).trim();
    expect(git("rev-parse", "--is-bare-repository")).toBe("true");
    expect(git("config", "receive.denyDeletes")).toBe("true");
    expect(git("symbolic-ref", "HEAD")).toBe("refs/heads/main");
    const hook = join(repo, "hooks", "pre-receive");
    expect(readFileSync(hook, "utf8")).toBe("#!/bin/sh\nexit 3\n");
    expect(statSync(hook).mode & 0o777).toBe(0o755);
  });

  it("bounds the size of a push (receive.maxInputSize), also on repositories created before the bound", async () => {
    const repo = repoPath(join(dir, "root"), "older");
    execFileSync("git", ["init", "--bare", "--quiet", repo]);
    await ensureBareRepo(repo, "#!/bin/sh\nexit 0\n", 1024 * 1024);
    const git = (...args: string[]) =>
      execFileSync("git", ["--git-dir", repo, ...args], { encoding: "utf8" }).trim();
    expect(git("config", "receive.maxInputSize")).toBe(String(1024 * 1024));
    // a push over the bound is refused by git before anything is stored
    const work = join(dir, "work");
    execFileSync("git", ["init", "--quiet", "--initial-branch=main", work]);
    writeFileSync(join(work, "big.bin"), randomBytes(3 * 1024 * 1024)); // incompressible
    const g = (...args: string[]) =>
      execFileSync("git", ["-C", work, "-c", "user.email=t@t", "-c", "user.name=t", ...args], {
        encoding: "utf8",
        stdio: "pipe",
      });
    g("add", ".");
    g("commit", "--quiet", "-m", "big");
    expect(() => g("push", "--quiet", repo, "main")).toThrow(
      /pack exceeds maximum allowed size|remote unpack failed|rejected/,
    );
    expect(() => git("rev-parse", "--verify", "refs/heads/main")).toThrow();
  });
});
