#!/usr/bin/env node
/**
 * SBOM cost: the time to generate a release's SBOM against the time of a warm deploy of the same app.
 *
 *   deploy: hop deploy of test/fixtures/apps/express-lockfile (a buildpack Node app with express), warm
 *           (round 0 fills the build caches and is not measured), timed until the command returns (the new
 *           release is routed by then)
 *   sbom:   from that moment until `hop sbom` answers the release's SBOM (polled every 250 ms): the
 *           background generation the server queued after the route switch (src/sbom/release-sbom.ts)
 *
 * The SBOM is made after the switch, so it adds nothing to the time to first request; the ratio says what it
 * costs the host on top of a deploy. Run as root on a host set up by install.sh:
 *   node bench/sbom.mjs [--rounds 3]
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  hop,
  hopCli,
  machineInfo,
  median,
  parseArgs,
  printMachine,
  repoRoot,
  runBenchmark,
  secs,
  sleep,
  table,
} from "./lib.mjs";

const opts = parseArgs(process.argv.slice(2), { rounds: 3, cli: "" });
const cli = hopCli(opts.cli || undefined);
const app = `bench-sbom-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), "hop3-bench-sbom-"));

async function sbomReady(release) {
  for (;;) {
    try {
      const out = await hop(cli, ["sbom", "-a", app, "--release", `v${release}`]);
      return JSON.parse(out).components.length;
    } catch (e) {
      if (!/being generated/.test(e.message)) throw e;
      await sleep(250);
    }
  }
}

async function main() {
  printMachine(await machineInfo());
  cpSync(join(repoRoot, "test/fixtures/apps/express-lockfile"), dir, { recursive: true });
  const deploys = [];
  const sboms = [];
  let components = 0;
  for (let round = 0; round <= opts.rounds; round++) {
    // a changed file: a new build (warm caches), a new image, so a new SBOM
    writeFileSync(join(dir, "round.txt"), `${round}\n`);
    const t0 = Date.now();
    await hop(cli, ["deploy", dir, "--app", app]);
    const t1 = Date.now();
    components = await sbomReady(round + 1);
    const t2 = Date.now();
    const label = round === 0 ? "warm-up" : `round ${round}`;
    console.log(`${label}: deploy ${secs(t1 - t0)} s, SBOM ready ${secs(t2 - t1)} s after it (${components} components)`);
    if (round > 0) {
      deploys.push(t1 - t0);
      sboms.push(t2 - t1);
    }
  }
  const d = median(deploys);
  const s = median(sboms);
  console.log();
  console.log(
    table([
      ["median of rounds", "warm deploy (s)", "SBOM after the switch (s)", "SBOM / deploy"],
      [`${opts.rounds}`, secs(d), secs(s), `${(s / d).toFixed(2)}x`],
    ]),
  );
  console.log(`\n${components} components; the SBOM runs after the route switch: time to first request unchanged.`);
}

async function cleanup() {
  await hop(cli, ["destroy", app, "--confirm", app]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}

await runBenchmark("sbom", main, cleanup);
