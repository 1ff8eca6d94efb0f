#!/usr/bin/env node
/**
 * Buildpack builds: how a warm rebuild compares with a cold build, and how Hop3's buildpack build compares
 * with a hand-written Containerfile built by `podman build`, for the same Node app.
 *
 * The app is test/fixtures/apps/npm-lockfile (one dependency, a lockfile, a build script), copied to a
 * temporary directory. Each round:
 *
 *   cold: `hop builds:purge-cache`, then the app's server.js gets a new marker (a one-line change) and
 *         `hop deploy DIR --app bench-bp-node`; side by side, `podman build --no-cache` of the Containerfile
 *   warm: a new marker again (the one-line change), `hop deploy` and a cached `podman build`
 *
 * The Containerfile (printed at the start) is the fairest equivalent we know: the same two stack images the
 * buildpack uses (it builds in localhost/hop3/cnb-build, the app runs on localhost/hop3/cnb-run), `npm ci`
 * in a layer keyed on package.json + package-lock.json (the usual way to cache dependencies), then the
 * code and `npm run build`, then a second stage with the built app on the run image. It is built as hop3
 * in hop3's rootless storage with --format docker, like Hop3's own builds.
 *
 * What is compared: build times only. The hop3 build is the time between the "Building with Cloud Native
 * Buildpacks" and "Image ready" lines of the deploy's streamed log (the server's whole build: stack
 * check, source copy, build container, detect, buildpacks, export, cache save); the manual build is the
 * `podman build` command. The whole `hop deploy` (upload, build, start, health check, switch) is shown too.
 * After each deploy the app must answer the round's marker through the router (outside the timing).
 *
 * Run as root on a host set up by install.sh:  node bench/buildpacks.mjs [--rounds 3] [--verbose]
 * Exit status: 0 when the measurement ran (whatever the ratios), 1 when something failed to run.
 */
import { spawn } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
  serverSettings,
  table,
  waitForAnswer,
} from "./lib.mjs";

const TARGET_WARM_COLD = 0.25;
const TARGET_COLD = 1.2;
const TARGET_WARM = 1.0;
const USAGE = `Usage: node bench/buildpacks.mjs [options]

  --lang L      node (default), php or ruby: the sample app, the file the one-line change edits and
                 the hand-written Containerfile of the manual side (see LANGS below)
  --rounds N     measured rounds (each: a cold and a warm build on both sides; default 3)
  --sample DIR   another app of that language holding the same marker text in the same file
  --app NAME     the Hop3 app name (default bench-bp-LANG; must start with bench-)
  --hop PATH     the hop CLI's main.js (default /opt/hop3/dist/cli/main.js, else dist/cli/main.js)
  --verbose      show hop deploy's output, timed from the start of the command
  --json FILE    also write the figures as JSON to FILE`;

const opts = parseArgs(process.argv.slice(2), {
  lang: "node",
  rounds: 3,
  sample: "",
  app: "",
  hop: "",
  json: "",
  verbose: false,
});
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
// The stack's tags carry their Containerfile's digest (src/build/cnb/stack.ts): ask the same function.
const { stackImages } = await import(join(repoRoot, "dist/build/cnb/stack.js"));
const STACK = stackImages(undefined, join(repoRoot, "images"));

/**
 * Per language: a real sample (a fixture), the file and text the one-line change edits, what a warm build's log
 * says when the dependencies came from the cache, and the fairest hand-written Containerfile we know on the
 * same stack images (offline, like the buildpack: the npm registry, or Debian's packages).
 */
const LANGS = {
  node: {
    sample: "test/fixtures/apps/npm-lockfile",
    file: "server.js",
    marker: "npm-lockfile ok:",
    reused: /Reusing node_modules from the cache/,
    containerfile: `# The hand-written equivalent of the hop3/nodejs buildpack for this app (bench/buildpacks.mjs).
FROM ${STACK.build} AS build
# The extra CA bundle Hop3 gives its build containers (HOP3_BUILD_CA_FILE), mounted by the bench.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /workspace
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --include=dev
COPY . .
RUN npm run build

FROM ${STACK.run}
WORKDIR /workspace
COPY --from=build --chown=1000:1000 /workspace /workspace
ENV NODE_ENV=production PORT=5000
CMD ["node", "server.js"]
`,
  },
  // Paketo's PHP webserver sample; the manual side serves it with PHP's built-in server (the build is what is
  // compared: hop3/php's nginx + php-fpm configuration is written at start, not at build).
  php: {
    sample: "test/fixtures/apps/paketo-php-webserver",
    file: "htdocs/index.php",
    marker: "Powered By Paketo Buildpacks",
    containerfile: `# The hand-written equivalent of the hop3/php buildpack for this app (bench/buildpacks.mjs).
FROM ${STACK.run}
WORKDIR /workspace
COPY --chown=1000:1000 . /workspace
CMD ["php", "-S", "0.0.0.0:5000", "-t", "htdocs"]
`,
  },
  // Dokku's Ruby test app (Sinatra + thin): offline, its gems come from Debian's packages on both sides.
  ruby: {
    sample: "test/fixtures/apps/dokku-ruby",
    file: "web.rb",
    marker: "Hello, world",
    reused: /Reusing the (Debian )?gems from the cache/,
    containerfile: `# The hand-written equivalent of the hop3/ruby buildpack for this app, offline (bench/buildpacks.mjs).
FROM ${STACK.run}
USER root
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ruby-sinatra thin \\
 && rm -rf /var/lib/apt/lists/*
USER 1000:1000
WORKDIR /workspace
COPY --chown=1000:1000 . /workspace
CMD ["ruby", "web.rb", "-o", "0.0.0.0", "-p", "5000"]
`,
  },
};
const LANG = LANGS[opts.lang];
if (!LANG) throw new Error(`--lang must be one of ${Object.keys(LANGS).join(", ")}`);
opts.sample ||= join(repoRoot, LANG.sample);
opts.app ||= `bench-bp-${opts.lang}`;
if (!opts.app.startsWith("bench-"))
  throw new Error("--app must start with bench- (it is destroyed at the end)");

const CONTAINERFILE = LANG.containerfile;

const host = hostSetup();
const cli = hopCli(opts.hop || undefined);
const runId = Date.now().toString(36);
const appHost = `${opts.app}.${host.baseDomain}`;
const benchLabel = `io.hop3.bench=buildpacks-${runId}`;
const createdImages = [];
let appDir;
let fileDir;
let serverSource;

/** The one-line change: the language's marker text (`npm-lockfile ok:` in server.js...) carries the marker. */
function setMarker(marker) {
  const text = serverSource.replace(LANG.marker, `${LANG.marker} (${marker})`);
  if (text === serverSource) throw new Error(`${LANG.file} has no '${LANG.marker}' to change`);
  writeFileSync(join(appDir, LANG.file), text);
}

async function destroyApp() {
  try {
    await hop(cli, ["destroy", "--app", opts.app, "--confirm", opts.app]);
  } catch (e) {
    if (!/not found|no such app|does not exist|unknown app/i.test(e.message)) throw e;
  }
}

const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** Runs the hop CLI; answers its output lines with the time each arrived (ms since `t0`). */
function timedHop(args, t0) {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const lines = [];
    const take = (d) => {
      const at = performance.now() - t0;
      for (const l of d.toString().split("\n")) if (l.trim()) lines.push({ at, text: stripAnsi(l) });
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", rej);
    child.on("close", (code) =>
      code === 0
        ? res(lines)
        : rej(
            new Error(
              `hop ${args.join(" ")} exited ${code}:\n${lines.map((l) => `${secs(l.at)} ${l.text}`).join("\n")}`,
            ),
          ),
    );
  });
}

/** Where the build's time went, from the deploy log (the lifecycle reports each step's duration). */
function phases(lines) {
  const at = (re) => lines.find((l) => re.test(l.text))?.at;
  const num = (re) => {
    const m = lines.map((l) => re.exec(l.text)).find(Boolean);
    return m ? Number(m[1]) * 1000 : undefined;
  };
  const bps = {};
  for (const l of lines) {
    const m = /^\s*(hop3\/[\w.-]+) done in ([\d.]+)s/.exec(l.text);
    if (m) bps[m[1]] = Number(m[2]) * 1000;
  }
  const buildStart = at(/Building with Cloud Native Buildpacks/);
  const buildEnd = at(/-----> Image ready/);
  const out = {
    build: buildStart !== undefined && buildEnd !== undefined ? buildEnd - buildStart : undefined,
    lifecycle: num(/Built with buildpacks in ([\d.]+)s/),
    detect: num(/\(detected in ([\d.]+)s\)/),
    buildpacks: bps,
    export: num(/Exported \S+ in ([\d.]+)s/),
    restored: lines.some((l) => /Restored from cache/.test(l.text)),
    reused: LANG.reused ? lines.some((l) => LANG.reused.test(l.text)) : undefined,
  };
  // prepare (source copy, build container start), the chown pass and the cache save are not reported
  // one by one: they are what the lifecycle total leaves over.
  if (out.lifecycle !== undefined) {
    const known = (out.detect ?? 0) + Object.values(bps).reduce((a, b) => a + b, 0) + (out.export ?? 0);
    out.other = out.lifecycle - known;
  }
  return out;
}

async function hopBuild(kind, marker) {
  if (kind === "cold") await hop(cli, ["builds:purge-cache", "--app", opts.app]);
  setMarker(marker);
  const t0 = performance.now();
  const lines = await timedHop(["deploy", appDir, "--app", opts.app], t0);
  const deploy = performance.now() - t0;
  if (opts.verbose) for (const l of lines) console.log(`  ${secs(l.at).padStart(6)} ${l.text}`);
  const p = phases(lines);
  if (p.build === undefined)
    throw new Error(
      `the deploy log has no buildpack build (was another builder used?):\n${lines.map((l) => l.text).join("\n")}`,
    );
  await waitForAnswer({ port: host.httpPort, host: appHost, marker, timeoutMs: 30_000 });
  return { deploy, ...p };
}

/**
 * What Hop3's build containers get from the server's settings (src/build/cnb/build-network.ts): the CA
 * bundle (a TLS-intercepting proxy's CA, say) and proxies, so the manual `npm ci` reaches the registry
 * the same way.
 */
function buildNetworkArgs() {
  const s = serverSettings();
  const get = (k) => process.env[k] ?? s[k];
  const args = [];
  const systemBundle = "/etc/ssl/certs/ca-certificates.crt";
  const ca = get("HOP3_BUILD_CA_FILE") ?? (existsSync(systemBundle) ? systemBundle : undefined);
  if (ca && ca !== "none") {
    args.push("-v", `${ca}:/etc/ssl/certs/hop3-extra-ca.crt:ro`);
    args.push("--build-arg", "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/hop3-extra-ca.crt");
  }
  for (const [k, names] of [
    ["HOP3_BUILD_HTTP_PROXY", ["HTTP_PROXY", "http_proxy"]],
    ["HOP3_BUILD_HTTPS_PROXY", ["HTTPS_PROXY", "https_proxy"]],
    ["HOP3_BUILD_NO_PROXY", ["NO_PROXY", "no_proxy"]],
  ]) {
    const v = get(k);
    if (v) for (const n of names) args.push("--build-arg", `${n}=${v}`);
  }
  return args;
}

async function manualBuild(kind, marker, tag) {
  setMarker(marker);
  const args = ["build", "-q", "--format", "docker", "--label", benchLabel, "-t", tag, ...buildNetworkArgs()];
  if (kind === "cold") args.push("--no-cache");
  args.push("-f", join(fileDir, "Containerfile"), appDir);
  const t0 = performance.now();
  await podman(args);
  const build = performance.now() - t0;
  createdImages.push(tag);
  return { build };
}

/** The last manual image must serve the marker too, or the comparison would be with a broken build. */
async function checkManualImage(tag, marker) {
  const id = (await podman(["run", "-d", "--rm", "-p", "127.0.0.1::5000", tag])).trim();
  try {
    const mapping = (await podman(["port", id, "5000/tcp"])).trim().split("\n")[0];
    const port = Number(mapping.split(":").pop());
    await waitForAnswer({ port, marker, timeoutMs: 30_000 });
  } finally {
    await podman(["rm", "-f", "-t", "0", id]).catch(() => {});
  }
}

async function cleanup() {
  await destroyApp().catch((e) => console.error(`cleanup: ${e.message}`));
  if (createdImages.length) await podman(["rmi", "-f", ...createdImages.splice(0)]).catch(() => {});
  // The manual builds' intermediate images (stage one, cache layers) carry the run's label.
  await podman(["image", "prune", "-f", "--filter", `label=${benchLabel}`]).catch(() => {});
  for (const d of [appDir, fileDir]) if (d) rmSync(d, { recursive: true, force: true });
}

const fmt = (ms) => (ms === undefined ? "?" : secs(ms));

async function main() {
  const info = await machineInfo();
  console.log("Hop3 buildpack builds: cold vs warm, and vs a hand-written Containerfile (podman build)");
  printMachine(info);
  console.log(`sample:  ${opts.sample} -> app ${opts.app}`);
  console.log("Containerfile of the manual side:");
  for (const l of CONTAINERFILE.trimEnd().split("\n")) console.log(`  | ${l}`);
  console.log("");

  // Readable by hop3 (podman build runs as hop3); the Containerfile stays outside the app, or hop3 would
  // build the app with it instead of the buildpacks.
  appDir = mkdtempSync(join(tmpdir(), "hop3-bench-bp-"));
  cpSync(opts.sample, appDir, { recursive: true });
  chmodSync(appDir, 0o755);
  fileDir = mkdtempSync(join(tmpdir(), "hop3-bench-bpfile-"));
  chmodSync(fileDir, 0o755);
  writeFileSync(join(fileDir, "Containerfile"), CONTAINERFILE);
  serverSource = readFileSync(join(appDir, LANG.file), "utf8");

  // Warm-up, not measured: creates the app (and the stack images if missing) and fills podman's cache.
  await destroyApp();
  const warmUp = await hopBuild("warm", `bench-${runId}-w0`);
  await manualBuild("warm", `bench-${runId}-w0`, `localhost/bench/bp-manual:${runId}-w0`);
  console.log(`warm-up: hop deploy ${secs(warmUp.deploy)} s (build ${fmt(warmUp.build)} s)`);

  const rounds = [];
  let lastManual;
  for (let r = 1; r <= opts.rounds; r++) {
    const res = { round: r };
    const hopFirst = r % 2 === 1;
    for (const kind of ["cold", "warm"]) {
      const marker = `bench-${runId}-r${r}-${kind}`;
      const tag = `localhost/bench/bp-manual:${runId}-r${r}-${kind}`;
      if (hopFirst) {
        res[`hop_${kind}`] = await hopBuild(kind, marker);
        res[`man_${kind}`] = await manualBuild(kind, marker, tag);
      } else {
        res[`man_${kind}`] = await manualBuild(kind, marker, tag);
        res[`hop_${kind}`] = await hopBuild(kind, marker);
      }
      lastManual = { tag, marker };
    }
    res.order = hopFirst ? "hop3,manual" : "manual,hop3";
    res.warmCold = res.hop_warm.build / res.hop_cold.build;
    res.ratioCold = res.hop_cold.build / res.man_cold.build;
    res.ratioWarm = res.hop_warm.build / res.man_warm.build;
    rounds.push(res);
    console.log(
      `round ${r}: hop3 cold ${fmt(res.hop_cold.build)} s, warm ${fmt(res.hop_warm.build)} s; ` +
        `podman cold ${fmt(res.man_cold.build)} s, warm ${fmt(res.man_warm.build)} s`,
    );
  }
  await checkManualImage(lastManual.tag, lastManual.marker);

  const med = (f) => median(rounds.map(f));
  const rows = [
    [
      "round",
      "order",
      "hop3 cold",
      "hop3 warm",
      "warm/cold",
      "podman cold",
      "podman warm",
      "hop3/podman cold",
      "hop3/podman warm",
      "deploy cold",
      "deploy warm",
    ],
  ];
  for (const r of rounds) {
    rows.push([
      String(r.round),
      r.order,
      fmt(r.hop_cold.build),
      fmt(r.hop_warm.build),
      r.warmCold.toFixed(2),
      fmt(r.man_cold.build),
      fmt(r.man_warm.build),
      r.ratioCold.toFixed(2),
      r.ratioWarm.toFixed(2),
      fmt(r.hop_cold.deploy),
      fmt(r.hop_warm.deploy),
    ]);
  }
  const medians = {
    hopCold: med((r) => r.hop_cold.build),
    hopWarm: med((r) => r.hop_warm.build),
    warmCold: med((r) => r.warmCold),
    manCold: med((r) => r.man_cold.build),
    manWarm: med((r) => r.man_warm.build),
    ratioCold: med((r) => r.ratioCold),
    ratioWarm: med((r) => r.ratioWarm),
    deployCold: med((r) => r.hop_cold.deploy),
    deployWarm: med((r) => r.hop_warm.deploy),
  };
  rows.push([
    "median",
    "",
    fmt(medians.hopCold),
    fmt(medians.hopWarm),
    medians.warmCold.toFixed(2),
    fmt(medians.manCold),
    fmt(medians.manWarm),
    medians.ratioCold.toFixed(2),
    medians.ratioWarm.toFixed(2),
    fmt(medians.deployCold),
    fmt(medians.deployWarm),
  ]);
  console.log("");
  console.log(
    "Build seconds (hop3: 'Building with Cloud Native Buildpacks' -> 'Image ready'; podman: the command):",
  );
  console.log(table(rows));

  // Where the time goes, per step, as the lifecycle reports it (median over the rounds).
  const bpIds = [
    ...new Set(rounds.flatMap((r) => Object.keys({ ...r.hop_cold.buildpacks, ...r.hop_warm.buildpacks }))),
  ];
  const stepRows = [["step", "cold", "warm"]];
  const stepMed = (kind, f) => {
    const xs = rounds.map((r) => f(r[`hop_${kind}`])).filter((x) => x !== undefined);
    return xs.length ? fmt(median(xs)) : "-";
  };
  stepRows.push(["detect", stepMed("cold", (h) => h.detect), stepMed("warm", (h) => h.detect)]);
  for (const id of bpIds)
    stepRows.push([
      `build: ${id}`,
      stepMed("cold", (h) => h.buildpacks[id]),
      stepMed("warm", (h) => h.buildpacks[id]),
    ]);
  stepRows.push(["export (image)", stepMed("cold", (h) => h.export), stepMed("warm", (h) => h.export)]);
  stepRows.push([
    "other (prepare, chown, cache save)",
    stepMed("cold", (h) => h.other),
    stepMed("warm", (h) => h.other),
  ]);
  stepRows.push([
    "lifecycle total",
    stepMed("cold", (h) => h.lifecycle),
    stepMed("warm", (h) => h.lifecycle),
  ]);
  stepRows.push(["build (client view)", stepMed("cold", (h) => h.build), stepMed("warm", (h) => h.build)]);
  console.log("");
  console.log("hop3 build steps, median seconds (from the deploy log; 0.1 s resolution):");
  console.log(table(stepRows));
  if (LANG.reused) {
    const reusedAll = rounds.every((r) => r.hop_warm.reused);
    console.log(
      `warm builds reused the dependencies from the cache: ${reusedAll ? "yes, every round" : "NOT every round"}`,
    );
  }
  // Image sizes: the app's last image against the last manual one (both share the stack's layers on disk).
  const size = async (ref) =>
    Number((await podman(["image", "inspect", "--format", "{{.Size}}", ref])).trim());
  const hopImage = (
    await podman(["images", "--format", "{{.Repository}}:{{.Tag}}", `localhost/hop3/${opts.app}`])
  )
    .trim()
    .split("\n")[0];
  const sizes = { hop: await size(hopImage), manual: await size(lastManual.tag) };
  const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
  console.log(
    `image size: hop3 ${mb(sizes.hop)} (${hopImage}), manual ${mb(sizes.manual)}, ratio ${(sizes.hop / sizes.manual).toFixed(2)}`,
  );

  const verdict = (v, t) => (v <= t ? "PASS" : "ABOVE TARGET");
  console.log("");
  console.log(
    `hop3 warm/cold build: ${medians.warmCold.toFixed(2)}  target <= ${TARGET_WARM_COLD}  ${verdict(medians.warmCold, TARGET_WARM_COLD)}`,
  );
  console.log(
    `hop3/podman cold build: ${medians.ratioCold.toFixed(2)}  target <= ${TARGET_COLD}  ${verdict(medians.ratioCold, TARGET_COLD)}`,
  );
  console.log(
    `hop3/podman warm build: ${medians.ratioWarm.toFixed(2)}  target <= ${TARGET_WARM}  ${verdict(medians.ratioWarm, TARGET_WARM)}`,
  );
  console.log("(medians of the per-round ratios; builds only, the deploy columns are for context)");
  if (opts.json) {
    writeFileSync(
      opts.json,
      `${JSON.stringify({ benchmark: "buildpacks", lang: opts.lang, machine: info, sizes, containerfile: CONTAINERFILE, warmUp, rounds, medians, targets: { warmCold: TARGET_WARM_COLD, cold: TARGET_COLD, warm: TARGET_WARM } }, null, 2)}\n`,
    );
  }
}

await runBenchmark("buildpacks", main, cleanup);
