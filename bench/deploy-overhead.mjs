#!/usr/bin/env node
/**
 * Deploy overhead: what `hop deploy` costs on top of doing the same by hand with podman.
 *
 *   manual: podman build (as hop3, same context and Containerfile, a fresh tag)
 *           + podman run -d -p 127.0.0.1::5000 + poll the published port until the app answers
 *   hop3:   hop deploy DIR --app bench-hello + poll the router (Host header) until the app answers
 *
 * Both sides build in hop3's rootless storage in the Docker image format (what Podman's Docker-compatible
 * API, which Hop3 uses, produces; the podman CLI's default OCI format would not share the cache), so they
 * share one layer cache. --mode warm (default): round 0 is a warm-up that fills the cache and is reported
 * apart; the measured rounds are warm builds on both sides. --mode cold: an ENV line with a fresh value
 * after FROM makes every build of every round run all its steps (apt-get included) on both sides. The
 * order of the two sides alternates each round. Each hop3 round is a first deploy (the app is destroyed between rounds,
 * outside the timing), like each manual round starts a new container. Every round sets a fresh GREETING,
 * and only an answer containing it counts, so nothing left from an earlier round can answer for it.
 *
 * Run as root on a host set up by install.sh:  node bench/deploy-overhead.mjs [--rounds 3]
 * Exit status: 0 when the measurement ran (whatever the ratio), 1 when something failed to run.
 */
import { spawn } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
  runBenchmark,
  secs,
  table,
  waitForAnswer,
} from "./lib.mjs";

const TARGET = 1.15;
const USAGE = `Usage: node bench/deploy-overhead.mjs [options]

  --rounds N     measured rounds after the warm-up (default 3)
  --mode M       warm (default: builds hit the layer cache) or cold (every build runs all its steps)
  --sample DIR   the app to deploy (default samples/hello); needs a Containerfile answering on $PORT/5000
  --app NAME     the Hop3 app name (default bench-hello; must start with bench-)
  --hop PATH     the hop CLI's main.js (default /opt/hop3/dist/cli/main.js, else dist/cli/main.js)
  --verbose      show hop deploy's output, timed from the start of the round
  --json FILE    also write the figures as JSON to FILE`;

const opts = parseArgs(process.argv.slice(2), {
  rounds: 3,
  mode: "warm",
  sample: join(repoRoot, "samples/hello"),
  app: "bench-hello",
  hop: "",
  json: "",
  verbose: false,
});
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!["warm", "cold"].includes(opts.mode)) throw new Error("--mode is warm or cold");
if (!opts.app.startsWith("bench-"))
  throw new Error("--app must start with bench- (it is destroyed at the end)");

const host = hostSetup();
const cli = hopCli(opts.hop || undefined);
const runId = Date.now().toString(36);
const appHost = `${opts.app}.${host.baseDomain}`;
const createdImages = [];
const createdContainers = [];
let ctxDir;
let containerfile;

/** Cold mode: a fresh ENV value right after FROM invalidates the cache of every later step. */
function prepareContext(nonce) {
  if (opts.mode !== "cold") return;
  const text = containerfile.replace(/^(FROM\s.*)$/m, `$1\nENV HOP3_BENCH_NONCE=${nonce}`);
  if (text === containerfile) throw new Error("--mode cold: no FROM line in the Containerfile");
  writeFileSync(join(ctxDir, "Containerfile"), text);
}

async function destroyApp() {
  try {
    await hop(cli, ["destroy", "--app", opts.app, "--confirm", opts.app]);
  } catch (e) {
    if (!/not found|no such app|does not exist|unknown app/i.test(e.message)) throw e;
  }
}

async function manualRound(round) {
  const tag = `localhost/bench/manual:${runId}-r${round}`;
  const name = `bench-manual-${runId}-r${round}`;
  const marker = `bench-${runId}-r${round}-manual`;
  prepareContext(marker);
  const t0 = performance.now();
  await podman(["build", "-q", "--format", "docker", "-t", tag, "-f", join(ctxDir, "Containerfile"), ctxDir]);
  createdImages.push(tag);
  const tBuilt = performance.now();
  const id = (
    await podman([
      "run",
      "-d",
      "--name",
      name,
      "-p",
      "127.0.0.1::5000",
      "-e",
      "PORT=5000",
      "-e",
      `GREETING=${marker}`,
      tag,
    ])
  ).trim();
  createdContainers.push(id);
  const mapping = (await podman(["port", id, "5000/tcp"])).trim().split("\n")[0];
  const port = Number(mapping.split(":").pop());
  if (!port) throw new Error(`podman port gave no port for ${name}: ${mapping}`);
  const tAnswer = await waitForAnswer({ port, marker });
  // Outside the timing: the container goes now, the image stays so the layer cache stays warm.
  await podman(["rm", "-f", "-t", "0", id]);
  createdContainers.splice(createdContainers.indexOf(id), 1);
  return { build: tBuilt - t0, toAnswer: tAnswer - tBuilt, total: tAnswer - t0 };
}

/** Runs the hop CLI and returns its output lines, each prefixed by seconds since `t0` (for --verbose). */
function timedHop(args, t0) {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const lines = [];
    const take = (d) => {
      for (const l of d.toString().split("\n"))
        if (l.trim()) lines.push(`${secs(performance.now() - t0).padStart(6)} ${l}`);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", rej);
    child.on("close", (code) =>
      code === 0 ? res(lines) : rej(new Error(`hop ${args.join(" ")} exited ${code}:\n${lines.join("\n")}`)),
    );
  });
}

async function hopRound(round) {
  const marker = `bench-${runId}-r${round}-hop3`;
  prepareContext(marker);
  const t0 = performance.now();
  const lines = await timedHop(["deploy", ctxDir, "--app", opts.app, "--env", `GREETING=${marker}`], t0);
  const tCli = performance.now();
  if (opts.verbose) for (const l of lines) console.log(`  ${l}`);
  const tAnswer = await waitForAnswer({ port: host.httpPort, host: appHost, marker });
  await destroyApp();
  return { cli: tCli - t0, afterCli: tAnswer - tCli, total: tAnswer - t0 };
}

async function cleanup() {
  for (const id of createdContainers.splice(0)) await podman(["rm", "-f", "-t", "0", id]).catch(() => {});
  await destroyApp().catch((e) => console.error(`cleanup: ${e.message}`));
  if (createdImages.length) await podman(["rmi", "-f", ...createdImages.splice(0)]).catch(() => {});
  if (ctxDir) rmSync(ctxDir, { recursive: true, force: true });
}

async function main() {
  const info = await machineInfo();
  console.log(
    `Hop3 deploy overhead: hop deploy vs podman build + run by hand (${opts.mode === "warm" ? "warm layer cache on both sides" : "cold: every build runs all its steps"})`,
  );
  printMachine(info);
  console.log(`sample:  ${opts.sample} -> app ${opts.app} (http://${appHost}:${host.httpPort}/)`);
  console.log("");

  // The build context in a place the hop3 user can read, the same copy for both sides.
  ctxDir = mkdtempSync(join(tmpdir(), "hop3-bench-"));
  cpSync(opts.sample, ctxDir, { recursive: true });
  chmodSync(ctxDir, 0o755);
  containerfile = readFileSync(join(ctxDir, "Containerfile"), "utf8");

  await destroyApp(); // a leftover of an interrupted run would make round 1 a redeploy
  const rounds = [];
  for (let r = 0; r <= opts.rounds; r++) {
    const manualFirst = r % 2 === 0;
    const res = { round: r, order: manualFirst ? "manual,hop3" : "hop3,manual" };
    if (manualFirst) {
      res.manual = await manualRound(r);
      res.hop3 = await hopRound(r);
    } else {
      res.hop3 = await hopRound(r);
      res.manual = await manualRound(r);
    }
    res.ratio = res.hop3.total / res.manual.total;
    rounds.push(res);
    console.log(
      `round ${r}${r === 0 ? " (warm-up)" : ""}: manual ${secs(res.manual.total)} s, hop3 ${secs(res.hop3.total)} s`,
    );
  }

  const rows = [
    [
      "round",
      "order",
      "manual build",
      "run->answer",
      "manual total",
      "hop deploy",
      "->answer",
      "hop3 total",
      "ratio",
    ],
  ];
  for (const r of rounds) {
    rows.push([
      r.round === 0 ? "0 warm-up" : String(r.round),
      r.order,
      secs(r.manual.build),
      secs(r.manual.toAnswer),
      secs(r.manual.total),
      secs(r.hop3.cli),
      secs(r.hop3.afterCli),
      secs(r.hop3.total),
      r.ratio.toFixed(2),
    ]);
  }
  const measured = rounds.slice(1);
  const medManual = median(measured.map((r) => r.manual.total));
  const medHop = median(measured.map((r) => r.hop3.total));
  const medRatio = median(measured.map((r) => r.ratio));
  rows.push(["median", "", "", "", secs(medManual), "", "", secs(medHop), medRatio.toFixed(2)]);
  console.log("");
  console.log("Seconds from the start of the build until the app's first 200 (marker in the body):");
  console.log(table(rows));
  console.log("");
  console.log(
    `Compared: ${opts.mode} builds (${opts.mode === "warm" ? "layer cache hit" : "no cache: every step runs"}) of the same context and Containerfile in the same rootless storage; manual = build + run` +
      " + first answer on the published port; hop3 = `hop deploy` (upload, build, start, health check, route) + first" +
      " answer through the router. The warm-up round is not in the median.",
  );
  const verdict = medRatio <= TARGET ? "PASS" : "ABOVE TARGET";
  console.log(
    `hop3/manual (median of per-round ratios): ${medRatio.toFixed(2)}  target <= ${TARGET}  ${verdict}` +
      `   (ratio of medians ${(medHop / medManual).toFixed(2)}, overhead ${secs(medHop - medManual)} s)`,
  );
  if (opts.json) {
    writeFileSync(
      opts.json,
      `${JSON.stringify({ benchmark: "deploy-overhead", mode: opts.mode, machine: info, rounds, medManual, medHop, medRatio, target: TARGET, verdict }, null, 2)}\n`,
    );
  }
}

await runBenchmark("deploy-overhead", main, cleanup);
