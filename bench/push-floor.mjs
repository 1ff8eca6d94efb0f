#!/usr/bin/env node
/**
 * Push floor (issue 12): deploying a small Express app to a NEW Hop3 app against the least any PaaS must do for
 * it, side by side in one run.
 *
 *   hop3:  hop deploy of bench/apps/express-hello (express, with package-lock.json) to a new app, until the
 *          first 200 through the router. `hop deploy` sends the same upload to the same API endpoint as the
 *          git push hook (src/git/push-deploy.ts), without the SSH session and `git archive`; its --json
 *          timings say where the seconds went.
 *   floor: by hand on the host, no container: `npm ci` in a fresh copy + `node server.js` + first 200 on its
 *          port. --floor-cache cold (default): an empty npm cache each round, what a new app gets with a per-app
 *          cache; warm: one npm cache kept across rounds (filled in the warm-up round), what a new app gets
 *          from a shared package cache.
 *
 * The sides alternate their order each round; round 0 is a warm-up reported apart. Piku measured 2.4-2.7x
 * this floor on the machine: a ratio below ~2.5 beats it.
 *
 * Run as root on a host set up by install.sh:  node bench/push-floor.mjs [--rounds 3] [--floor-cache warm]
 * Exit status: 0 when the measurement ran (whatever the ratio), 1 when something failed to run.
 */
import { spawn } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  hop,
  hopCli,
  hostSetup,
  machineInfo,
  median,
  parseArgs,
  printMachine,
  repoRoot,
  run,
  runBenchmark,
  secs,
  table,
  waitForAnswer,
} from "./lib.mjs";

const PIKU_RATIO = 2.5;
const USAGE = `Usage: node bench/push-floor.mjs [options]

  --rounds N          measured rounds after the warm-up (default 3)
  --floor-cache C     cold (default: an empty npm cache each floor round) or warm (one cache kept)
  --sample DIR        the app (default bench/apps/express-hello); npm, with a lockfile, answers on $PORT
  --app NAME          Hop3 app name prefix (default bench-floor; each round deploys a new app NAME-rN)
  --hop PATH          the hop CLI's main.js (default /opt/hop3/dist/cli/main.js, else dist/cli/main.js)
  --json FILE         also write the figures as JSON to FILE`;

const opts = parseArgs(process.argv.slice(2), {
  rounds: 3,
  floorCache: "cold",
  sample: join(repoRoot, "bench/apps/express-hello"),
  app: "bench-floor",
  hop: "",
  json: "",
});
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!["cold", "warm"].includes(opts.floorCache)) throw new Error("--floor-cache is cold or warm");
if (!opts.app.startsWith("bench-")) throw new Error("--app must start with bench- (its apps are destroyed)");

const host = hostSetup();
const cli = hopCli(opts.hop || undefined);
const runId = Date.now().toString(36);
const work = mkdtempSync(join(tmpdir(), "hop3-push-floor-"));
chmodSync(work, 0o755);
const warmCache = join(work, "npm-cache-warm");
const created = new Set();
let child;

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function floorRound(round) {
  const dir = join(work, `floor-r${round}`);
  cpSync(opts.sample, dir, { recursive: true });
  const cache = opts.floorCache === "warm" ? warmCache : join(work, `npm-cache-r${round}`);
  const marker = `floor-${runId}-r${round}`;
  const port = await freePort();
  const t0 = performance.now();
  await run("npm", ["ci", "--no-audit", "--no-fund", "--cache", cache], { cwd: dir });
  const tInstalled = performance.now();
  child = spawn(process.execPath, ["server.js"], {
    cwd: dir,
    env: { ...process.env, PORT: String(port), GREETING: marker },
    stdio: "ignore",
  });
  const tAnswer = await waitForAnswer({ port, marker });
  child.kill();
  child = undefined;
  rmSync(dir, { recursive: true, force: true });
  return { install: tInstalled - t0, toAnswer: tAnswer - tInstalled, total: tAnswer - t0 };
}

async function destroy(app) {
  await hop(cli, ["destroy", app, "--confirm", app]).catch(() => {});
  created.delete(app);
}

async function hopRound(round) {
  const app = `${opts.app}-${runId}-r${round}`;
  const marker = `hop3-${runId}-r${round}`;
  const dir = join(work, `hop3-r${round}`);
  cpSync(opts.sample, dir, { recursive: true });
  created.add(app);
  const t0 = performance.now();
  const out = await hop(cli, ["deploy", dir, "--app", app, "--env", `GREETING=${marker}`, "--json"]);
  const tCli = performance.now();
  const tAnswer = await waitForAnswer({ port: host.httpPort, host: `${app}.${host.baseDomain}`, marker });
  const timings = JSON.parse(out).timings;
  await destroy(app);
  rmSync(dir, { recursive: true, force: true });
  return { cli: tCli - t0, afterCli: tAnswer - tCli, total: tAnswer - t0, timings };
}

/** A step's duration in a round's timings (0 when the deploy did not record it). */
const stepMs = (r, name) => r.hop3.timings?.steps.find((s) => s.step === name)?.ms ?? 0;

async function cleanup() {
  child?.kill();
  for (const app of [...created]) await destroy(app);
  rmSync(work, { recursive: true, force: true });
}

async function main() {
  const info = await machineInfo();
  console.log(
    `Hop3 push floor: hop deploy of a new app vs npm ci + node by hand (${opts.floorCache} npm cache on the floor side)`,
  );
  printMachine(info);
  console.log(`sample:  ${opts.sample}; npm ${(await run("npm", ["--version"])).trim()} on the host`);
  console.log("");
  const rounds = [];
  for (let r = 0; r <= opts.rounds; r++) {
    const floorFirst = r % 2 === 0;
    const res = { round: r, order: floorFirst ? "floor,hop3" : "hop3,floor" };
    if (floorFirst) {
      res.floor = await floorRound(r);
      res.hop3 = await hopRound(r);
    } else {
      res.hop3 = await hopRound(r);
      res.floor = await floorRound(r);
    }
    res.ratio = res.hop3.total / res.floor.total;
    rounds.push(res);
    console.log(
      `round ${r}${r === 0 ? " (warm-up)" : ""}: floor ${secs(res.floor.total)} s, hop3 ${secs(res.hop3.total)} s`,
    );
  }
  const rows = [
    ["round", "order", "npm ci", "->200", "floor", "build", "nodejs bp", "export", "health", "hop3", "ratio"],
  ];
  const nodeBp = (r) =>
    r.hop3.timings?.steps.find((s) => s.step.startsWith("buildpack hop3/nodejs"))?.ms ?? 0;
  for (const r of rounds) {
    rows.push([
      r.round === 0 ? "0 warm-up" : String(r.round),
      r.order,
      secs(r.floor.install),
      secs(r.floor.toAnswer),
      secs(r.floor.total),
      secs(stepMs(r, "build")),
      secs(nodeBp(r)),
      secs(stepMs(r, "export")),
      secs(stepMs(r, "health check")),
      secs(r.hop3.total),
      r.ratio.toFixed(2),
    ]);
  }
  const measured = rounds.slice(1);
  const medFloor = median(measured.map((r) => r.floor.total));
  const medHop = median(measured.map((r) => r.hop3.total));
  const medRatio = median(measured.map((r) => r.ratio));
  rows.push(["median", "", "", "", secs(medFloor), "", "", "", "", secs(medHop), medRatio.toFixed(2)]);
  console.log("");
  console.log("Seconds from the start until the app's first 200 (marker in the body):");
  console.log(table(rows));
  console.log("");
  console.log(
    "floor = npm ci + node server.js + first 200 on its port; hop3 = hop deploy to a new app (upload, build, start," +
      " health check, route) + first 200 through the router; build/nodejs bp/export/health from its timings.",
  );
  const verdict = medRatio < PIKU_RATIO ? "BEATS PIKU" : "SLOWER THAN PIKU";
  console.log(
    `hop3/floor (median of per-round ratios): ${medRatio.toFixed(2)}  Piku ~2.4-2.7 (target < ${PIKU_RATIO})  ${verdict}`,
  );
  if (opts.json) {
    writeFileSync(
      opts.json,
      `${JSON.stringify({ benchmark: "push-floor", floorCache: opts.floorCache, machine: info, rounds, medFloor, medHop, medRatio, verdict }, null, 2)}\n`,
    );
  }
}

await runBenchmark("push-floor", main, cleanup);
