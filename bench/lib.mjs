/**
 * Shared helpers of the benchmark scripts: plain ESM on Node built-ins only, so the scripts run straight
 * from a checkout (no build, no dependencies) on a host where install.sh has set Hop3 up.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { request } from "node:http";
import { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** KEY=VALUE lines of /etc/hop3/hop3.env (the server's settings), so we look where the server listens. */
export function serverSettings(file = "/etc/hop3/hop3.env") {
  const out = {};
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^["']|["']$/g, "");
  }
  return out;
}

export function hostSetup() {
  const s = serverSettings();
  return {
    baseDomain: process.env.HOP3_BASE_DOMAIN ?? s.HOP3_BASE_DOMAIN ?? "hop3.localhost",
    httpPort: Number(process.env.HOP3_HTTP_PORT ?? s.HOP3_HTTP_PORT ?? 80),
    routerContainer: process.env.HOP3_ROUTER_CONTAINER ?? s.HOP3_ROUTER_CONTAINER ?? "hop3-router",
    root: process.env.HOP3_ROOT ?? s.HOP3_ROOT ?? "/var/lib/hop3",
  };
}

/** The hop CLI: the installed one, else the repo's build. */
export function hopCli(explicit) {
  for (const c of [explicit, "/opt/hop3/dist/cli/main.js", join(repoRoot, "dist/cli/main.js")]) {
    if (c && existsSync(c)) return c;
  }
  throw new Error("no hop CLI found: install Hop3 (install.sh) or run `npm run build`");
}

/** Minimal --flag VALUE / --flag parser: the scripts have a handful of options each. */
export function parseArgs(argv, spec) {
  const out = { ...spec };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") {
      out.help = true;
      continue;
    }
    const key = a.replace(/^--/, "").replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!a.startsWith("--") || !(key in spec)) throw new Error(`unknown option ${a}`);
    if (typeof spec[key] === "boolean") out[key] = true;
    else {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      out[key] = typeof spec[key] === "number" ? Number(v) : v;
      if (typeof spec[key] === "number" && !Number.isFinite(out[key])) throw new Error(`${a}: not a number`);
    }
  }
  return out;
}

/** Runs a command (argument array, no shell); resolves with stdout, rejects with stderr on failure. */
export function run(cmd, args, opts = {}) {
  return new Promise((res, rej) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024, ...opts }, (err, stdout, stderr) => {
      if (err) {
        err.message = `${cmd} ${args.join(" ")} failed: ${String(stderr).trim() || err.message}`;
        rej(err);
      } else res(String(stdout));
    });
  });
}

let hop3Uid;
export function hop3UserId() {
  if (hop3Uid === undefined) {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.startsWith("hop3:"));
    if (!line) throw new Error("no hop3 user: install Hop3 first (install.sh)");
    hop3Uid = Number(line.split(":")[2]);
  }
  return hop3Uid;
}

/** podman as the hop3 user (its rootless storage is where Hop3 builds and runs). */
export function podman(args, opts = {}) {
  const uid = hop3UserId();
  const env = ["HOME=/home/hop3", `XDG_RUNTIME_DIR=/run/user/${uid}`, "PATH=/usr/local/bin:/usr/bin:/bin"];
  if (process.getuid?.() === uid) return run("podman", args, opts);
  // from /: runuser keeps the caller's directory, which hop3 may not be allowed to enter (/root/...)
  return run("runuser", ["-u", "hop3", "--", "env", ...env, "podman", ...args], { cwd: "/", ...opts });
}

/** Runs the hop CLI, output captured (shown on failure). */
export function hop(cli, args, opts = {}) {
  return run(process.execPath, [cli, ...args], opts);
}

/** One GET; resolves { status, body } or null when nothing answers. Never throws. */
export function httpGet(port, path = "/", host, timeoutMs = 2000) {
  return new Promise((res) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: "GET", headers: host ? { host } : {}, timeout: timeoutMs },
      (r) => {
        let body = "";
        r.setEncoding("utf8");
        r.on("data", (d) => {
          body += d;
        });
        r.on("end", () => res({ status: r.statusCode, body }));
        r.on("error", () => res(null));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => res(null));
    req.end();
  });
}

/**
 * Polls until a 2xx answer whose body contains `marker` (so an older container or a router placeholder
 * never counts), every `intervalMs`. Resolves the time it answered (performance.now()).
 */
export async function waitForAnswer({ port, host, marker, intervalMs = 50, timeoutMs = 120_000 }) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const r = await httpGet(port, "/", host, 2000);
    if (r && r.status >= 200 && r.status < 300 && (!marker || r.body.includes(marker)))
      return performance.now();
    if (performance.now() > deadline) {
      throw new Error(
        `no answer${marker ? ` containing ${marker}` : ""} on 127.0.0.1:${port}${host ? ` (Host: ${host})` : ""} ` +
          `within ${timeoutMs / 1000}s (last: ${r ? `${r.status} ${r.body.slice(0, 80)}` : "no connection"})`,
      );
    }
    await sleep(intervalMs);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function median(xs) {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Memory of a process in KiB; null when it is gone. rss/anon/file from /proc/PID/status; from smaps_rollup
 * (when readable) pss (shared pages divided among their users) and private (USS: what exiting would free).
 */
export function rssOf(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  const kib = (src, k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(src)?.[1] ?? Number.NaN);
  let rollup = "";
  try {
    rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  } catch {
    // older kernels or no permission: pss and private stay NaN
  }
  return {
    rss: kib(text, "VmRSS"),
    anon: kib(text, "RssAnon"),
    file: kib(text, "RssFile"),
    pss: kib(rollup, "Pss"),
    private: kib(rollup, "Private_Clean") + kib(rollup, "Private_Dirty"),
  };
}

/** Processes as { pid, ppid, uid, argv }, read from /proc. */
export function processes() {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").filter(Boolean);
      const status = readFileSync(`/proc/${d}/status`, "utf8");
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      out.push({ pid: Number(d), ppid, uid, argv });
    } catch {
      // raced with the process exiting
    }
  }
  return out;
}

const pidNamespace = (pid) => {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
};

/**
 * The running hop3-server: the node process of dist/server/main.js owned by hop3, in our pid namespace
 * (a test host in a container, with its own server, can show up with the same uid).
 */
export function findServerPid() {
  const uid = hop3UserId();
  const ours = pidNamespace("self");
  const found = processes().filter(
    (p) =>
      p.uid === uid &&
      pidNamespace(p.pid) === ours &&
      /(^|\/)node$/.test(p.argv[0] ?? "") &&
      p.argv.some((a) => a.endsWith("dist/server/main.js") || a.endsWith("hop3-server")),
  );
  if (found.length === 0)
    throw new Error("hop3-server is not running (no node process of dist/server/main.js owned by hop3)");
  if (found.length > 1)
    throw new Error(`more than one hop3-server: pids ${found.map((p) => p.pid).join(", ")}`);
  return found[0].pid;
}

/** The machine the figures come from. */
export async function machineInfo() {
  const mem = Object.fromEntries(
    readFileSync("/proc/meminfo", "utf8")
      .split("\n")
      .map((l) => /^(\w+):\s+(\d+)/.exec(l))
      .filter(Boolean)
      .map((m) => [m[1], Number(m[2])]),
  );
  let podmanVersion = "unknown";
  try {
    podmanVersion = (await podman(["version", "--format", "{{.Client.Version}}"])).trim();
  } catch {
    // reported as unknown; the benchmark itself will say what failed
  }
  const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  let os = "";
  try {
    os = /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "";
  } catch {}
  return {
    date: new Date().toISOString(),
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    memAvailableGiB: +((mem.MemAvailable ?? 0) / 2 ** 20).toFixed(1),
    kernel,
    os,
    node: process.version,
    podman: podmanVersion,
  };
}

export function printMachine(info) {
  console.log(
    `machine: ${info.nproc} CPU (${info.cpu}), ${info.memoryGiB} GiB RAM (${info.memAvailableGiB} available), ` +
      `${info.os}, kernel ${info.kernel}, node ${info.node}, podman ${info.podman}`,
  );
  console.log(`date:    ${info.date}`);
}

/** A fixed-width text table: header row then rows, columns padded to the widest cell. */
export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows
    .map((r, ri) => {
      const line = r
        .map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
        .join("  ");
      return ri === 0 ? `${line}\n${"-".repeat(line.length)}` : line;
    })
    .join("\n");
}

export const secs = (ms) => (ms / 1000).toFixed(2);
export const mib = (kib) => (kib / 1024).toFixed(1);

/** Runs a child and returns its exit code (for spawning long commands whose output we stream or drop). */
export function spawnWait(cmd, args, opts = {}) {
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, opts);
    c.on("error", rej);
    c.on("exit", (code) => res(code));
  });
}

/**
 * Runs a benchmark's main() and always its cleanup(), also on Ctrl-C (exit 130); exits 0 when the
 * measurement ran, whatever it measured, and 1 when something failed to run.
 */
export async function runBenchmark(name, main, cleanup) {
  process.once("SIGINT", () => {
    console.error("interrupted: cleaning up");
    cleanup().finally(() => process.exit(130));
  });
  let failed = false;
  try {
    await main();
  } catch (e) {
    failed = true;
    console.error(`${name}: ${e.message}`);
  } finally {
    await cleanup();
  }
  process.exit(failed ? 1 : 0);
}
