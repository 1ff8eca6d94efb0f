#!/usr/bin/env node
/**
 * Installs every recipe of catalog/ (or those named with --only), one after the other, and for each prints the
 * install time (the command's wall time: upload, image build, addons, start, health check), whether its
 * hop3.toml [test] validations pass through the router (each GET, its expected status and text), and the time to
 * the validations passing. Everything it created is removed afterwards (the app, its volumes, and the addons
 * created for it), unless --keep.
 *
 * The install goes through `hop catalog:install NAME --app APP` when this Hop3 has that command, else through
 * the plain deploy path, `hop deploy catalog/NAME --app APP` (a recipe is an ordinary Hop3 app), with the
 * validations checked here. Image layers Podman already has are reused: the first install of a recipe on a
 * host also downloads and installs its Debian packages (or npm modules), later ones may not (`hop destroy`
 * removes the app's image; build layers other images share stay).
 *
 * Run as root on a host set up by install.sh:  node bench/catalog.mjs [--only dokuwiki,adminer] [--keep]
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  hop,
  hopCli,
  hostSetup,
  httpGet,
  machineInfo,
  parseArgs,
  printMachine,
  repoRoot,
  runBenchmark,
  secs,
  sleep,
  table,
} from "./lib.mjs";

const USAGE = `Usage: node bench/catalog.mjs [--only NAMES] [--prefix P] [--hop PATH] [--keep] [--deploy]

  --only NAMES   comma-separated recipes (default: every directory of catalog/ with a catalog.toml)
  --prefix P     apps are named P-NAME (default bench-cat)
  --hop PATH     the hop CLI's main.js (default /opt/hop3/dist/cli/main.js, else dist/cli/main.js)
  --keep         leave the apps and their addons running
  --deploy       use \`hop deploy catalog/NAME\` even where \`hop catalog:install\` exists`;

const opts = parseArgs(
  process.argv.slice(2),
  { only: "", prefix: "bench-cat", hop: undefined, keep: false, deploy: false },
  USAGE,
);
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const cli = hopCli(opts.hop);
const catalogDir = join(repoRoot, "catalog");
const { httpPort } = hostSetup();
/** How long validations may take to pass after the install returned (an app may still warm up). */
const VALIDATION_WINDOW_MS = 60_000;

const recipes = (
  opts.only
    ? opts.only.split(",").map((s) => s.trim())
    : readdirSync(catalogDir).filter((d) => existsSync(join(catalogDir, d, "catalog.toml")))
).sort((a, b) => (opts.only ? 0 : a.localeCompare(b)));
for (const name of recipes) {
  if (!existsSync(join(catalogDir, name, "hop3.toml"))) throw new Error(`catalog/${name}: no such recipe`);
}

/**
 * The [[test.validations]] entries of a recipe's hop3.toml. A reader for just that part of TOML, so the script
 * runs from a checkout with no dependencies: `path`, `status` and `contains` keys with basic strings (JSON's
 * escapes) or integers, in [[test.validations]] tables. Anything else in those tables is an error.
 */
export function readValidations(source, file) {
  const out = [];
  let current;
  source.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    if (line.startsWith("[")) {
      current = line === "[[test.validations]]" ? {} : undefined;
      if (current) out.push(current);
      return;
    }
    if (!current) return;
    const m = /^(path|status|contains)\s*=\s*("(?:[^"\\]|\\.)*"|\d+)\s*(#.*)?$/.exec(line);
    if (!m) throw new Error(`${file}:${i + 1}: cannot read this validation line: ${line}`);
    current[m[1]] = m[2].startsWith('"') ? JSON.parse(m[2]) : Number(m[2]);
  });
  return out;
}

/** Runs the validations once: the failures, [] when all pass. */
async function check(host, validations) {
  const failures = [];
  for (const v of validations) {
    const r = await httpGet(httpPort, v.path, host, 15_000);
    const expected = v.status ?? 200;
    if (!r) failures.push(`${v.path}: no answer`);
    else if (r.status !== expected) failures.push(`${v.path}: status ${r.status}, expected ${expected}`);
    else if (v.contains !== undefined && !r.body.includes(v.contains))
      failures.push(`${v.path}: the answer does not contain ${JSON.stringify(v.contains)}`);
  }
  return failures;
}

async function hasCatalogInstall() {
  if (opts.deploy) return false;
  try {
    await hop(cli, ["catalog:install", "--help"]);
    return true;
  } catch {
    return false;
  }
}

const apps = [];

async function appUrl(app) {
  const list = JSON.parse(await hop(cli, ["apps", "--json"]));
  const url = list.apps.find((a) => a.name === app)?.url;
  if (!url) throw new Error(`${app} has no URL in \`hop apps --json\``);
  return new URL(url).hostname;
}

async function install(name, useCatalog) {
  const app = `${opts.prefix}-${name}`;
  apps.push(app);
  const validations = readValidations(
    readFileSync(join(catalogDir, name, "hop3.toml"), "utf8"),
    `catalog/${name}/hop3.toml`,
  );
  const args = useCatalog
    ? ["catalog:install", name, "--app", app]
    : ["deploy", join(catalogDir, name), "--app", app];
  const started = performance.now();
  try {
    await hop(cli, args, { cwd: repoRoot });
  } catch (e) {
    const tail = e.message.split("\n").slice(-6).join("\n");
    return { name, app, installMs: performance.now() - started, ok: false, why: `install failed: ${tail}` };
  }
  const installMs = performance.now() - started;
  const host = await appUrl(app);
  let failures = [];
  const deadline = performance.now() + VALIDATION_WINDOW_MS;
  for (;;) {
    failures = await check(host, validations);
    if (failures.length === 0 || performance.now() > deadline) break;
    await sleep(2000);
  }
  return {
    name,
    app,
    installMs,
    validMs: performance.now() - started,
    count: validations.length,
    ok: failures.length === 0,
    why: failures.join("; "),
  };
}

async function cleanup() {
  if (opts.keep) return;
  for (const app of apps) {
    let addons = [];
    try {
      addons = JSON.parse(await hop(cli, ["addons", "--json"])).filter((a) =>
        (a.apps ?? []).some((x) => (typeof x === "string" ? x : x.app) === app),
      );
    } catch {
      // no addons listed: nothing to remove beside the app
    }
    try {
      await hop(cli, ["destroy", app, "--confirm", app]);
    } catch (e) {
      if (!/not found|no such app|unknown app/i.test(e.message)) console.error(`cleanup: ${e.message}`);
    }
    for (const a of addons) {
      try {
        await hop(cli, ["addons:destroy", a.name, "--confirm", a.name]);
      } catch (e) {
        console.error(`cleanup: ${e.message}`);
      }
    }
  }
}

async function main() {
  printMachine(await machineInfo());
  const useCatalog = await hasCatalogInstall();
  console.log(
    `install: ${useCatalog ? "hop catalog:install" : "hop deploy catalog/NAME"}; recipes: ${recipes.join(", ")}\n`,
  );
  const results = [];
  for (const name of recipes) {
    const r = await install(name, useCatalog);
    results.push(r);
    console.log(
      `${r.ok ? "pass" : "FAIL"}  ${name}: install ${secs(r.installMs)} s` +
        (r.validMs ? `, validations (${r.count}) passing at ${secs(r.validMs)} s` : "") +
        (r.ok ? "" : `\n      ${r.why}`),
    );
    if (!opts.keep) {
      // one recipe at a time on the machine: remove it before the next one starts
      await cleanup();
      apps.length = 0;
    }
  }
  console.log(
    `\n${table([
      ["recipe", "install s", "validations", "result"],
      ...results.map((r) => [r.name, secs(r.installMs), r.count ?? "-", r.ok ? "pass" : "FAIL"]),
    ])}`,
  );
  const failed = results.filter((r) => !r.ok).length;
  console.log(
    `\n${results.length - failed}/${results.length} recipes installed and passed their validations`,
  );
}

runBenchmark("catalog", main, cleanup);
