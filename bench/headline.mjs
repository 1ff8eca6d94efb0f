#!/usr/bin/env node
/**
 * Issue 14's headline, measured: on a brand-new Debian 12 machine with no container registry,
 * `./install.sh --catalog wordpress --domain blog.example.test` gives WordPress over HTTPS with a certificate from
 * the configured ACME CA, in under 5 minutes. It runs the end-to-end test test/e2e/pristine-host.test.ts with
 * HOP3_E2E_CATALOG=wordpress (CI runs it with a lighter recipe): a pristine Debian 12 test host, ./install.sh as
 * the README says, then Pebble as the ACME CA and `./install.sh --catalog wordpress --domain blog.example.test`,
 * the certificate chain verified against Pebble's root and the blog's front page checked. It prints each step's
 * seconds (install.sh's own Timings block) and the headline's total against the 300 s target:
 *
 *   total = the pristine ./install.sh (host packages, base image, Hop3 build, server, router, sample app)
 *         + the catalog install (image build, database, release phase, start, validations)
 *         + the wait for the first 200 over HTTPS (certificate issued and trusted)
 *
 * The test's other cases (a re-run, settings, a removed package) run between the two, so the catalog run's
 * "Hop3 (host, build, server)" row is a re-run's (a server restart for the new settings), not a first install's.
 *
 * Run as root (test hosts are root's Podman containers):  node bench/headline.mjs [--recipe wordpress]
 * [--log FILE] reads a saved run's output instead of running the test.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { machineInfo, parseArgs, printMachine, repoRoot, runBenchmark, table } from "./lib.mjs";

const USAGE = `Usage: node bench/headline.mjs [--recipe NAME] [--log FILE]

  --recipe NAME   the catalog app (default wordpress; the test knows wordpress and radicale)
  --log FILE      parse this saved output of the e2e test instead of running it`;

const TARGET_S = 300;

/** The figures the e2e test prints (`headline NAME ...` lines and install.sh's Timings rows). */
function parseHeadline(text, recipe) {
  const pristine = new RegExp(`^headline ${recipe} pristine-install ([\\d.]+) s$`, "m").exec(text);
  const start = text.indexOf(`headline ${recipe} timings:\n`);
  const rows = [];
  if (start >= 0) {
    for (const line of text.slice(start).split("\n").slice(1)) {
      const m = /^ {2}( {2})?(\S.*?) {2,}([\d.]+|none)$/.exec(line);
      if (!m) break;
      rows.push({ step: m[2], indent: Boolean(m[1]), seconds: m[3] === "none" ? null : Number(m[3]) });
    }
  }
  return { pristine: pristine ? Number(pristine[1]) : null, rows };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2), { recipe: "wordpress", log: "" });
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  printMachine(await machineInfo());
  let text;
  if (opts.log) text = readFileSync(opts.log, "utf8");
  else {
    const out = [];
    const code = await new Promise((res, rej) => {
      const c = spawn("npx", ["vitest", "run", "--project", "e2e", "test/e2e/pristine-host.test.ts"], {
        cwd: repoRoot,
        env: { ...process.env, HOP3_E2E_CATALOG: opts.recipe },
        stdio: ["ignore", "pipe", "pipe"],
      });
      for (const stream of [c.stdout, c.stderr])
        stream.on("data", (chunk) => {
          out.push(chunk.toString());
          process.stdout.write(chunk);
        });
      c.on("error", rej);
      c.on("close", res);
    });
    text = out.join("");
    const saved = join("/tmp", `hop3-headline-${opts.recipe}-${Date.now()}.log`);
    writeFileSync(saved, text);
    console.log(`\n(output saved in ${saved}; the e2e test exited ${code})`);
  }
  const { pristine, rows } = parseHeadline(text, opts.recipe);
  if (rows.length === 0) throw new Error(`no "headline ${opts.recipe} timings" in the test's output`);
  const get = (name) => rows.find((r) => r.step.startsWith(name))?.seconds ?? null;
  const catalog = get(`catalog install of ${opts.recipe}`);
  const https = get("first 200 over HTTPS");
  console.log(`\n./install.sh --catalog ${opts.recipe} on a pristine Debian 12 host (seconds):`);
  console.log(
    table([
      ["step", "s"],
      ["pristine ./install.sh (first run)", pristine ?? "?"],
      ...rows.map((r) => [`${r.indent ? "  " : ""}${r.step}`, r.seconds ?? "none"]),
    ]),
  );
  if (pristine !== null && catalog !== null && https !== null) {
    const total = pristine + catalog + https;
    console.log(
      `\nheadline: ${total.toFixed(1)} s = pristine install ${pristine} + catalog install ${catalog} + first HTTPS 200 ${https}` +
        ` | target ${TARGET_S} s | ratio ${(total / TARGET_S).toFixed(2)} (${total <= TARGET_S ? "met" : "missed"})`,
    );
  } else console.log("\nheadline: incomplete (a step did not finish: see the test's output)");
}

await runBenchmark("headline", main, async () => {});
