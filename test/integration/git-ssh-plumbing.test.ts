/**
 * `git push` over a real OpenSSH server into the real git shell and pre-receive hook, without the Hop3 server:
 * the hook's peer is a small fake API on the Unix socket it connects to (the real server is tested elsewhere).
 * sshd runs as root on a free high port with its own config; the service user is a throwaway `hop3gitt`.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { type AddressInfo, connect, createServer as createTcpServer } from "node:net";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { extract } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitShellCommand, renderAuthorizedKeys, writeAuthorizedKeys } from "../../src/git/authorized-keys.js";
import { parsePublicKey } from "../../src/git/public-key.js";

const USER = "hop3gitt";
const REPO_ROOT = resolve(import.meta.dirname, "../..");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Async on purpose: the fake API server answers from this same event loop. */
function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.stdin.end();
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}

async function freePort(): Promise<number> {
  const srv = createTcpServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitForPort(port: number, sshd: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (sshd.exitCode !== null) throw new Error(`sshd exited (${sshd.exitCode}): ${log()}`);
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        r(true);
      });
      s.once("error", () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}: ${log()}`);
}

function ensureUser(): { uid: number; gid: number } {
  try {
    execFileSync("id", ["-u", USER], { stdio: "ignore" });
  } catch {
    execFileSync("useradd", ["--system", "--create-home", "--shell", "/bin/sh", USER]);
  }
  // A "!" password marks the account locked, and sshd without PAM then refuses even key logins.
  execFileSync("usermod", ["-p", "*", USER]);
  const id = (flag: string) => Number(execFileSync("id", [flag, USER], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

async function tarEntries(gz: Buffer): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  const ex = extract();
  const done = new Promise<void>((r, j) => {
    ex.on("finish", r);
    ex.on("error", j);
  });
  ex.on("entry", (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: unknown) => {
      chunks.push(c as Buffer);
    });
    stream.on("end", () => {
      if (header.type === "file") entries.set(header.name, Buffer.concat(chunks).toString("utf8"));
      next();
    });
  });
  ex.end(gunzipSync(gz));
  await done;
  return entries;
}

interface Received {
  method: string;
  url: URL;
  contentType: string | undefined;
  body: Buffer;
}

type Answer = "ok" | "fail";

describe("git push over real SSH (git shell + pre-receive hook, fake API)", () => {
  let tmp: string;
  let root: string;
  let work: string;
  let sshd: ChildProcess;
  let sshdLog = "";
  let api: Server;
  let answer: Answer = "ok";
  const received: Received[] = [];
  let sshCommand: string;
  let remote: string;
  let sshArgs: string[];
  let port: number;

  async function commit(file: string, content: string): Promise<string> {
    writeFileSync(join(work, file), content);
    await run("git", ["add", "-A"], { cwd: work });
    await run("git", ["commit", "-q", "-m", `change ${file}`], { cwd: work });
    return (await run("git", ["rev-parse", "HEAD"], { cwd: work })).stdout.trim();
  }

  const push = (...args: string[]) =>
    run("git", ["push", ...args], { cwd: work, env: { GIT_SSH_COMMAND: sshCommand, LC_ALL: "C" } });

  const bareRef = async (app: string, ref: string) =>
    (
      await run("git", ["--git-dir", join(root, "git", `${app}.git`), "rev-parse", "--verify", "-q", ref])
    ).stdout.trim();

  beforeAll(async () => {
    if (process.getuid?.() !== 0)
      throw new Error("git-ssh-plumbing: run as root (it starts sshd and adds a user)");
    if (!existsSync("/usr/sbin/sshd")) throw new Error("git-ssh-plumbing: apt-get install -y openssh-server");
    const { uid, gid } = ensureUser();

    tmp = mkdtempSync("/tmp/hop3-git-ssh-");
    chmodSync(tmp, 0o755);

    // Compile the entry points from the current sources so the test never runs a stale dist/.
    const dist = join(tmp, "dist");
    execFileSync(
      process.execPath,
      [
        join(REPO_ROOT, "node_modules/typescript/bin/tsc"),
        ...["--outDir", dist, "--rootDir", join(REPO_ROOT, "src"), "--module", "NodeNext"],
        ...[
          "--moduleResolution",
          "NodeNext",
          "--target",
          "ES2022",
          "--strict",
          "--skipLibCheck",
          "--types",
          "node",
        ],
        join(REPO_ROOT, "src/git/git-shell.ts"),
        join(REPO_ROOT, "src/git/pre-receive.ts"),
      ],
      { cwd: REPO_ROOT, stdio: "pipe" },
    );
    writeFileSync(join(dist, "package.json"), '{ "type": "module" }\n');

    root = join(tmp, "root");
    mkdirSync(join(root, "run"), { recursive: true });
    chownSync(root, uid, gid);
    chmodSync(join(root, "run"), 0o755);

    // The fake API: the hook's only peer.
    api = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "http://localhost");
        received.push({
          method: req.method ?? "",
          url,
          contentType: req.headers["content-type"],
          body: Buffer.concat(chunks),
        });
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        const events: unknown[] = [
          { event: "step", message: "Building image" },
          { event: "log", line: "installing dependencies" },
        ];
        events.push(
          answer === "ok"
            ? {
                event: "done",
                ok: true,
                result: { app: "myapp", release: 1, url: "http://myapp.example.test" },
              }
            : {
                event: "done",
                ok: false,
                error: {
                  kind: "deployFailed",
                  message: "build failed: no start command",
                  hint: "add a Procfile",
                },
              },
        );
        res.end(events.map((e) => `${JSON.stringify(e)}\n`).join(""));
      });
    });
    const socket = join(root, "run", "hop3.sock");
    await new Promise<void>((r) => api.listen(socket, r));
    chmodSync(socket, 0o666);

    // Keys, authorized_keys (rendered and written by the code under test), sshd.
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(tmp, "host_ed25519")]);
    execFileSync("ssh-keygen", [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-C",
      "dev@test",
      "-f",
      join(tmp, "client"),
    ]);
    const key = parsePublicKey(execFileSync("cat", [join(tmp, "client.pub")], { encoding: "utf8" }));
    const authorizedKeys = join(tmp, "home", ".ssh", "authorized_keys");
    const shellCommand = gitShellCommand({ script: join(dist, "git", "git-shell.js"), root });
    await writeAuthorizedKeys(authorizedKeys, renderAuthorizedKeys([key], { shellCommand }), { uid, gid });
    chmodSync(join(tmp, "home"), 0o755);

    port = await freePort();
    const config = join(tmp, "sshd_config");
    writeFileSync(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${join(tmp, "host_ed25519")}`,
        `PidFile ${join(tmp, "sshd.pid")}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "PermitRootLogin no",
        `AllowUsers ${USER}`,
        "LogLevel VERBOSE",
        // As on a stock Debian sshd: the forced command must win over subsystems too.
        "Subsystem sftp /usr/lib/openssh/sftp-server",
        "",
      ].join("\n"),
    );
    mkdirSync("/run/sshd", { recursive: true }); // privilege separation directory
    sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    sshd.stderr?.on("data", (c: Buffer) => {
      sshdLog += c.toString();
    });
    await waitForPort(port, sshd, () => sshdLog);

    sshArgs = [
      ...["-F", "/dev/null", "-i", join(tmp, "client"), "-p", String(port)],
      ...["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"],
      ...["-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR"],
    ];
    sshCommand = ["ssh", ...sshArgs].join(" ");
    remote = `${USER}@127.0.0.1:myapp`;

    work = join(tmp, "work");
    mkdirSync(work);
    await run("git", ["init", "-q", "-b", "main"], { cwd: work });
    await run("git", ["config", "user.email", "dev@example.test"], { cwd: work });
    await run("git", ["config", "user.name", "Dev"], { cwd: work });
    await run("git", ["remote", "add", "hop3", remote], { cwd: work });
  }, 60_000);

  afterAll(async () => {
    sshd?.kill();
    await new Promise((r) => (api ? api.close(r) : r(undefined)));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("a first push creates the repository, sends the source to the API and shows the deploy", async () => {
    const sha = await commit("Procfile", "web: node server.js\n");
    const res = await push("hop3", "main");
    expect(res.stderr, sshdLog).toContain("remote: -----> Building image");
    expect(res.stderr).toContain("remote:        installing dependencies");
    expect(res.stderr).toContain("remote: =====> Application deployed: http://myapp.example.test");
    expect(res.code).toBe(0);
    expect(await bareRef("myapp", "refs/heads/main")).toBe(sha);

    expect(received).toHaveLength(1);
    const req = received[0]!;
    expect(req.method).toBe("POST");
    expect(req.url.pathname).toBe("/api/v1/apps/myapp/deploy");
    expect(req.url.searchParams.get("create")).toBe("1");
    expect(req.url.searchParams.get("revision")).toBe(sha);
    expect(req.contentType).toBe("application/gzip");
    const files = await tarEntries(req.body);
    expect(files.get("Procfile")).toBe("web: node server.js\n");
  });

  it("a failed deploy fails the push and leaves the branch where it was", async () => {
    const before = await bareRef("myapp", "refs/heads/main");
    await commit("app.txt", "v2\n");
    answer = "fail";
    try {
      const res = await push("hop3", "main");
      expect(res.stderr).toContain("remote: !      build failed: no start command");
      expect(res.stderr).toContain("remote: !      add a Procfile");
      expect(res.stderr).toContain("pre-receive hook declined");
      expect(res.code).not.toBe(0);
      expect(await bareRef("myapp", "refs/heads/main")).toBe(before);
      expect(received).toHaveLength(2);
    } finally {
      answer = "ok";
    }
  });

  it("a push of another branch is refused and names the branch to push", async () => {
    await run("git", ["branch", "-f", "feature"], { cwd: work });
    const res = await push("hop3", "feature");
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(
      'remote: !      Hop3 deploys only the branch main or master; "feature" was not accepted',
    );
    expect(res.stderr).toContain("remote: !      push it as the deploy branch: git push hop3 feature:main");
    expect(await bareRef("myapp", "refs/heads/feature")).toBe("");
    expect(received).toHaveLength(2);
  });

  it("deleting the deploy branch is refused", async () => {
    const res = await push("hop3", ":main");
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('deleting "main" is not allowed');
    expect(await bareRef("myapp", "refs/heads/main")).not.toBe("");
  });

  it("refuses shell commands and interactive logins", async () => {
    const marker = join(tmp, "pwned");
    const ls = await run("ssh", [...sshArgs, `${USER}@127.0.0.1`, `ls; touch ${marker}`]);
    expect(ls.code).toBe(1);
    expect(ls.stderr).toContain("Hop3 only accepts git push");
    const login = await run("ssh", [...sshArgs, "-T", `${USER}@127.0.0.1`]);
    expect(login.code).toBe(1);
    expect(login.stderr).toContain("Hop3 only accepts git push; there is no interactive login");
    const injected = await run("ssh", [
      ...sshArgs,
      `${USER}@127.0.0.1`,
      `git-receive-pack 'a;touch ${marker}'`,
    ]);
    expect(injected.code).toBe(1);
    expect(injected.stderr).toContain('invalid app name "a;touch');
    expect(existsSync(marker)).toBe(false);
  });

  it("refuses scp and sftp", async () => {
    writeFileSync(join(tmp, "upload.txt"), "x\n");
    const scp = await run("scp", [
      ...sshArgs.map((a) => (a === "-p" ? "-P" : a)),
      join(tmp, "upload.txt"),
      `${USER}@127.0.0.1:x`,
    ]);
    expect(scp.code).not.toBe(0);
    const legacy = await run("scp", [
      "-O",
      ...sshArgs.map((a) => (a === "-p" ? "-P" : a)),
      join(tmp, "upload.txt"),
      `${USER}@127.0.0.1:x`,
    ]);
    expect(legacy.code).not.toBe(0);
    expect(legacy.stderr).toContain("Hop3 only accepts git push");
    expect(existsSync(`/home/${USER}/x`)).toBe(false);
  });

  it("refuses port forwarding", async () => {
    const res = await run("ssh", [
      ...sshArgs,
      "-o",
      "LogLevel=INFO",
      "-W",
      `127.0.0.1:${port}`,
      `${USER}@127.0.0.1`,
    ]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/stdio forwarding failed|administratively prohibited/);
    // sshd's own log says why: the key's no-port-forwarding option.
    for (let i = 0; i < 40 && !sshdLog.includes("refused local port forward"); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(sshdLog).toContain("refused local port forward");
  });

  it("refuses fetching (git-upload-pack)", async () => {
    const res = await run("git", ["ls-remote", remote], { env: { GIT_SSH_COMMAND: sshCommand } });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("Hop3 only accepts git push; fetching and cloning are not available");
  });

  it("refuses a bad app name before creating anything", async () => {
    const res = await push(`${USER}@127.0.0.1:../Bad_Name`, "main");
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("invalid app name");
    const repos = (await run("ls", [join(root, "git")])).stdout.trim().split("\n");
    expect(repos).toEqual(["myapp.git"]);
  });

  it("reports a server that cannot be reached, and the push fails", async () => {
    await new Promise((r) => api.close(r));
    await commit("app.txt", "v3\n");
    const before = await bareRef("myapp", "refs/heads/main");
    const res = await push("hop3", "main");
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/remote: ! {6}cannot reach the Hop3 server at unix:\S+hop3\.sock/);
    expect(await bareRef("myapp", "refs/heads/main")).toBe(before);
  });
});
