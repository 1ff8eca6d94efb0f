/**
 * Integration tests drive the real thing: the `hop` CLI built from this tree, talking to the hop3-server
 * that install.sh started (rootless Podman as the `hop3` user, Caddy router), and plain HTTP through
 * the router with a Host header.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { retryWhileImagesGo } from "../../src/runtime/containers.js";

export const repoRoot = resolve(import.meta.dirname, "..", "..");
export const fixture = (name: string) => resolve(repoRoot, "test", "fixtures", "apps", name);
export const cliPath = resolve(repoRoot, "dist", "cli", "main.js");

export const uniqueApp = (prefix: string) => `${prefix}-${randomBytes(3).toString("hex")}`;

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** What a CLI run printed, stdout then stderr: where a test looks for a message wherever the CLI wrote it. */
export const cliOutput = (r: CliResult) => `${r.stdout}\n${r.stderr}`;

export async function hop(
  args: string[],
  opts: { cwd?: string; input?: string; env?: Record<string, string> } = {},
) {
  const r = await execa(process.execPath, [cliPath, ...args], {
    reject: false,
    cwd: opts.cwd ?? repoRoot,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: "ignore" }),
    env: { NO_COLOR: "1", ...opts.env },
    timeout: 600_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) } as CliResult;
}

type RouterAnswer = { status: number; body: string; headers: http.IncomingHttpHeaders };

/**
 * GET through the router: connect to 127.0.0.1 on the URL's port, with the URL's host as Host header. A
 * connection reset before any answer is tried once more: Caddy 2.6 occasionally resets a connection it is
 * accepting at the very moment it swaps configurations (docs/routing.md; router-caddy.test measures how
 * rarely), and test files running side by side change routes, and so reload Caddy, at any moment. A browser
 * retries an idempotent GET so too. Anything else (a status, a timeout) is the answer.
 */
export async function getThroughRouter(url: string, path = "/"): Promise<RouterAnswer> {
  try {
    return await getOnce(url, path);
  } catch (err) {
    if (!/socket hang up|ECONNRESET|EPIPE/.test((err as Error).message)) throw err;
    await new Promise((r) => setTimeout(r, 200));
    return getOnce(url, path);
  }
}

function getOnce(url: string, path: string): Promise<RouterAnswer> {
  const u = new URL(url);
  return new Promise((resolvePromise, reject) => {
    const req = http.get(
      { host: "127.0.0.1", port: Number(u.port || 80), path, headers: { host: u.host }, timeout: 10_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout on ${url}${path}`)));
    req.on("error", reject);
  });
}

/** The URL `hop deploy` printed on its success line. */
export function deployedUrl(output: string): string {
  const m = output.match(/deployed: (https?:\/\/\S+)/);
  if (!m) throw new Error(`no deployed URL in output:\n${output}`);
  return m[1]!;
}

export async function podmanAsHop3(args: string[]): Promise<string> {
  const uid = (await execa("id", ["-u", "hop3"])).stdout.trim();
  const r = await execa(
    "runuser",
    ["-u", "hop3", "--", "env", "HOME=/home/hop3", `XDG_RUNTIME_DIR=/run/user/${uid}`, "podman", ...args],
    { reject: false, cwd: "/" },
  );
  if (r.exitCode !== 0) throw new Error(`podman ${args.join(" ")} failed: ${r.stderr}`);
  return String(r.stdout);
}

/**
 * `podman images` (as hop3) in a format, one line per image. Podman 4.3 fails a whole listing when another
 * test file removes an image meanwhile ("image not known", "locating image with ID"): tried again with the
 * server's own retry for that race (retryWhileImagesGo, src/runtime/containers.ts).
 */
export function podmanImages(format: string, extra: string[] = []): Promise<string[]> {
  return retryWhileImagesGo(
    async () => (await podmanAsHop3(["images", ...extra, "--format", format])).split("\n").filter(Boolean),
    5,
    (err) => /image not known|locating image with ID/.test(err.message),
  );
}

/** Everything of one app that Podman still holds: containers, images, networks, volumes. */
export async function leftovers(app: string): Promise<string[]> {
  const containers = (
    await podmanAsHop3(["ps", "-a", "--filter", `label=io.hop3.app=${app}`, "--format", "{{.Names}}"])
  )
    .split("\n")
    .filter(Boolean);
  const images = (await podmanImages("{{.Repository}}:{{.Tag}}")).filter((l) =>
    l.startsWith(`localhost/hop3/${app}:`),
  );
  const networks = (await podmanAsHop3(["network", "ls", "--format", "{{.Name}}"]))
    .split("\n")
    .filter((n) => n === `hop3-${app}`);
  const volumes = (await podmanAsHop3(["volume", "ls", "--format", "{{.Name}}"]))
    .split("\n")
    .filter((v) => v.startsWith(`hop3-${app}-`));
  return [...containers, ...images, ...networks, ...volumes];
}

export async function destroyQuietly(app: string): Promise<void> {
  await hop(["destroy", "--app", app, "--confirm", app]);
}

/**
 * Builds a fixture's Containerfile into the hop3 user's storage once (FROM the base image), for tests whose
 * apps start FROM it and so run no RUN step of their own.
 */
export async function buildFixtureImage(name: string, tag: string): Promise<void> {
  const ctx = mkdtempSync(join(tmpdir(), `hop3-${name}-img-`));
  cpSync(fixture(name), ctx, { recursive: true });
  chmodSync(ctx, 0o755);
  try {
    await podmanAsHop3([
      "build",
      "-q",
      "-t",
      tag,
      "--build-arg",
      "BASE_IMAGE=localhost/hop3/base:bookworm",
      ctx,
    ]);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** Names of an app's running web containers, as the hop3 user's Podman lists them. */
export async function webContainerNames(app: string): Promise<string[]> {
  const out = await podmanAsHop3([
    "ps",
    "--filter",
    `label=io.hop3.app=${app}`,
    "--filter",
    "label=io.hop3.process=web",
    "--format",
    "{{.Names}}",
  ]);
  return out.split("\n").filter(Boolean);
}
