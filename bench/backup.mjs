#!/usr/bin/env node
/**
 * Backup and restore of a Postgres database and a volume of SIZE MiB each (default 1024), through Hop3
 * (`hop backup:create`, `hop backup:restore --to`) and raw, side by side in one run: `pg_dump -Fc` in the addon's
 * container and `tar -czf` of the volume in a helper container (the backup), `pg_restore` into a fresh database
 * and `tar -xzf` into a fresh volume (the restore). The ratio compares the same work; Hop3's run also saves and
 * loads the release's image and starts the app, reported apart.
 *
 * Deploys test/fixtures/apps/backup-app as bench-bk (Postgres, MariaDB, Redis, a /data volume).
 * Run as root on a host set up by install.sh:  node bench/backup.mjs [--size 1024]
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import {
  hop,
  hopCli,
  machineInfo,
  parseArgs,
  podman,
  printMachine,
  repoRoot,
  run,
  runBenchmark,
  secs,
  table,
} from "./lib.mjs";

const USAGE = `Usage: node bench/backup.mjs [--size MIB] [--hop PATH] [--keep]

  --size MIB     size of the Postgres table and of the volume's file (default 1024)
  --hop PATH     the hop CLI's main.js (default /opt/hop3/dist/cli/main.js, else dist/cli/main.js)
  --keep         leave the apps and backups (remove them with hop destroy / hop backup:destroy)`;

const opts = parseArgs(process.argv.slice(2), { size: "1024", hop: undefined, keep: false }, USAGE);
const cli = hopCli(opts.hop);
const size = Number(opts.size);
const app = "bench-bk";
const copy = "bench-bk-copy";
const base = "localhost/hop3/base:bookworm";
let backupId = "";

/** The hop CLI with `input` on its stdin (pg:psql). */
const hopIn = (args, input) =>
  new Promise((res, rej) => {
    const c = spawn(process.execPath, [cli, ...args]);
    let out = "";
    let err = "";
    c.stdout.on("data", (d) => (out += d));
    c.stderr.on("data", (d) => (err += d));
    c.on("close", (code) => (code === 0 ? res(out) : rej(new Error(`hop ${args.join(" ")}: ${err.trim()}`))));
    c.stdin.end(input);
  });

const timed = async (fn) => {
  const t = Date.now();
  await fn();
  return Date.now() - t;
};
const sh = (script) => run("sh", ["-c", script], { maxBuffer: 1024 * 1024 });
const podmanSh = (script) =>
  sh(
    `cd / && runuser -u hop3 -- env HOME=/home/hop3 XDG_RUNTIME_DIR=/run/user/$(id -u hop3) sh -c '${script}'`,
  );

async function main() {
  printMachine(await machineInfo());
  console.log(`size:    ${size} MiB of Postgres rows and ${size} MiB in the volume\n`);
  await hop(cli, ["deploy", join(repoRoot, "test/fixtures/apps/backup-app"), "--app", app]);
  // rows of random-looking text (pg_dump compresses them about 2x) until the table is SIZE MiB
  const rows = Math.round((size * 1024 * 1024) / 150);
  await hopIn(
    ["pg:psql", `${app}-postgres`],
    "CREATE TABLE big (id bigint, a text, b text, c text);\n" +
      `INSERT INTO big SELECT g, md5(g::text), md5((g*7)::text), md5((g*13)::text) FROM generate_series(1, ${rows}) g;\n`,
  );
  await hop(cli, ["run", "--app", app, "sh", "-c", `head -c ${size}M /dev/urandom > /data/big.bin`]);
  const pgSize = await hopIn(
    ["pg:psql", `${app}-postgres`],
    "SELECT pg_size_pretty(pg_database_size(current_database()));\n",
  );
  console.log(`database size: ${pgSize.trim().split("\n").at(-2)?.trim()}`);

  const pgId = (await podman(["ps", "-q", "--filter", `name=hop3-addon-${app}-postgres$`])).trim();
  const vol = `hop3-${app}-data`;
  const tmp = "/home/hop3/bench-bk";
  await podmanSh(`mkdir -p ${tmp}`);

  // raw backup: the same tools on the same data
  const rawDump = await timed(() =>
    podmanSh(
      `podman exec -e PGPASSWORD=$(podman exec ${pgId} printenv POSTGRES_PASSWORD) ${pgId} sh -c "pg_dump -Fc -h 127.0.0.1 -U \\$POSTGRES_USER \\$POSTGRES_DB" > ${tmp}/raw.dump`,
    ),
  );
  const rawTar = await timed(() =>
    podmanSh(
      `podman run --rm --network=none -v ${vol}:/v:ro --entrypoint tar ${base} -C /v -czf - . > ${tmp}/raw.tar.gz`,
    ),
  );
  let hopBackup = 0;
  const out = await (async () => {
    const t = Date.now();
    const r = await hop(cli, ["backup:create", "-a", app, "--json"]);
    hopBackup = Date.now() - t;
    return r;
  })();
  backupId = JSON.parse(out).id;
  const meta = JSON.parse(await sh(`cat /var/lib/hop3/backups/${app}/${backupId}/metadata.json`));
  const imageShare = await timed(() =>
    podmanSh(`podman save --format docker-archive ${meta.release.image_id} | gzip -1 > /dev/null`),
  );

  // raw restore: a fresh database and a fresh volume
  await podmanSh(
    `podman run -d --name bench-bk-pg --network=none -e POSTGRES_USER=b -e POSTGRES_PASSWORD=b -e POSTGRES_DB=b ${(await podman(["inspect", "-f", "{{.ImageName}}", pgId])).trim()} >/dev/null && sleep 5 && until podman exec bench-bk-pg pg_isready -q -h 127.0.0.1 -U b; do sleep 1; done`,
  );
  const rawPgRestore = await timed(() =>
    podmanSh(
      `podman exec -i -e PGPASSWORD=b bench-bk-pg pg_restore --no-owner -h 127.0.0.1 -U b -d b < ${tmp}/raw.dump`,
    ),
  );
  const rawUntar = await timed(() =>
    podmanSh(
      `podman volume create bench-bk-v >/dev/null && podman run --rm -i --network=none -v bench-bk-v:/v --entrypoint tar ${base} -C /v -xzf - < ${tmp}/raw.tar.gz`,
    ),
  );
  const hopRestore = await timed(() => hop(cli, ["backup:restore", backupId, "--to", copy]));

  const raw = rawDump + rawTar;
  const rawR = rawPgRestore + rawUntar;
  console.log(
    table([
      ["step", "raw (s)", "hop3 (s)", "ratio"],
      ["backup (pg_dump + tar)", secs(raw), secs(hopBackup), (hopBackup / raw).toFixed(2)],
      ["  of which image save (hop3 only)", "-", secs(imageShare), "-"],
      [
        "backup without the image",
        secs(raw),
        secs(hopBackup - imageShare),
        ((hopBackup - imageShare) / raw).toFixed(2),
      ],
      ["restore (pg_restore + untar)", secs(rawR), secs(hopRestore), (hopRestore / rawR).toFixed(2)],
    ]),
  );
  console.log(
    "\nhop3's restore also creates three addons, loads the image, runs the release phase and the health check.",
  );
}

async function cleanup() {
  await podmanSh(
    "podman rm -f bench-bk-pg >/dev/null 2>&1; podman volume rm -f bench-bk-v >/dev/null 2>&1; rm -rf /home/hop3/bench-bk",
  ).catch(() => {});
  if (opts.keep) return;
  for (const a of [app, copy]) {
    await hop(cli, ["destroy", a, "--confirm", a]).catch(() => {});
    for (const t of ["postgres", "mariadb", "redis"])
      await hop(cli, ["addons:destroy", `${a}-${t}`, "--confirm", `${a}-${t}`]).catch(() => {});
  }
  if (backupId) await hop(cli, ["backup:destroy", backupId, "--confirm", backupId]).catch(() => {});
}

runBenchmark("backup", main, cleanup);
