#!/usr/bin/env node
/**
 * Footprint: the resident memory of the platform while it manages 12 small apps and is idle, per component.
 *
 * Builds samples/hello once by hand (as hop3), or takes a prebuilt image (--image), deploys it by reference
 * 12 times (`hop deploy --image`, apps bench-fp-1..12), waits until every app answers through the router, lets
 * the server idle, then reads VmRSS from /proc a few times and reports the medians: hop3-server (target
 * 64 MiB), the Podman API service it talks to, the router container's processes one by one (Caddy and
 * whatever runs beside it; target 45 MiB) and the whole platform, i.e. those three (target 150 MiB). The apps
 * themselves are shown for context.
 *
 * Run as root on a host set up by install.sh:  node bench/footprint.mjs [--apps 12] [--idle 10]
 * Exit status: 0 when the measurement ran (whatever the figure), 1 when something failed to run.
 */
import { chmodSync, cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  findServerPid,
  hop,
  hop3UserId,
  hopCli,
  hostSetup,
  machineInfo,
  median,
  mib,
  parseArgs,
  podman,
  printMachine,
  processes,
  repoRoot,
  rssOf,
  runBenchmark,
  secs,
  sleep,
  table,
  waitForAnswer,
} from "./lib.mjs";

const TARGET_MIB = 64;
const ROUTER_TARGET_MIB = 45;
const PLATFORM_TARGET_MIB = 150;
const USAGE = `Usage: node bench/footprint.mjs [options]

  --apps N       how many apps to deploy (default 12: bench-fp-1..N)
  --idle S       seconds to let the server idle before measuring (default 10)
  --samples N    RSS readings, one a second (default 5)
  --sample DIR   the app to build once and deploy by image (default samples/hello)
  --image REF    deploy this image (already in hop3's storage) instead of building --sample
  --hop PATH     the hop CLI's main.js (default /opt/hop3/dist/cli/main.js, else dist/cli/main.js)
  --keep         leave the apps running (destroy them later with hop destroy)
  --json FILE    also write the figures as JSON to FILE`;

const opts = parseArgs(process.argv.slice(2), {
  apps: 12,
  idle: 10,
  image: "",
  samples: 5,
  sample: join(repoRoot, "samples/hello"),
  hop: "",
  keep: false,
  json: "",
});
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}

const host = hostSetup();
const cli = hopCli(opts.hop || undefined);
const runId = Date.now().toString(36);
const image = opts.image || `localhost/bench/fp:${runId}`;
const apps = Array.from({ length: opts.apps }, (_, i) => `bench-fp-${i + 1}`);
const deployed = [];
let imageBuilt = false;

/** The main process of a container, in the host's pid namespace (rootless podman reports that pid). */
async function containerPid(nameOrId) {
  const pid = Number((await podman(["inspect", "--format", "{{.State.Pid}}", nameOrId])).trim());
  return pid > 0 ? pid : null;
}

/** A process and all its descendants (a container's entrypoint and what it started, say). */
function treePids(rootPid, procs) {
  const out = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    const p = procs.find((q) => q.pid === pid);
    if (p) out.push(p);
    for (const q of procs) if (q.ppid === pid) stack.push(q.pid);
  }
  return out;
}

/** A short name for a process: its program, and the script when it is an interpreter. */
function commandName(argv) {
  const prog = (argv[0] ?? "?").split("/").at(-1);
  const script = /^(node|sh|bash|python3?)$/.test(prog)
    ? argv.find((a, i) => i > 0 && !a.startsWith("-"))
    : "";
  return script ? `${prog} ${script.split("/").at(-1)}` : prog;
}

/** RSS of a process and all its descendants, KiB (a container's init plus its app, say). */
function treeRss(rootPid, procs) {
  let total = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    total += rssOf(pid)?.rss ?? 0;
    for (const p of procs) if (p.ppid === pid) stack.push(p.pid);
  }
  return total;
}

/**
 * The Podman API service the server talks to: its child when it started one itself, else the hop3 user's
 * `podman system service` on the server's socket (given as unix://PATH, or none: then it is the default
 * $XDG_RUNTIME_DIR/podman/podman.sock, as systemd's podman.socket starts it).
 */
function podmanServicePids(serverPid, procs) {
  const isService = (p) =>
    p.uid === hop3UserId() &&
    /(^|\/)podman$/.test(p.argv[0] ?? "") &&
    p.argv.includes("system") &&
    p.argv.includes("service");
  const children = procs.filter((p) => p.ppid === serverPid && isService(p));
  if (children.length) return children.map((p) => p.pid);
  const sock = process.env.HOP3_PODMAN_SOCKET ?? `/run/user/${hop3UserId()}/podman/podman.sock`;
  return procs
    .filter(isService)
    .filter((p) => {
      const url = p.argv.find((a) => a.startsWith("unix://"));
      return url ? url === `unix://${sock}` : true;
    })
    .map((p) => p.pid);
}

async function destroyAll() {
  for (const app of deployed.splice(0)) {
    await hop(cli, ["destroy", "--app", app, "--confirm", app]).catch((e) =>
      console.error(`cleanup: ${e.message}`),
    );
  }
}

async function cleanup() {
  if (!opts.keep) await destroyAll();
  if (imageBuilt && !opts.image && !opts.keep) await podman(["rmi", "-f", image]).catch(() => {});
}

async function main() {
  const info = await machineInfo();
  console.log(
    `Hop3 footprint: the platform's RSS with ${opts.apps} apps deployed, after ${opts.idle} s idle`,
  );
  printMachine(info);
  console.log("");

  const ctx = opts.image ? "" : mkdtempSync(join(tmpdir(), "hop3-bench-"));
  if (opts.image) console.log(`deploying ${image} (prebuilt)`);
  else
    try {
      cpSync(opts.sample, ctx, { recursive: true });
      chmodSync(ctx, 0o755);
      const t0 = performance.now();
      await podman(["build", "-q", "--format", "docker", "-t", image, "-f", join(ctx, "Containerfile"), ctx]);
      imageBuilt = true;
      console.log(`built ${image} by hand in ${secs(performance.now() - t0)} s`);
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }

  const serverPid = findServerPid();
  const before = rssOf(serverPid);
  console.log(`hop3-server pid ${serverPid}: ${mib(before.rss)} MiB RSS before the deploys`);

  const tDeploy = performance.now();
  for (const app of apps) {
    // A leftover of an interrupted run is replaced rather than counted twice.
    await hop(cli, ["destroy", "--app", app, "--confirm", app]).catch(() => {});
    await hop(cli, ["deploy", "--image", image, "--app", app]);
    deployed.push(app);
  }
  for (const app of apps) await waitForAnswer({ port: host.httpPort, host: `${app}.${host.baseDomain}` });
  console.log(
    `deployed ${apps.length} apps (${apps[0]}..${apps.at(-1)}) in ${secs(performance.now() - tDeploy)} s; all answer through the router`,
  );

  if (findServerPid() !== serverPid)
    throw new Error("hop3-server restarted during the run: figures would mean nothing");
  console.log(`idling ${opts.idle} s ...`);
  await sleep(opts.idle * 1000);

  const procs = processes();
  const routerPid = await containerPid(host.routerContainer).catch(() => null);
  const routerProcs = routerPid ? treePids(routerPid, procs) : [];
  const servicePids = podmanServicePids(serverPid, procs);

  const readings = [];
  const routerReadings = new Map(routerProcs.map((p) => [p.pid, []]));
  const serviceReadings = [];
  for (let i = 0; i < opts.samples; i++) {
    if (i) await sleep(1000);
    const r = rssOf(serverPid);
    if (!r) throw new Error(`hop3-server (pid ${serverPid}) went away while measuring`);
    readings.push(r);
    for (const p of routerProcs) routerReadings.get(p.pid).push(rssOf(p.pid)?.rss ?? 0);
    serviceReadings.push(servicePids.reduce((s, p) => s + (rssOf(p)?.rss ?? 0), 0));
  }
  const med = (k) => median(readings.map((r) => r[k]));
  const serverRss = med("rss");
  const routerRows = routerProcs.map((p) => ({
    pid: p.pid,
    name: commandName(p.argv),
    rss: median(routerReadings.get(p.pid)),
  }));
  const routerRss = routerPid ? routerRows.reduce((s, r) => s + r.rss, 0) : Number.NaN;
  const serviceRss = median(serviceReadings);
  const platformRss = serverRss + (routerRss || 0) + serviceRss;
  let appsRss = 0;
  for (const app of apps) {
    const names = (await podman(["ps", "-q", "--filter", `label=io.hop3.app=${app}`]))
      .trim()
      .split("\n")
      .filter(Boolean);
    for (const n of names) {
      const pid = await containerPid(n);
      if (pid) appsRss += treeRss(pid, procs);
    }
  }

  const rows = [
    ["process", "pid", "RSS MiB", "private MiB", "PSS MiB", "anon MiB", "file MiB"],
    [
      "hop3-server (node)",
      serverPid,
      mib(serverRss),
      mib(med("private")),
      mib(med("pss")),
      mib(med("anon")),
      mib(med("file")),
    ],
    [`router (${host.routerContainer}), all`, routerPid ?? "?", mib(routerRss), "", "", "", ""],
    ...routerRows.map((r) => [`  router: ${r.name}`, r.pid, mib(r.rss), "", "", "", ""]),
    [
      "podman API service",
      servicePids.join(",") || "not found",
      servicePids.length ? mib(serviceRss) : "?",
      "",
      "",
      "",
      "",
    ],
    ["platform (server + router + podman service)", "", mib(platformRss), "", "", "", ""],
    [`${apps.length} apps`, "", mib(appsRss), "", "", "", ""],
  ];
  console.log("");
  console.log(table(rows));
  console.log("");
  console.log(`readings (MiB): ${readings.map((r) => mib(r.rss)).join(" ")}`);
  console.log(
    "private = pages only this process maps (what stopping it frees); file-backed RSS is mostly the node binary's" +
      " code, shared with every other node process; PSS splits shared pages among their users.",
  );
  const judge = (kib, target) => (kib / 1024 <= target ? "PASS" : "ABOVE TARGET");
  const verdict = judge(serverRss, TARGET_MIB);
  const routerVerdict = judge(routerRss, ROUTER_TARGET_MIB);
  const platformVerdict = judge(platformRss, PLATFORM_TARGET_MIB);
  console.log(
    `hop3-server RSS (median of ${readings.length}): ${mib(serverRss)} MiB  target <= ${TARGET_MIB} MiB  ${verdict}`,
  );
  console.log(`router RSS: ${mib(routerRss)} MiB  target <= ${ROUTER_TARGET_MIB} MiB  ${routerVerdict}`);
  console.log(
    `platform RSS (server + router + podman service): ${mib(platformRss)} MiB  target <= ${PLATFORM_TARGET_MIB} MiB  ${platformVerdict}`,
  );
  if (opts.json) {
    writeFileSync(
      opts.json,
      `${JSON.stringify(
        {
          benchmark: "footprint",
          machine: info,
          apps: apps.length,
          idleSeconds: opts.idle,
          serverPid,
          serverRssKiB: readings,
          serverRssMedianKiB: serverRss,
          routerRssKiB: routerRss,
          routerProcesses: routerRows,
          podmanServiceRssKiB: serviceRss,
          platformRssKiB: platformRss,
          appsRssKiB: appsRss,
          targetMiB: TARGET_MIB,
          verdict,
          routerTargetMiB: ROUTER_TARGET_MIB,
          routerVerdict,
          platformTargetMiB: PLATFORM_TARGET_MIB,
          platformVerdict,
        },
        null,
        2,
      )}\n`,
    );
  }
}

await runBenchmark("footprint", main, cleanup);
