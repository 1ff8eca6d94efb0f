#!/usr/bin/env node
/**
 * What hop3-server's memory is made of, without touching the running server: starts separate, plain node
 * processes that load exactly the modules the server loads (the imports of dist/server/main.js, without
 * running it), optionally churn through short-lived garbage like a deploy does, idle, and read their memory.
 * Each variant runs with different V8 flags, so the effect of a flag (e.g. via NODE_OPTIONS in hop3.env)
 * can be judged before anyone restarts the real server with it.
 *
 * Run:  node bench/node-baseline.mjs [--server /opt/hop3/dist/server/main.js] [--idle 5]
 * Exit status: 0 when every variant ran, 1 otherwise.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { machineInfo, median, mib, parseArgs, printMachine, repoRoot, rssOf, sleep, table } from "./lib.mjs";

const USAGE = `Usage: node bench/node-baseline.mjs [options]

  --server PATH  the server entry whose imports are loaded (default /opt/hop3/dist/server/main.js,
                 else dist/server/main.js)
  --idle S       seconds each process idles before it is measured (default 5)
  --churn MB     garbage each "churn" variant allocates and drops before idling (default 200)
  --per-module   also load each import of the server, each npm dependency and dockerode's heavy
                 dependencies alone`;

const opts = parseArgs(process.argv.slice(2), { server: "", idle: 5, churn: 200, perModule: false });
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const serverMain = [opts.server, "/opt/hop3/dist/server/main.js", join(repoRoot, "dist/server/main.js")].find(
  (p) => p && existsSync(p),
);
if (!serverMain) throw new Error("no dist/server/main.js: install Hop3 or run `npm run build`");

// The server's own import list, so this follows the server as it changes.
const specifiers = [...readFileSync(serverMain, "utf8").matchAll(/^import\s[^;]*?from\s+"([^"]+)";/gms)]
  .map((m) => m[1])
  .filter((s) => !s.startsWith("node:"));

const keepAlive = "setInterval(() => {}, 1000);";
const loadAll = `await Promise.all(${JSON.stringify(specifiers)}.map((s) => import(s)));`;
// Short-lived objects like a deploy's streams and JSON: strings and arrays dropped right away.
const churn = `{ let keep = 0; for (let i = 0; i < ${opts.churn} * 16; i++) { const a = new Array(4096).fill(i).map(String); keep += a.length; } globalThis.churned = keep; }`;

const variants = [
  { name: "bare node (setInterval)", flags: [], code: keepAlive },
  { name: "server modules loaded", flags: [], code: `${loadAll}${keepAlive}` },
  { name: `modules + ${opts.churn} MB churn`, flags: [], code: `${loadAll}${churn}${keepAlive}` },
  {
    name: "  + --max-semi-space-size=1",
    flags: ["--max-semi-space-size=1"],
    code: `${loadAll}${churn}${keepAlive}`,
  },
  {
    name: "  + --max-old-space-size=48",
    flags: ["--max-old-space-size=48"],
    code: `${loadAll}${churn}${keepAlive}`,
  },
  {
    name: "  + semi 1 + old 48",
    flags: ["--max-semi-space-size=1", "--max-old-space-size=48"],
    code: `${loadAll}${churn}${keepAlive}`,
  },
  // --lite-mode and --jitless also turn WebAssembly off, which Node's own fetch (undici) needs: the server
  // would fail on its first fetch, so they are shown only to record that.
  {
    name: "  + --lite-mode (breaks fetch)",
    flags: ["--lite-mode"],
    code: `${loadAll}${churn}${keepAlive}`,
    mayFail: true,
  },
];

if (opts.perModule) {
  // Every npm dependency alone, and what dockerode pulls in: an SSH client and gRPC/protobuf (for BuildKit
  // sessions) that Hop3 never uses (src/runtime/docker-client.ts loads them only on first use).
  const deps = Object.keys(
    JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).dependencies ?? {},
  );
  const extra = [...deps, "docker-modem", "ssh2", "@grpc/grpc-js", "protobufjs"];
  for (const s of [...specifiers, ...extra.filter((e) => !specifiers.includes(e))]) {
    variants.push({
      name: `only ${s}`,
      flags: [],
      code: `await import(${JSON.stringify(s)});${keepAlive}`,
      mayFail: true,
    });
  }
}

/** Starts one variant, waits for it to be ready and idle, reads its memory 3 times, stops it. */
async function measure(v) {
  const child = spawn(
    process.execPath,
    [...v.flags, "--input-type=module", "-e", `${v.code}process.stdout.write("ready\\n");`],
    {
      cwd: dirname(serverMain),
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NODE_OPTIONS: "" },
    },
  );
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  try {
    await new Promise((res, rej) => {
      child.stdout.on("data", (d) => String(d).includes("ready") && res());
      child.on("exit", (code) => rej(new Error(`${v.name}: exited ${code}: ${err.trim().slice(0, 500)}`)));
    });
    await sleep(opts.idle * 1000);
    const reads = [];
    for (let i = 0; i < 3; i++) {
      if (i) await sleep(500);
      const r = rssOf(child.pid);
      if (!r) throw new Error(`${v.name}: went away`);
      reads.push(r);
    }
    const med = (k) => median(reads.map((r) => r[k]));
    return {
      name: v.name,
      flags: v.flags,
      rss: med("rss"),
      private: med("private"),
      anon: med("anon"),
      file: med("file"),
    };
  } finally {
    child.kill("SIGTERM");
  }
}

let failed = false;
try {
  const info = await machineInfo();
  console.log(
    "What hop3-server's memory is made of: separate node processes, idle, after loading its modules",
  );
  printMachine(info);
  console.log(`server:  ${serverMain} (${specifiers.length} imports: ${specifiers.join(", ")})`);
  console.log("");
  const rows = [["variant", "RSS MiB", "private MiB", "anon MiB", "file MiB"]];
  for (const v of variants) {
    try {
      const r = await measure(v);
      rows.push([r.name, mib(r.rss), mib(r.private), mib(r.anon), mib(r.file)]);
    } catch (e) {
      if (!v.mayFail) throw e;
      rows.push([
        v.name,
        "fails",
        /ReferenceError: \w+ is not defined/.exec(e.message)?.[0] ?? "exited",
        "",
        "",
      ]);
    }
  }
  console.log(table(rows));
  console.log("");
  console.log(
    "file = mapped files, almost all the node binary's code (shared by every node process on the host);" +
      " private = what only this process holds.",
  );
} catch (e) {
  failed = true;
  console.error(`node-baseline: ${e.message}`);
}
process.exit(failed ? 1 : 0);
