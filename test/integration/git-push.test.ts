/**
 * `git push hop3@HOST:APP main` over the host's real OpenSSH server, into the real hop3-server:
 * the first push creates the app, the log comes back as `remote:` lines, a broken push fails `git push`
 * and leaves the previous release serving.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../../src/client/api-client.js";
import { destroyQuietly, fixture, getThroughRouter, hop, uniqueApp } from "./helpers.js";

const sshPort = process.env.HOP3_SSH_PORT ?? "22";

describe("git push over SSH", () => {
  const app = uniqueApp("it-push");
  const dir = mkdtempSync(join(tmpdir(), "hop3-push-"));
  const work = join(dir, "repo");
  const key = join(dir, "id_ed25519");
  let fingerprint = "";
  let url = "";
  const gitEnv = () => ({
    GIT_SSH_COMMAND: `ssh -i ${key} -p ${sshPort} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o BatchMode=yes`,
    GIT_AUTHOR_NAME: "Test",
    GIT_AUTHOR_EMAIL: "test@example.org",
    GIT_COMMITTER_NAME: "Test",
    GIT_COMMITTER_EMAIL: "test@example.org",
  });
  const git = (args: string[]) => execa("git", args, { cwd: work, env: gitEnv(), reject: false, all: true });

  beforeAll(async () => {
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "hop3-it", "-f", key]);
    const added = await hop(["setup:ssh", `${key}.pub`, "--json"]);
    expect(added.exitCode, added.stdout + added.stderr).toBe(0);
    fingerprint = (JSON.parse(added.stdout) as { fingerprint: string }).fingerprint;
    cpSync(fixture("greeter"), work, { recursive: true });
    await git(["init", "-q", "-b", "main"]);
    await git(["add", "-A"]);
    await git(["commit", "-q", "-m", "first"]);
    await git(["remote", "add", "hop3", `hop3@127.0.0.1:${app}`]);
  });

  afterAll(async () => {
    await destroyQuietly(app);
    if (fingerprint) {
      await new ApiClient().json(`/api/v1/ssh-keys/${encodeURIComponent(fingerprint)}`, { method: "DELETE" });
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("the first push creates the app, streams the build as remote: lines and ends with the URL", async () => {
    const r = await git(["push", "hop3", "main"]);
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/remote: -----> Building the image/);
    // where the push's seconds went, in one line (deploy-timings.test.ts checks the whole table)
    expect(r.all).toMatch(
      /remote: +Timings: upload [\d.]+s, .*build [\d.]+s, .*health check [\d.]+s, .*total [\d.]+s/,
    );
    const m = r.all?.match(/remote: =====> Application deployed: (\S+)/);
    expect(m, r.all).toBeTruthy();
    url = m![1]!;
    expect((await getThroughRouter(url)).body).toBe(`hello from ${app} (v1)`);
    const { releases } = JSON.parse((await hop(["releases", "--app", app, "--json"])).stdout) as {
      releases: { revision: string }[];
    };
    const head = (await git(["rev-parse", "HEAD"])).stdout;
    expect(releases[0]?.revision).toBe(head);
  });

  it("a push that fails to build fails git push and the app keeps serving", async () => {
    const cf = join(work, "Containerfile");
    writeFileSync(cf, readFileSync(cf, "utf8").replace("COPY server.py ./", "RUN exit 7\nCOPY server.py ./"));
    await git(["commit", "-q", "-am", "broken"]);
    const r = await git(["push", "hop3", "main"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.all).toMatch(/remote: !\s+.*build of Containerfile failed/);
    expect(r.all).toMatch(/pre-receive hook declined/);
    expect((await getThroughRouter(url)).body).toBe(`hello from ${app} (v1)`);
  });

  it("refuses pushes to another branch and anything but git push", async () => {
    const r = await git(["push", "hop3", "main:feature"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.all).toMatch(/main/);
    const shell = await execa(
      "ssh",
      [...gitEnv().GIT_SSH_COMMAND.split(" ").slice(1), "hop3@127.0.0.1", "ls", "/"],
      { reject: false, all: true },
    );
    expect(shell.exitCode).not.toBe(0);
    expect(shell.all).toMatch(/only accepts git push/);
  });
});
