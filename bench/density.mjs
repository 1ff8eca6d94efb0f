#!/usr/bin/env node
/**
 * Density: what the platform costs per app, and what the router costs per request (issue 9: target <= 5 MiB of
 * platform memory per app, conmon included, with 50 small apps on a 2-core machine, every one answering).
 *
 * Builds samples/hello once by hand (as hop3), deploys it by reference N times (`hop deploy --image`, apps
 * bench-dn-1..N), checks that every app answers through the router, then:
 * - per app, sums the RSS of the processes the platform runs *for that app* beside the app's own process:
 *   the container's conmon, and the `rootlessport` pair that publishes its port on 127.0.0.1 (found by the
 *   listening socket of the app's host port; with HOP3_APP_GATEWAY=on there is none: the app gateway, one
 *   nginx on every app network, is counted with the shared processes);
 * - shows the shared processes (router, Podman API service, slirp4netns, aardvark-dns, hop3-server) and their
 *   share per app;
 * - measures requests/s on one app through the router (Host header) and straight to its published port, with
 *   the same keep-alive client (C connections for S seconds each).
 *
 * Run as root on a host set up by install.sh:  node bench/density.mjs [--apps 50] [--seconds 5] [--connections 8]
 * Exit status: 0 when the measurement ran (whatever the figure), 1 when something failed to run.
 */
import {
  chmodSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  findServerPid,
  hop,
  hop3UserId,
  hopCli,
  hostSetup,
  machineInfo,
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

const TARGET_MIB = 5;
const USAGE = `Usage: node bench/density.mjs [options]

  --apps N          how many apps to deploy (default 50: bench-dn-1..N)
  --seconds S       length of each requests/s run (default 5)
  --connections C   keep-alive connections of the load client (default 8)
  --sample DIR      the app to build once and deploy by image (default samples/hello)
  --hop PATH        the hop CLI's main.js (default /opt/hop3/dist/cli/main.js, else dist/cli/main.js)
  --keep            leave the apps running (destroy them later with hop destroy)
  --json FILE       also write the figures as JSON to FILE`;

const opts = parseArgs(process.argv.slice(2), {
  apps: 50,
  seconds: 5,
  connections: 8,
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
const image = `localhost/bench/dn:${runId}`;
const apps = Array.from({ length: opts.apps }, (_, i) => `bench-dn-${i + 1}`);
const deployed = [];
let imageBuilt = false;

/** Inodes of sockets listening on 127.0.0.1:port (from /proc/net/tcp). */
function listeningInodes(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === `0100007F:${hex}` && f[3] === "0A")
    .map((f) => f[9]);
}

/** Pids (among `candidates`) holding one of these socket inodes. */
function holders(inodes, candidates) {
  const wanted = new Set(inodes.map((i) => `socket:[${i}]`));
  return candidates.filter((pid) => {
    try {
      return readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return wanted.has(readlinkSync(`/proc/${pid}/fd/${fd}`));
        } catch {
          return false;
        }
      });
    } catch {
      return false;
    }
  });
}

const rss = (pid) => rssOf(pid)?.rss ?? 0;

/** Platform processes of one container: its conmon and the rootlessport pair of its published port. */
async function platformOf(name, procs) {
  const info = JSON.parse(await podman(["inspect", name]))[0];
  const pid = info.State.Pid;
  const conmon = procs.find((p) => p.pid === pid)?.ppid;
  const out = { conmon: conmon ? rss(conmon) : 0, rootlessport: 0, hostPort: undefined };
  const bindings = Object.values(info.NetworkSettings?.Ports ?? {})
    .flat()
    .filter(Boolean);
  const rootlessports = procs.filter((p) => /rootlessport$/.test(p.argv[0] ?? "")).map((p) => p.pid);
  for (const b of bindings) {
    out.hostPort = Number(b.HostPort);
    for (const parent of holders(listeningInodes(out.hostPort), rootlessports)) {
      out.rootlessport += rss(parent);
      for (const child of procs.filter((p) => p.ppid === parent)) out.rootlessport += rss(child.pid);
    }
  }
  return out;
}

/** Keep-alive GET loop on `connections` connections for `seconds`; answers requests/s and errors. */
async function load(port, hostHeader, seconds, connections) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const end = performance.now() + seconds * 1000;
  let ok = 0;
  let errors = 0;
  const one = () =>
    new Promise((res) => {
      const req = request(
        { host: "127.0.0.1", port, path: "/", agent, headers: { host: hostHeader } },
        (r) => {
          r.resume();
          r.on("end", () => {
            if (r.statusCode === 200) ok++;
            else errors++;
            res();
          });
        },
      );
      req.on("error", () => {
        errors++;
        res();
      });
      req.end();
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  agent.destroy();
  return { rps: ok / ((performance.now() - t0) / 1000), ok, errors };
}

/**
 * The hop CLI, retried while the server is not answering: on a shared machine the server may be restarted
 * (an upgrade) during a long run, which changes nothing of what is measured here (per-app processes). Other
 * failures are retried twice and printed.
 */
async function hopRetrying(args) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await hop(cli, args);
    } catch (e) {
      const serverAway =
        /cannot reach the Hop3 server|lost the connection to the server|ECONNRESET|socket hang up/;
      // a server restart: wait for it (3 min); any other failure: twice more, then give up
      if (attempt >= (serverAway.test(e.message) ? 36 : 2)) throw e;
      console.error(`retrying (${e.message.split("\n")[0].slice(0, 160)})`);
      await sleep(5000);
    }
  }
}

async function cleanup() {
  if (!opts.keep) {
    for (const app of deployed.splice(0)) {
      await hopRetrying(["destroy", "--app", app, "--confirm", app]).catch((e) =>
        console.error(`cleanup: ${e.message}`),
      );
    }
  }
  if (imageBuilt && !opts.keep) await podman(["rmi", "-f", image]).catch(() => {});
}

async function main() {
  const info = await machineInfo();
  console.log(
    `Hop3 density: platform memory per app with ${opts.apps} apps, requests/s through the router vs direct`,
  );
  printMachine(info);
  console.log("");

  const ctx = mkdtempSync(join(tmpdir(), "hop3-bench-"));
  try {
    cpSync(opts.sample, ctx, { recursive: true });
    chmodSync(ctx, 0o755);
    await podman(["build", "-q", "--format", "docker", "-t", image, "-f", join(ctx, "Containerfile"), ctx]);
    imageBuilt = true;
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }

  const tDeploy = performance.now();
  for (const app of apps) {
    // a leftover of an interrupted run is replaced rather than counted twice
    await hop(cli, ["destroy", "--app", app, "--confirm", app]).catch(() => {});
    await hopRetrying(["deploy", "--image", image, "--app", app]);
    deployed.push(app);
  }
  for (const app of apps) await waitForAnswer({ port: host.httpPort, host: `${app}.${host.baseDomain}` });
  console.log(
    `deployed ${apps.length} apps in ${secs(performance.now() - tDeploy)} s; every one answers through the router`,
  );

  const procs = processes();
  const perApp = [];
  let direct;
  for (const app of apps) {
    const names = (await podman(["ps", "-q", "--filter", `label=io.hop3.app=${app}`]))
      .trim()
      .split("\n")
      .filter(Boolean);
    const row = { app, containers: names.length, conmon: 0, rootlessport: 0, own: 0 };
    for (const n of names) {
      const p = await platformOf(n, procs);
      row.conmon += p.conmon;
      row.rootlessport += p.rootlessport;
      if (!direct && p.hostPort) direct = { app, port: p.hostPort };
      const pid = Number((await podman(["inspect", "--format", "{{.State.Pid}}", n])).trim());
      // the app's own processes: the container's init and its descendants
      const stack = [pid];
      while (stack.length) {
        const q = stack.pop();
        row.own += rss(q);
        for (const c of procs) if (c.ppid === q) stack.push(c.pid);
      }
    }
    perApp.push(row);
  }
  const avg = (k) => perApp.reduce((s, r) => s + r[k], 0) / perApp.length;
  const platformPerApp = avg("conmon") + avg("rootlessport");

  const serverPid = findServerPid();
  const shared = (re) =>
    procs
      .filter((p) => p.uid === hop3UserId() && re.test(p.argv.join(" ")))
      .reduce((s, p) => s + rss(p.pid), 0);
  /** RSS of a container's processes (its init and descendants); 0 when it does not run. */
  const containerRss = async (name) => {
    const pid = Number(
      (await podman(["inspect", "--format", "{{.State.Pid}}", name]).catch(() => "0")).trim(),
    );
    let total = 0;
    const stack = pid > 0 ? [pid] : [];
    while (stack.length) {
      const q = stack.pop();
      total += rss(q);
      for (const c of procs) if (c.ppid === q) stack.push(c.pid);
    }
    return total;
  };
  const routerRss = await containerRss(host.routerContainer);
  // the app gateway: one nginx on every app network instead of a rootlessport pair per web process
  // (hop3-gateway under systemd, hop3-gateway-<id> under the Podman supervisor; one being retired counts too)
  const gateways = (
    await podman(["ps", "--filter", "label=io.hop3.role=gateway", "--format", "{{.Names}}"]).catch(() => "")
  )
    .split(/\s+/)
    .filter(Boolean);
  let gatewayRss = 0;
  for (const g of gateways) gatewayRss += await containerRss(g);
  const sharedRows = [
    ["hop3-server", rss(serverPid)],
    [`router (${host.routerContainer})`, routerRss],
    ...(gatewayRss ? [[`app gateway (${gateways.join(", ")})`, gatewayRss]] : []),
    ["podman API service", shared(/^(\S*\/)?podman system service/)],
    ["slirp4netns", shared(/^(\S*\/)?slirp4netns /)],
    ["aardvark-dns", shared(/^(\S*\/)?aardvark-dns /)],
  ];
  const sharedTotal = sharedRows.reduce((s, r) => s + r[1], 0);

  console.log("");
  console.log(
    table([
      ["per app (mean of N)", "MiB"],
      ["conmon", mib(avg("conmon"))],
      ["rootlessport + rootlessport-child", mib(avg("rootlessport"))],
      ["platform per app (the two above)", mib(platformPerApp)],
      ["the app's own processes (python3, init)", mib(avg("own"))],
    ]),
  );
  console.log("");
  console.log(
    table([
      ["shared", "MiB", "per app MiB"],
      ...sharedRows.map(([k, v]) => [k, mib(v), mib(v / apps.length)]),
      ["total", mib(sharedTotal), mib(sharedTotal / apps.length)],
    ]),
  );

  const target = `${apps[0]}.${host.baseDomain}`;
  const viaRouter = await load(host.httpPort, target, opts.seconds, opts.connections);
  const straight = direct ? await load(direct.port, target, opts.seconds, opts.connections) : undefined;
  console.log("");
  console.log(
    table([
      ["requests/s (one app, keep-alive)", "req/s", "ok", "errors"],
      ["through the router", viaRouter.rps.toFixed(0), viaRouter.ok, viaRouter.errors],
      straight
        ? ["direct to its published port", straight.rps.toFixed(0), straight.ok, straight.errors]
        : ["direct (no published port)", "-", "-", "-"],
    ]),
  );
  const verdict = platformPerApp / 1024 <= TARGET_MIB ? "PASS" : "ABOVE TARGET";
  console.log("");
  console.log(
    `platform memory per app: ${mib(platformPerApp)} MiB (+ ${mib(sharedTotal / apps.length)} MiB shared)` +
      `  target <= ${TARGET_MIB} MiB  ${verdict}`,
  );
  if (opts.json) {
    writeFileSync(
      opts.json,
      `${JSON.stringify(
        {
          benchmark: "density",
          machine: info,
          apps: apps.length,
          perAppKiB: perApp,
          platformPerAppKiB: platformPerApp,
          sharedKiB: Object.fromEntries(sharedRows),
          requestsPerSecond: { router: viaRouter, direct: straight },
          targetMiB: TARGET_MIB,
          verdict,
        },
        null,
        2,
      )}\n`,
    );
  }
}

await runBenchmark("density", main, cleanup);
