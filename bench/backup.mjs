#!/usr/bin/env node
/**
 * Backup and restore of a volume of SIZE MiB of incompressible data (default 1024) and a Postgres table of
 * PG_SIZE MiB (default SIZE), through Hop3 and raw, side by side in one run:
 * - `hop backup:create` against `pg_dump -Fc` in the addon's container plus `tar -czf` of the volume in a helper
 *   container (Hop3 also saves the release's image, timed apart);
 * - `hop backup:show` (every checksum verified again) against `sha256sum` of the same files;
 * - `hop backup:export > file` against `tar -cf` of the same backup directory;
 * - `hop backup:restore --to` against `pg_restore` into a fresh database plus `tar -xzf` into a fresh volume
 *   (Hop3 also creates three addons, loads the image and deploys it).
 * The server's resident memory is sampled from /proc every 100 ms during each hop3 step: a backup is streamed
 * through files and pipes, so its peak must not grow with SIZE.
 *
 * Deploys test/fixtures/apps/backup-app as bench-bk (Postgres, MariaDB, Redis, a /data volume).
 * Run as root on a host set up by install.sh:  node bench/backup.mjs [--size 1024]
 */
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import {
  findServerPid,
  hop,
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
  run,
  runBenchmark,
  secs,
  sleep,
  table,
} from "./lib.mjs";

/** RSS and PSS (KiB) of every process of a container (its init and all descendants), read from /proc. */
async function containerMemory(name) {
  const pid = Number((await podman(["inspect", "-f", "{{.State.Pid}}", name])).trim());
  const all = processes();
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all)
      if (tree.has(p.ppid) && !tree.has(p.pid)) {
        tree.add(p.pid);
        grew = true;
      }
  }
  let rss = 0;
  let pss = 0;
  for (const p of tree) {
    const m = rssOf(p);
    if (!m) continue;
    rss += m.rss;
    pss += Number.isNaN(m.pss) ? m.rss : m.pss;
  }
  return { rss, pss, processes: tree.size };
}

/** One row per addon of `app`: its memory now (the issue asks for an idle Postgres and Redis addon). */
async function addonMemoryRows(app, when) {
  const rows = [];
  for (const t of ["postgres", "mariadb", "redis"]) {
    const m = await containerMemory(`hop3-addon-${app}-${t}`).catch(() => null);
    if (m) rows.push([`${t} (${when})`, String(m.processes), mib(m.rss), mib(m.pss)]);
  }
  return rows;
}

const USAGE = `Usage: node bench/backup.mjs [--size MIB] [--pg-size MIB] [--hop PATH] [--keep]

  --size MIB     size of the volume's file of random bytes (default 1024)
  --pg-size MIB  size of the Postgres table's rows (default: --size)
  --hop PATH     the hop CLI's main.js (default /opt/hop3/dist/cli/main.js, else dist/cli/main.js)
  --keep         leave the apps and backups (remove them with hop destroy / hop backup:destroy)`;

const opts = parseArgs(
  process.argv.slice(2),
  { size: "1024", pgSize: undefined, hop: undefined, keep: false },
  USAGE,
);
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const cli = hopCli(opts.hop);
const size = Number(opts.size);
const pgSizeMiB = Number(opts.pgSize ?? opts.size);
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

/**
 * Times fn while sampling the server's VmRSS every 100 ms: { ms, peakKiB, result }. The peak is of the samples
 * (a spike shorter than 100 ms can be missed; VmHWM, printed at the end, catches it).
 */
async function timedWithRss(serverPid, fn) {
  let peak = rssOf(serverPid)?.rss ?? Number.NaN;
  const timer = setInterval(() => {
    const r = rssOf(serverPid);
    if (r && r.rss > peak) peak = r.rss;
  }, 100);
  const t = Date.now();
  try {
    const result = await fn();
    return { ms: Date.now() - t, peakKiB: peak, result };
  } finally {
    clearInterval(timer);
  }
}

const vmHwm = (pid) => {
  try {
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  } catch {
    return Number.NaN;
  }
};

/** The hop CLI with its stdout into a file (backup:export > file). */
const hopToFile = (args, path) =>
  new Promise((res, rej) => {
    const fd = openSync(path, "w");
    const c = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", fd, "pipe"] });
    let err = "";
    c.stderr.on("data", (d) => (err += d));
    c.on("error", rej);
    c.on("close", (code) => {
      closeSync(fd);
      if (code === 0) res();
      else rej(new Error(`hop ${args.join(" ")}: ${err.trim()}`));
    });
  });
const sh = (script) => run("sh", ["-c", script], { maxBuffer: 1024 * 1024 });
const podmanSh = (script) =>
  sh(
    `cd / && runuser -u hop3 -- env HOME=/home/hop3 XDG_RUNTIME_DIR=/run/user/$(id -u hop3) sh -c '${script}'`,
  );

async function main() {
  printMachine(await machineInfo());
  console.log(
    `load:    ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")} (1, 5, 15 min) at the start`,
  );
  console.log(`size:    ${size} MiB of random bytes in the volume, ${pgSizeMiB} MiB of Postgres rows\n`);
  const serverPid = findServerPid();
  const root = hostSetup().root;
  const rssAtStart = rssOf(serverPid)?.rss;
  await hop(cli, ["deploy", join(repoRoot, "test/fixtures/apps/backup-app"), "--app", app]);
  await sleep(10_000); // idle: the first deploy's work is over
  const memoryRows = await addonMemoryRows(app, "new, idle 10 s");
  // rows of random-looking text (pg_dump compresses them about 2x) until the table is PG_SIZE MiB
  const rows = Math.round((pgSizeMiB * 1024 * 1024) / 150);
  await hopIn(
    ["pg:psql", `${app}-postgres`],
    "CREATE TABLE big (id bigint, a text, b text, c text);\n" +
      `INSERT INTO big SELECT g, md5(g::text), md5((g*7)::text), md5((g*13)::text) FROM generate_series(1, ${rows}) g;\n`,
  );
  // incompressible: gzip can only make it bigger, every tool reads and writes every byte
  await hop(cli, ["run", "--app", app, "sh", "-c", `head -c ${size}M /dev/urandom > /data/big.bin`]);
  const pgSize = await hopIn(
    ["pg:psql", `${app}-postgres`],
    "SELECT pg_size_pretty(pg_database_size(current_database()));\n",
  );
  console.log(`database size: ${pgSize.trim().split("\n").at(-2)?.trim()}`);
  await sleep(10_000);
  memoryRows.push(...(await addonMemoryRows(app, "with the data, idle 10 s")));
  console.log("\naddon memory (every process of the container; PSS shares pages between them fairly):");
  console.log(table([["addon", "processes", "RSS (MiB)", "PSS (MiB)"], ...memoryRows]));

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
  const create = await timedWithRss(serverPid, () => hop(cli, ["backup:create", "-a", app, "--json"]));
  backupId = JSON.parse(create.result).id;
  const dir = join(root, "backups", app, backupId);
  const meta = JSON.parse(await sh(`cat ${dir}/metadata.json`));
  const backupBytes = Object.values(meta.files).reduce((n, f) => n + f.size, 0);
  const imageShare = await timed(() =>
    podmanSh(`podman save --format docker-archive ${meta.release.image_id} | gzip -1 > /dev/null`),
  );

  // checksums: hop3 reads every file again; sha256sum reads the same bytes
  const show = await timedWithRss(serverPid, () => hop(cli, ["backup:show", backupId, "--json"]));
  if (!JSON.parse(show.result).intact) throw new Error(`backup:show says ${backupId} is damaged`);
  const files = Object.keys(meta.files).map((f) => join(dir, f));
  const rawSha = await timed(() => run("sha256sum", files));

  // export: the same directory as one tar
  const exportFile = join(tmp, "export.tar");
  const exported = await timedWithRss(serverPid, () => hopToFile(["backup:export", backupId], exportFile));
  const exportBytes = statSync(exportFile).size;
  const rawExport = await timed(() =>
    run("tar", ["-cf", join(tmp, "raw-export.tar"), "-C", join(root, "backups", app), backupId]),
  );
  await run("rm", ["-f", exportFile, join(tmp, "raw-export.tar")]);

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
  const restore = await timedWithRss(serverPid, () =>
    hop(cli, ["backup:restore", backupId, "--to", copy, "--json"]),
  );
  // where the restore's time went, as the server measured it (hop backup:restore --timings)
  const restoreTimings = JSON.parse(restore.result).timings;

  const raw = rawDump + rawTar;
  const rawR = rawPgRestore + rawUntar;
  const ratio = (a, b) => (a / b).toFixed(2);
  console.log(
    `\nbackup ${backupId}: ${mib(backupBytes / 1024)} MiB in ${Object.keys(meta.files).length} files`,
  );
  console.log(
    table([
      ["step", "raw (s)", "hop3 (s)", "ratio", "server peak RSS (MiB)"],
      ["backup (pg_dump + tar)", secs(raw), secs(create.ms), ratio(create.ms, raw), mib(create.peakKiB)],
      ["  of which image save (hop3 only)", "-", secs(imageShare), "-", "-"],
      [
        "backup without the image",
        secs(raw),
        secs(create.ms - imageShare),
        ratio(create.ms - imageShare, raw),
        "-",
      ],
      ["show: checksums (sha256sum)", secs(rawSha), secs(show.ms), ratio(show.ms, rawSha), mib(show.peakKiB)],
      [
        `export > file, ${mib(exportBytes / 1024)} MiB (tar -cf)`,
        secs(rawExport),
        secs(exported.ms),
        ratio(exported.ms, rawExport),
        mib(exported.peakKiB),
      ],
      [
        "restore (pg_restore + untar)",
        secs(rawR),
        secs(restore.ms),
        ratio(restore.ms, rawR),
        mib(restore.peakKiB),
      ],
    ]),
  );
  if (restoreTimings?.steps) {
    console.log("\nhop3's restore, step by step (sub-steps indented run side by side):");
    console.log(
      table([
        ["step", "s"],
        ...restoreTimings.steps.map((t) => [`${t.sub ? "  " : ""}${t.step}`, secs(t.ms)]),
        ["total (server)", secs(restoreTimings.totalMs)],
      ]),
    );
  }
  console.log(
    `\nserver (pid ${serverPid}): RSS ${mib(rssAtStart)} MiB at the start, ${mib(rssOf(serverPid)?.rss)} MiB at the end, ` +
      `VmHWM (peak since it started) ${mib(vmHwm(serverPid))} MiB; the backup was ${mib(backupBytes / 1024)} MiB`,
  );
  console.log(
    `load:    ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")} (1, 5, 15 min) at the end`,
  );
  console.log(
    "hop3's restore also creates three addons, loads the image, runs the release phase and the health check.",
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
