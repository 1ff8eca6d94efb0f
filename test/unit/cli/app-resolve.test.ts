import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { appFromRemoteUrl, requireApp, resolveApp, searchDirs } from "../../../src/cli/app-resolve.js";
import { gitRevision } from "../../../src/cli/git-revision.js";
import { Hop3Error } from "../../../src/util/errors.js";
import { useTempDirs } from "./temp-dir.js";

const tempDir = useTempDirs();

async function gitRepo(dir: string, remote?: string) {
  await execa("git", ["init", "-q", dir]);
  if (remote) await execa("git", ["-C", dir, "remote", "add", "hop3", remote]);
}

describe("app resolution order", () => {
  it("takes --app, then HOP3_APP, then .hop3-app, then hop3.toml, then the hop3 remote", async () => {
    const dir = tempDir();
    await gitRepo(dir, "hop3@example.com:from-remote");
    const resolveHere = (flag?: string, env: NodeJS.ProcessEnv = {}) => resolveApp({ flag, env, dir });

    expect(await resolveHere()).toMatchObject({ name: "from-remote", source: "git-remote" });

    writeFileSync(join(dir, "hop3.toml"), '[metadata]\nid = "from-toml"\n');
    expect(await resolveHere()).toMatchObject({ name: "from-toml", source: "hop3.toml" });

    writeFileSync(join(dir, ".hop3-app"), "# the app\nfrom-file\n");
    expect(await resolveHere()).toMatchObject({ name: "from-file", source: "file" });

    expect(await resolveHere(undefined, { HOP3_APP: "from-env" })).toMatchObject({
      name: "from-env",
      source: "env",
    });
    expect(await resolveHere("from-flag", { HOP3_APP: "from-env" })).toMatchObject({
      name: "from-flag",
      source: "flag",
    });
  });

  it("finds .hop3-app in a parent directory up to the git root, and prefers hop3/hop3.toml", async () => {
    const root = tempDir();
    await gitRepo(root);
    const sub = join(root, "services", "api");
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(root, ".hop3-app"), "parent-app");
    expect(await resolveApp({ env: {}, dir: sub })).toMatchObject({ name: "parent-app", source: "file" });

    const other = tempDir();
    mkdirSync(join(other, "hop3"));
    writeFileSync(join(other, "hop3.toml"), '[metadata]\nid = "root-toml"\n');
    writeFileSync(join(other, "hop3", "hop3.toml"), '[metadata]\nid = "nested-toml"\n');
    expect(await resolveApp({ env: {}, dir: other })).toMatchObject({
      name: "nested-toml",
      source: "hop3.toml",
    });
  });

  it("does not look above the directory outside a git work tree", () => {
    const dir = tempDir();
    const sub = join(dir, "a", "b");
    mkdirSync(sub, { recursive: true });
    expect(searchDirs(sub)).toEqual([sub]);
  });

  it("ignores a hop3.toml without [metadata].id or with a syntax error", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "hop3.toml"), "[run]\nstart = 'x'\n");
    expect(await resolveApp({ env: {}, dir })).toBeUndefined();
    writeFileSync(join(dir, "hop3.toml"), "[metadata\nid=");
    expect(await resolveApp({ env: {}, dir })).toBeUndefined();
  });

  it("makes a missing app a usage error that says how to name one", async () => {
    const dir = tempDir();
    const err = await requireApp({ env: {}, dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Hop3Error);
    expect((err as Hop3Error).exitCode).toBe(2);
    expect((err as Hop3Error).hint).toContain("--app NAME");
    expect((err as Hop3Error).hint).toContain(".hop3-app");
  });
});

describe("hop3 remote URLs", () => {
  it("reads the app from scp-like and ssh:// URLs", () => {
    expect(appFromRemoteUrl("hop3@host:myapp")).toBe("myapp");
    expect(appFromRemoteUrl("hop3@host.example.com:myapp.git")).toBe("myapp");
    expect(appFromRemoteUrl("ssh://hop3@host:2222/myapp")).toBe("myapp");
    expect(appFromRemoteUrl("ssh://hop3@host/myapp.git/")).toBe("myapp");
    expect(appFromRemoteUrl("/srv/git/myapp.git")).toBeUndefined();
  });
});

describe("gitRevision", () => {
  it("is HEAD, marked -dirty when the tree has changes, and undefined outside git", async () => {
    const dir = tempDir();
    expect(await gitRevision(dir)).toBeUndefined();
    await gitRepo(dir);
    writeFileSync(join(dir, "a.txt"), "a");
    expect(await gitRevision(dir)).toBeUndefined(); // no commit yet
    const git = (...args: string[]) =>
      execa("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", ...args]);
    await git("add", "a.txt");
    await git("commit", "-q", "-m", "first");
    const head = String((await git("rev-parse", "HEAD")).stdout).trim();
    expect(await gitRevision(dir)).toBe(head);
    writeFileSync(join(dir, "a.txt"), "changed");
    expect(await gitRevision(dir)).toBe(`${head}-dirty`);
  });
});
