/** Drives scripts/testhost and what runs inside a test host (root's podman on this machine). */
import { spawn } from "node:child_process";
import { request } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type Options } from "execa";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SCRIPT = join(REPO, "scripts", "testhost");

export function canRunTestHosts(): string | undefined {
  if (process.getuid?.() !== 0) return "e2e test hosts need root (root's podman runs them)";
  return undefined;
}

export async function testhost(args: string[], opts: Options = {}) {
  const r = await execa(SCRIPT, args, { reject: false, all: true, ...opts });
  if (r.exitCode !== 0) {
    throw new Error(
      `scripts/testhost ${args.join(" ")} failed (exit ${r.exitCode}):\n${tail(String(r.all))}`,
    );
  }
  return String(r.stdout).trim();
}

export function tail(text: string, lines = 60): string {
  return text.split("\n").slice(-lines).join("\n");
}

export class TestHost {
  constructor(readonly name: string) {}

  /** Runs argv inside as root; throws with the output's tail unless `allowFail`. */
  async exec(
    argv: string[],
    opts: { input?: string; timeout?: number; allowFail?: boolean; env?: Record<string, string> } = {},
  ) {
    const envArgs = Object.entries(opts.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    const r = await execa("podman", ["exec", "-i", ...envArgs, this.name, ...argv], {
      reject: false,
      all: true,
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      timeout: opts.timeout ?? 60_000,
    });
    // a timed-out command may leave its exit code unset or 0: never count it as a success
    const code = r.timedOut ? -1 : (r.exitCode ?? -1);
    if (code !== 0 && !opts.allowFail) {
      throw new Error(
        `in test host ${this.name}: \`${argv.join(" ")}\` failed (exit ${r.exitCode}${r.timedOut ? ", timed out" : ""}):\n${tail(String(r.all))}`,
      );
    }
    return { code, out: String(r.stdout), all: String(r.all) };
  }

  /** Runs argv as the hop3 user with its rootless podman/systemd environment. */
  asHop3(argv: string[], opts: { timeout?: number; allowFail?: boolean } = {}) {
    return this.exec(
      [
        "runuser",
        "-u",
        "hop3",
        "--",
        "sh",
        "-c",
        'cd / && export HOME=/home/hop3 XDG_RUNTIME_DIR=/run/user/$(id -u) && export DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus && exec "$@"',
        "sh",
        ...argv,
      ],
      opts,
    );
  }

  async port(containerPort: number): Promise<number> {
    return Number(await testhost(["port", this.name, String(containerPort)]));
  }

  /** Streams a tar of `files` (relative to REPO) into `dest` inside the host. */
  async copyIn(files: string[], dest: string): Promise<void> {
    await this.exec(["mkdir", "-p", dest]);
    await new Promise<void>((resolvePromise, reject) => {
      const tar = spawn("tar", ["-C", REPO, "--null", "-T", "-", "-c", "-f", "-"], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      const untar = spawn("podman", ["exec", "-i", this.name, "tar", "-x", "-C", dest, "-f", "-"], {
        stdio: ["pipe", "inherit", "inherit"],
      });
      tar.stdout.pipe(untar.stdin);
      tar.stdin.end(files.map((f) => `${f}\0`).join(""));
      let done = 0;
      const finish = (what: string) => (code: number | null) => {
        if (code !== 0) reject(new Error(`${what} exited with ${code} while copying the checkout in`));
        else if (++done === 2) resolvePromise();
      };
      tar.on("close", finish("tar"));
      untar.on("close", finish("podman exec tar -x"));
    });
  }
}

/** GET through the router with a Host header (fetch cannot set Host). */
export function httpGet(port: number, host: string, path = "/", timeoutMs = 5_000) {
  return new Promise<{ status: number; body: string }>((resolvePromise, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host }, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** Polls until `probe` answers true; returns the seconds it took, or throws `message` with the last error. */
export async function waitFor(
  message: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 500,
): Promise<number> {
  const started = Date.now();
  let last = "";
  while (Date.now() - started < timeoutMs) {
    try {
      if (await probe()) return (Date.now() - started) / 1000;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${message} (waited ${timeoutMs / 1000}s${last ? `; last error: ${last}` : ""})`);
}
