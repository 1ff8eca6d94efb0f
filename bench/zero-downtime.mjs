#!/usr/bin/env node
/**
 * Zero-downtime deploys, measured: a constant request load through the router (keep-alive loops on
 * loopback) while the app is redeployed N times (default 5) and rolled back once. Prints failed requests
 * (target 0) and the latency distribution during deploys against the quiet baseline, side by side.
 *
 * Also measures recovery: time from `podman kill` of the web container to the app answering again
 * (target < 5 s).
 *
 * Usage: node bench/zero-downtime.mjs [--deploys 5] [--concurrency 4] [--json FILE]
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  hop,
  hopCli,
  hostSetup,
  machineInfo,
  median,
  parseArgs,
  podman,
  printMachine,
  repoRoot,
  sleep,
  table,
} from "./lib.mjs";

const opts = parseArgs(process.argv.slice(2), { deploys: 5, concurrency: 4, json: "" });
if (opts.help) {
  console.log("node bench/zero-downtime.mjs [--deploys 5] [--concurrency 4] [--json FILE]");
  process.exit(0);
}

const cli = hopCli();
const { httpPort, baseDomain } = hostSetup();
const app = `bench-zd-${process.pid}`;
const host = `${app}.${baseDomain}`;
const dir = mkdtempSync(join(tmpdir(), "hop3-bench-zd-"));
cpSync(join(repoRoot, "test/fixtures/apps/greeter"), dir, { recursive: true });

const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
function get() {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port: httpPort, path: "/", headers: { host }, agent, timeout: 10_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () =>
          resolve({ ok: res.statusCode === 200, status: res.statusCode, ms: performance.now() - t0, body }),
        );
        res.on("error", (e) => resolve({ ok: false, status: e.code, ms: performance.now() - t0 }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ ok: false, status: e.code ?? e.message, ms: performance.now() - t0 }));
    req.end();
  });
}

/** Runs `concurrency` request loops until stopped; collects every result with its phase. */
function load() {
  const results = [];
  let phase = "baseline";
  let running = true;
  const loops = Array.from({ length: opts.concurrency }, async () => {
    // bounded: at most 200k requests per loop, and the loops stop with the benchmark
    for (let i = 0; running && i < 200_000; i++) results.push({ phase, ...(await get()) });
  });
  return {
    results,
    setPhase: (p) => {
      phase = p;
    },
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

const pct = (xs, p) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function main() {
  const info = await machineInfo();
  printMachine(info);
  console.log(
    `app ${app} at http://${host}:${httpPort}/, ${opts.concurrency} request loops, ${opts.deploys} deploys + 1 rollback\n`,
  );
  await hop(cli, ["deploy", dir, "--app", app]);
  const l = load();
  await sleep(3000);
  // a code change per deploy (the COPY layer and what follows rebuild; the cached apt layer stays)
  const server = join(dir, "server.py");
  const phases = [];
  for (let i = 1; i <= opts.deploys; i++) {
    writeFileSync(server, `${readFileSync(server, "utf8")}\n# deploy ${i}\n`);
    l.setPhase(`deploy ${i}`);
    const t0 = performance.now();
    await hop(cli, ["deploy", dir, "--app", app]);
    phases.push({ phase: `deploy ${i}`, seconds: (performance.now() - t0) / 1000 });
  }
  l.setPhase("rollback");
  const t0 = performance.now();
  await hop(cli, ["rollback", "--app", app]);
  phases.push({ phase: "rollback", seconds: (performance.now() - t0) / 1000 });
  l.setPhase("after");
  await sleep(2000);
  await l.stop();

  const during = l.results.filter((r) => r.phase !== "baseline" && r.phase !== "after");
  const baseline = l.results.filter((r) => r.phase === "baseline");
  const failed = l.results.filter((r) => !r.ok);
  const rows = [["phase", "requests", "failed", "p50 ms", "p99 ms", "max ms"]];
  for (const name of ["baseline", ...phases.map((p) => p.phase), "after"]) {
    const rs = l.results.filter((r) => r.phase === name);
    const ms = rs.map((r) => r.ms);
    rows.push([
      name,
      rs.length,
      rs.filter((r) => !r.ok).length,
      pct(ms, 50).toFixed(1),
      pct(ms, 99).toFixed(1),
      Math.max(0, ...ms).toFixed(1),
    ]);
  }
  console.log(table(rows));
  const spike =
    pct(
      during.map((r) => r.ms),
      99,
    ) /
    Math.max(
      0.001,
      pct(
        baseline.map((r) => r.ms),
        99,
      ),
    );
  console.log(
    `\nfailed requests: ${failed.length} of ${l.results.length} (target 0) -> ${failed.length === 0 ? "PASS" : "FAIL"}`,
  );
  if (failed.length)
    console.log(`  failures: ${[...new Set(failed.map((f) => String(f.status)))].join(", ")}`);
  console.log(`latency spike: p99 during deploys / p99 at rest = ${spike.toFixed(2)}x`);
  console.log(`deploy times: ${phases.map((p) => `${p.phase} ${p.seconds.toFixed(1)}s`).join(", ")}`);

  // Recovery: kill the web container and time until the app answers again.
  const name = (
    await podman([
      "ps",
      "--filter",
      `label=io.hop3.app=${app}`,
      "--filter",
      "label=io.hop3.process=web",
      "--format",
      "{{.Names}}",
    ])
  )
    .trim()
    .split("\n")[0];
  const recovery = [];
  for (let i = 0; i < 3 && name; i++) {
    await podman(["kill", name]);
    const k0 = performance.now();
    for (;;) {
      const r = await get();
      if (r.ok) break;
      if (performance.now() - k0 > 60_000) throw new Error("the app did not come back within 60 s");
      await sleep(20);
    }
    recovery.push((performance.now() - k0) / 1000);
    await sleep(1000);
  }
  const rec = median(recovery);
  console.log(
    `recovery after podman kill (median of ${recovery.length}): ${rec.toFixed(2)} s (target < 5 s) -> ${rec < 5 ? "PASS" : "FAIL"}`,
  );

  if (opts.json) {
    writeFileSync(
      opts.json,
      JSON.stringify(
        { machine: info, failed: failed.length, total: l.results.length, spike, phases, recovery },
        null,
        2,
      ),
    );
  }
}

main()
  .catch((err) => {
    console.error(`zero-downtime benchmark failed: ${err.message}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    agent.destroy();
    await hop(cli, ["destroy", app, "--confirm", app]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });
