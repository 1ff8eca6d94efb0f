/**
 * Backups end to end (docs/backups.md): create, list, show (re-verified), restore, destroy, export, import,
 * and scheduled runs (systemd timers on the quadlet path, timers.ts; the server's minute tick elsewhere).
 * The format and every decision are format.ts's pure functions; this file does the I/O: podman save of the
 * release's image, the addons' own dump tools run in their containers, a helper container that archives the
 * app's volumes, and the sealed env.json. A backup is written in a temporary directory and
 * renamed into place when complete, so a server killed mid-backup never leaves one listed.
 */
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { addonVolumeName, inspectAddonContainer } from "../addons/containers.js";
import { pluginFor } from "../addons/registry.js";
import type { AddonService } from "../addons/service.js";
import type { BuiltImage } from "../build/builder.js";
import { imageById, imageFromArchive, retag, untag } from "../build/image-source.js";
import { withAppLock } from "../deploy/app-lock.js";
import type { Deployer, DeployResult } from "../deploy/deployer.js";
import type { Lifecycle } from "../deploy/lifecycle.js";
import type { Platform, Progress } from "../deploy/platform.js";
import type { ReleaseSpec } from "../deploy/release-spec.js";
import { timed } from "../deploy/timings.js";
import { appDataDir, planMounts } from "../deploy/volumes.js";
import { cronMatches, parseSchedule } from "../runtime/cron.js";
import { appImageRepo } from "../runtime/labels.js";
import { podmanSocketOf } from "../runtime/podman-remote.js";
import { ensureMounts } from "../runtime/volumes.js";
import { RESTORED_FROM, relabelSbom } from "../sbom/relabel.js";
import { isSbomPending } from "../sbom/release-sbom.js";
import { releaseDocPath, sbomPath, writeReleaseDoc, writeReleaseSbom } from "../sbom/store.js";
import { conflict, Hop3Error, notFound, usageError } from "../util/errors.js";
import { allSettledLimit, allSettledSteps } from "../util/settled.js";
import { tarStream } from "../util/tar-modules.js";
import {
  addonFileName,
  type BackupAddon,
  type BackupMetadata,
  type BackupVolume,
  backupId,
  checkArchiveEntry,
  checksumProblems,
  expiredBackups,
  type FileDigest,
  FORMAT_VERSION,
  type ImportLimits,
  isBackupId,
  PROVENANCE_FILE,
  parseMetadata,
  parseSupplyChainDoc,
  planRestore,
  SBOM_FILE,
  SUPPLY_CHAIN_MAX_BYTES,
  validateBackupId,
} from "./format.js";
import { backupKey, openEnv, sealEnv } from "./secrets.js";
import { commandToFile, FILE_CHUNK, fileDigest, fileToCommand, runCommand } from "./streams.js";
import type { BackupTimerEntry } from "./timers.js";

export interface BackupServiceDeps {
  platform: Platform;
  deployer: Deployer;
  lifecycle: Lifecycle;
  addons: AddonService;
  version: string;
  /** HOP3_BACKUP_KEY_FILE: created on first use, to be copied off the server by the operator. */
  keyFile: string;
  importLimits?: ImportLimits;
  /**
   * The schedules' systemd timers (timers.ts BackupTimers) on the quadlet path: they run the scheduled
   * backups, and the server's minute tick does not. Unset, the tick runs them.
   */
  timers?: { sync(schedules: readonly BackupTimerEntry[]): Promise<unknown> };
}

/** What env.json holds (sealed). */
interface BackupEnv {
  config: Record<string, string>;
  generated: Record<string, string>;
  scale: Record<string, number>;
  domains: string[];
  spec: ReleaseSpec;
  addons: {
    name: string;
    type: string;
    options: Record<string, unknown>;
    credentials: Record<string, string>;
  }[];
}

export interface BackupSummary {
  id: string;
  app: string;
  createdAt: string;
  size: number;
  release: number;
  addons: string[];
  trigger: string;
}

export interface ScheduledFailure {
  app: string;
  at: string;
  error: string;
}

export interface BackupSchedule {
  app: string;
  cron: string;
  keep: number;
}

const DEFAULT_IMPORT_LIMITS: ImportLimits = {
  maxEntryBytes: 64 * 1024 ** 3,
  maxTotalBytes: 128 * 1024 ** 3,
  maxEntries: 100,
};
const FAILURES_KEPT = 20;
const SCHEDULES_SETTING = "backup-schedules";
// kept in the store, not in memory: a failed scheduled backup must still call for attention after a restart
const FAILURES_SETTING = "backup-failures";
const VOLUMES_ROOT = "/hop3-backup";
/** How long a backup waits for the SBOM of a release deployed moments before (it is made after the switch). */
const SBOM_WAIT_MS = 120_000;

/**
 * `podman run` of a short-lived helper container that reads or writes a volume: no network, no pull (the image is
 * local), as the container's root (the rootless hop3 user) so it can read and restore any file of the volume.
 */
function helperRunArgs(o: {
  /** `container:ID` to share an addon's network namespace (its server on 127.0.0.1); none otherwise. */
  network?: string;
  /** Names of variables passed from the podman process's environment (values never in argv). */
  envNames?: string[];
  mounts: string[];
  entrypoint: string;
  image: string;
  args: string[];
}): string[] {
  return [
    "run",
    "--rm",
    `--network=${o.network ?? "none"}`,
    "--pull=never",
    "--user=0:0",
    ...(o.envNames ?? []).flatMap((k) => ["-e", k]),
    ...o.mounts,
    "--entrypoint",
    o.entrypoint,
    o.image,
    ...o.args,
  ];
}

/**
 * The helper containers of a backup write their file into the backup's directory, and those of a restore read
 * theirs where it lies, mounted, rather than having the bytes streamed through `podman exec`, the Podman
 * service's attach and the server (for a GiB, that relay cost more CPU than the tools themselves).
 */
const BACKUP_DIR = "/hop3-backup-out";
const RESTORE_FILE = "/hop3-restore/file";

function bindMount(source: string, target: string, readOnly: boolean): string[] {
  // -v splits at ':' (options) and the paths come from the settings' root, validated names and ids
  if (source.includes(":")) throw new Hop3Error(`cannot mount ${source}: its path has a ':'`);
  return ["-v", `${source}:${target}${readOnly ? ":ro" : ""}`];
}

const readOnlyFile = (file: string) => bindMount(file, RESTORE_FILE, true);

/** A file of the backup as a helper container writes it: the mount of its directory, and its path in there. */
const writtenInPlace = (path: string) => ({
  mount: bindMount(dirname(path), BACKUP_DIR, false),
  target: `${BACKUP_DIR}/${basename(path)}`,
});

/** A file a helper container wrote into the backup: made private to the hop3 user, then hashed. */
function sealWritten(path: string): Promise<FileDigest> {
  chmodSync(path, 0o600);
  return fileDigest(path);
}

export class BackupService {
  /** Every podman command of a backup or restore goes through the Podman service (runtime/podman-remote.ts). */
  private podmanSocket(): string {
    return podmanSocketOf(this.p.docker, "backups");
  }

  private readonly root: string;
  private timer?: NodeJS.Timeout;

  constructor(private readonly d: BackupServiceDeps) {
    this.root = join(d.platform.settings.root, "backups");
    // built once at the server's start, when no backup, restore or import runs: what .tmp holds was left by a
    // server killed mid-way (never listed: a backup is renamed out of .tmp only when complete)
    rmSync(join(this.root, ".tmp"), { recursive: true, force: true });
  }

  private get p() {
    return this.d.platform;
  }

  private tmpDir(): string {
    const dir = join(this.root, ".tmp", `${Date.now()}-${randomBytes(4).toString("hex")}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  /** A complete backup into its place (once more if a destroy removed the app's emptied directory meanwhile). */
  private moveIntoPlace(tmp: string, app: string, id: string): void {
    for (let attempt = 0; ; attempt++) {
      mkdirSync(join(this.root, app), { recursive: true, mode: 0o700 });
      try {
        renameSync(tmp, join(this.root, app, id));
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt > 0) throw err;
      }
    }
  }

  /** A backup's directory: found by its id under any app (ids are unique: second + random suffix). */
  private locate(id: string): { app: string; dir: string } {
    validateBackupId(id);
    if (existsSync(this.root)) {
      for (const app of readdirSync(this.root)) {
        if (app.startsWith(".")) continue;
        const dir = join(this.root, app, id);
        if (existsSync(join(dir, "metadata.json"))) return { app, dir };
      }
    }
    throw notFound(`no backup ${id}`, "see: hop backup:list");
  }

  private readMetadata(id: string): { meta: BackupMetadata; dir: string } {
    const { dir } = this.locate(id);
    return { meta: parseMetadata(readFileSync(join(dir, "metadata.json"), "utf8"), id), dir };
  }

  /** Every file of the backup against metadata.json; a list of problems (empty when intact). */
  private async verify(dir: string, meta: BackupMetadata): Promise<string[]> {
    const actual: Record<string, FileDigest | undefined> = {};
    const walk = (rel: string) => {
      for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
        const name = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(name);
        else if (name !== "metadata.json") actual[name] = undefined;
      }
    };
    walk("");
    // two files at a time: hashing is CPU-bound, and this machine class has two cores
    await allSettledLimit(Object.keys(actual), 2, async (name) => {
      const st = statSync(join(dir, name), { throwIfNoEntry: false });
      actual[name] = st?.isFile() ? await fileDigest(join(dir, name)) : { sha256: "", size: -1 };
    });
    // lstat-free: a file's absence shows as missing in checksumProblems
    return checksumProblems(meta.files, Object.fromEntries(Object.entries(actual).filter(([, v]) => v)));
  }

  async list(
    app?: string,
  ): Promise<{ backups: BackupSummary[]; failures: ScheduledFailure[]; schedules: BackupSchedule[] }> {
    const backups: BackupSummary[] = [];
    const apps = app
      ? [app]
      : existsSync(this.root)
        ? readdirSync(this.root).filter((a) => !a.startsWith("."))
        : [];
    for (const a of apps) {
      const appDir = join(this.root, a);
      if (!existsSync(appDir)) continue;
      for (const id of readdirSync(appDir).filter(isBackupId).sort()) {
        try {
          const meta = parseMetadata(readFileSync(join(appDir, id, "metadata.json"), "utf8"), id);
          backups.push({
            id,
            app: meta.app,
            createdAt: meta.created_at,
            size: Object.values(meta.files).reduce((n, f) => n + f.size, 0),
            release: meta.release.number,
            addons: meta.addons.map((x) => `${x.type}:${x.name}`),
            trigger: meta.trigger,
          });
        } catch {
          // not listed as a backup: a directory without valid metadata is not one
        }
      }
    }
    // the latest failure of each app: one line per app that needs attention
    const latest = new Map(
      this.failures()
        .filter((f) => !app || f.app === app)
        .map((f) => [f.app, f]),
    );
    const failures = [...latest.values()];
    const schedules = this.schedules().filter((s) => !app || s.app === app);
    return { backups, failures, schedules };
  }

  /** The last scheduled run of the app failed (for `hop apps`). */
  lastScheduledFailure(app: string): ScheduledFailure | undefined {
    const mine = this.failures().filter((f) => f.app === app);
    return mine.at(-1);
  }

  async show(id: string): Promise<{ metadata: BackupMetadata; problems: string[]; intact: boolean }> {
    const { meta, dir } = this.readMetadata(id);
    const problems = await this.verify(dir, meta);
    return { metadata: meta, problems, intact: problems.length === 0 };
  }

  async destroy(id: string, confirm: string | undefined): Promise<{ destroyed: string }> {
    if (confirm !== id)
      throw usageError(`destroying backup ${id} needs confirmation`, `pass --confirm ${id}`);
    const { app, dir } = this.locate(id);
    // renamed away first: the backup disappears from listings at once, whatever remains to delete
    const trash = this.tmpDir();
    renameSync(dir, join(trash, id));
    rmSync(trash, { recursive: true, force: true });
    try {
      rmdirSync(join(this.root, app)); // the app's directory goes with its last backup
    } catch {
      // not empty: other backups of the app
    }
    return { destroyed: id };
  }

  // ---- create ----

  async create(
    app: string,
    progress: Progress,
    trigger: "manual" | "scheduled" = "manual",
  ): Promise<BackupSummary> {
    const { store } = this.p;
    store.requireApp(app);
    // under the app's lock: a deploy would prune the image being saved, or change the release mid-backup
    return withAppLock(app, async () => {
      const current = store.currentRelease(app);
      if (!current?.image || !current.imageId) {
        throw conflict(
          `${app} has no release yet: there is nothing to back up`,
          `deploy it first: hop deploy -a ${app}`,
        );
      }
      const spec = current.spec as ReleaseSpec;
      const at = new Date();
      const id = backupId(at, randomBytes(6));
      const tmp = this.tmpDir();
      const files: Record<string, FileDigest> = {};
      try {
        progress.step(`Backing up ${app} (v${current.number}) as ${id}`);
        const attached = this.d.addons.attachedTo(app);
        const env: BackupEnv = {
          config: store.getConfig(app),
          generated: store.getGeneratedEnv(app),
          scale: store.requireApp(app).scale,
          domains: store.listDomains(app),
          spec,
          addons: attached.map((a) => ({
            name: a.name,
            type: a.type,
            options: store.addons.require(a.name).options as Record<string, unknown>,
            credentials: a.credentials,
          })),
        };
        const key = backupKey(this.d.keyFile);
        writeFileSync(join(tmp, "env.json"), sealEnv(key, id, env), { mode: 0o600 });
        files["env.json"] = await fileDigest(join(tmp, "env.json"));

        // The image (and the release's SBOM) and the app's data are independent: saved side by side. Within
        // the data, the databases are dumped side by side, and the volumes archived once every dump has
        // begun and ended (the consistency recorded below). Each part has ended before a failure is handled.
        const imageId = current.imageId;
        const imageStep = async () => {
          progress.step(`Saving the release's image ${current.image}`);
          files["image.tar.gz"] = await commandToFile(
            {
              cmd: "podman",
              podmanSocket: this.podmanSocket(),
              args: ["save", "--format", "docker-archive", imageId],
              what: "podman save",
            },
            join(tmp, "image.tar.gz"),
            { gzip: true },
          );
          Object.assign(files, await this.copySupplyChain(app, current.number, tmp, progress));
        };
        if (attached.length) mkdirSync(join(tmp, "addons"));
        const { volumes, binds } = this.dataPlan(app, spec);
        let addons: BackupAddon[] = [];
        const dataStep = async () => {
          addons = await allSettledLimit(attached, attached.length, async (a) => {
            const row = store.addons.require(a.name);
            const file = addonFileName(a.type, a.name);
            progress.step(`Dumping ${pluginFor(a.type).title} ${a.name} (live)`);
            files[file] = await this.dumpAddon(a.name, a.type, row.credentials, join(tmp, file));
            return { name: a.name, type: a.type, major: row.major, prefix: a.prefix, file };
          });
          if (volumes.length || binds) {
            progress.step(`Archiving ${volumes.length} volume(s)${binds ? " and the bind directories" : ""}`);
            files["data.tar.gz"] = await this.archiveData(app, spec, join(tmp, "data.tar.gz"));
          }
        };
        await allSettledSteps([imageStep, dataStep]);

        const meta: BackupMetadata = {
          app,
          id,
          created_at: at.toISOString(),
          format_version: FORMAT_VERSION,
          hop3_version: this.d.version,
          trigger,
          release: {
            number: current.number,
            image: current.image,
            image_id: current.imageId,
            revision: current.revision ?? null,
          },
          addons,
          volumes: volumes.map((v) => ({ dir: v.dir, target: v.target })),
          binds,
          files,
          consistency:
            "databases: their own consistent dump of the live server; volumes: archived after the dumps while the app runs, not paused: each file unchanged while read (else the backup fails), files read at different moments",
        };
        writeFileSync(join(tmp, "metadata.json"), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
        // complete: only now does it appear under its app
        this.moveIntoPlace(tmp, app, id);
        const size = Object.values(files).reduce((n, f) => n + f.size, 0);
        progress.log(`${id}: ${(size / 1024 / 1024).toFixed(1)} MiB`);
        return {
          id,
          app,
          createdAt: meta.created_at,
          size,
          release: current.number,
          addons: addons.map((x) => `${x.type}:${x.name}`),
          trigger,
        };
      } catch (err) {
        rmSync(tmp, { recursive: true, force: true });
        throw err;
      }
    });
  }

  /**
   * The release's SBOM and provenance statement, byte for byte, into the backup (a signature stays
   * checkable). An SBOM still being generated (the release was deployed moments ago) is waited for, within
   * SBOM_WAIT_MS; a release without one is backed up without it, and the log says so.
   */
  private async copySupplyChain(
    app: string,
    release: number,
    tmp: string,
    progress: Progress,
  ): Promise<Record<string, FileDigest>> {
    const root = this.p.settings.root;
    if (isSbomPending(app, release)) {
      progress.step(`Waiting for the SBOM of v${release} (it is being generated)`);
      const until = Date.now() + SBOM_WAIT_MS;
      while (isSbomPending(app, release) && Date.now() < until) await sleep(250);
    }
    const out: Record<string, FileDigest> = {};
    const sources: [string, string][] = [
      [SBOM_FILE, sbomPath(root, app, release)],
      [PROVENANCE_FILE, releaseDocPath(root, app, release, "intoto")],
    ];
    for (const [file, source] of sources) {
      try {
        copyFileSync(source, join(tmp, file));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw err;
      }
      out[file] = await fileDigest(join(tmp, file));
    }
    if (!out[SBOM_FILE]) progress.log(`v${release} has no SBOM (see hop sbom): the backup holds none`);
    else progress.step(`Adding the release's SBOM${out[PROVENANCE_FILE] ? " and provenance" : ""}`);
    return out;
  }

  /** The app's persist volumes (in data.tar.gz as volumes/N) and whether it has bind directories. */
  private dataPlan(
    app: string,
    spec: ReleaseSpec,
  ): { volumes: (BackupVolume & { volume: string })[]; binds: boolean } {
    const mounts = planMounts(app, spec.volumes ?? [], this.p.settings.root);
    const volumes = mounts.flatMap((m, i) =>
      m.kind === "volume" ? [{ dir: `volumes/${i}`, target: m.target, volume: m.volume }] : [],
    );
    const binds = mounts.some((m) => m.kind === "bind") && existsSync(appDataDir(this.p.settings.root, app));
    return { volumes, binds };
  }

  /**
   * A helper container of the base image with the volumes read-only and the backup's directory writable,
   * archiving them into it; the archive is hashed once written.
   */
  private async archiveData(app: string, spec: ReleaseSpec, path: string): Promise<FileDigest> {
    const { volumes, binds } = this.dataPlan(app, spec);
    const out = writtenInPlace(path);
    const mounts = [
      ...volumes.map((v) => ["-v", `${v.volume}:${VOLUMES_ROOT}/${v.dir}:ro`]),
      ...(binds ? [["-v", `${appDataDir(this.p.settings.root, app)}:${VOLUMES_ROOT}/binds:ro`]] : []),
      out.mount,
    ].flat();
    await runCommand({
      cmd: "podman",
      podmanSocket: this.podmanSocket(),
      args: helperRunArgs({
        mounts,
        entrypoint: "tar",
        image: this.p.settings.baseImage,
        args: ["--numeric-owner", "-C", VOLUMES_ROOT, "-czf", out.target, "."],
      }),
      what: "the volume archive",
    });
    return sealWritten(path);
  }

  private async dumpAddon(
    name: string,
    type: string,
    creds: Record<string, string>,
    path: string,
  ): Promise<FileDigest> {
    const plugin = pluginFor(type);
    const info = await inspectAddonContainer(this.p.docker, name);
    if (!info?.State.Running) throw new Hop3Error(`addon ${name} is not running: it cannot be dumped`);
    if (plugin.fileArgs) {
      const out = writtenInPlace(path);
      await this.runClient(
        info.Id,
        this.p.store.addons.require(name).image,
        plugin.client("dump", creds, plugin.fileArgs.dump(out.target)),
        out.mount,
        `the dump of ${name}`,
      );
      return sealWritten(path);
    }
    const { cmd, env } = plugin.client("dump", creds, []);
    return commandToFile(
      {
        cmd: "podman",
        podmanSocket: this.podmanSocket(),
        args: ["exec", ...Object.keys(env).flatMap((k) => ["-e", k]), info.Id, ...cmd],
        env,
        what: `the dump of ${name}`,
      },
      path,
    );
  }

  /**
   * A client of an addon (pg_dump, pg_restore) in a container of its own: the addon's image, in the addon's
   * network namespace (its server on 127.0.0.1), with the backup's file or directory mounted; the secrets in
   * the environment of the podman process, passed by name.
   */
  private runClient(
    addonId: string,
    image: string,
    client: { cmd: string[]; env: Record<string, string> },
    mounts: string[],
    what: string,
  ): Promise<void> {
    const { cmd, env } = client;
    return runCommand({
      cmd: "podman",
      podmanSocket: this.podmanSocket(),
      args: helperRunArgs({
        network: `container:${addonId}`,
        envNames: Object.keys(env),
        mounts,
        entrypoint: cmd[0]!,
        image,
        args: cmd.slice(1),
      }),
      env,
      what,
    });
  }

  // ---- restore ----

  async restore(
    id: string,
    opts: { to?: string; force: boolean; key?: Buffer },
    progress: Progress,
  ): Promise<DeployResult & { app: string; backup: string }> {
    const { store } = this.p;
    const { meta, dir } = this.readMetadata(id);
    progress.step(`Verifying the checksums of ${Object.keys(meta.files).length} files`);
    const problems = await timed(progress.timings, "verify checksums", () => this.verify(dir, meta));
    if (problems.length) {
      throw new Hop3Error(
        `backup ${id} is damaged, nothing was restored: ${problems.join("; ")}`,
        "conflict",
        "restore another backup (hop backup:list)",
      );
    }
    const env = openEnv<BackupEnv>(
      opts.key ?? backupKey(this.d.keyFile),
      id,
      readFileSync(join(dir, "env.json"), "utf8"),
    );
    const supplyChain = this.backedUpSupplyChain(dir, meta, progress);
    const target = planRestore(meta, {
      ...(opts.to ? { to: opts.to } : {}),
      force: opts.force,
      appExists: !!store.getApp(opts.to ?? meta.app),
      addonExists: (n) => !!store.addons.get(n),
    });
    for (const a of target.addons) pluginFor(a.from.type); // an unknown type is refused before anything changes
    const app = target.app;
    return withAppLock(`backup-restore:${app}`, async () => {
      const fresh = !store.getApp(app);
      const createdAddons: string[] = [];
      // The restore is recorded in the store before it changes anything, with each step it reaches, and
      // removed once the app runs the restored release: a server killed in between finds the row at its start
      // and stops the app and marks it failed (restore-recovery.ts), so a half-restored app never serves.
      let step = "";
      const tracked: Progress = {
        step: (m) => {
          step = m;
          store.restores.step(app, m);
          progress.step(m);
        },
        log: (l) => progress.log(l),
        ...(progress.timings ? { timings: progress.timings } : {}),
      };
      try {
        if (fresh) {
          store.createApp(app);
          store.restores.begin(app, id);
          tracked.step(`Creating the app ${app}`);
        } else {
          store.restores.begin(app, id);
          tracked.step(`Stopping ${app} (--force: its release, config and data are replaced)`);
          await this.d.lifecycle.stop(app, tracked);
        }
        store.setDesiredState(app, "stopped");
        const keep = new Set(Object.keys(env.config));
        const stale = Object.keys(store.getConfig(app)).filter((k) => !keep.has(k));
        if (Object.keys(env.config).length || stale.length) store.changeConfig(app, env.config, stale);
        store.setGeneratedEnv(app, env.generated);
        store.setScale(app, env.scale);
        if (app === meta.app) {
          for (const h of env.domains) {
            if (!store.listDomains(app).includes(h) && !store.domainOwner(h)) store.addDomain(app, h);
          }
        }

        // The volumes and each addon are independent of one another: they are restored side by side (the
        // volume archive while the databases start and load), and every one of them has ended before a
        // failure is handled, so the clean-up below never races a restore still writing.
        const addonSteps = async () => {
          // each database starts (image, first start, health) and loads its data on its own: Postgres loads
          // while MariaDB still initialises. Attaching comes after, one at a time in the backup's order, as
          // each attach is a change of the app's release; loading the data does not need it.
          await allSettledLimit(target.addons, target.addons.length, async (a) => {
            if (a.action === "create") {
              const saved = env.addons.find((x) => x.name === a.from.name);
              await timed(
                tracked.timings,
                `addon ${a.name}: create and start`,
                () =>
                  this.d.addons.create(
                    a.from.type,
                    a.name,
                    { extensions: saved?.options.extensions },
                    tracked,
                  ),
                true,
              );
              createdAddons.push(a.name);
            }
            tracked.step(`Restoring the data of ${a.name} from ${a.from.file}`);
            await timed(
              tracked.timings,
              `addon ${a.name}: load data`,
              () => this.restoreAddon(a.name, join(dir, a.from.file)),
              true,
            );
          });
          await timed(
            tracked.timings,
            "attach addons",
            async () => {
              for (const a of target.addons) {
                if (!store.addons.attachmentsTo(app).some((t) => t.addon === a.name)) {
                  await this.d.addons.attach(a.name, app, a.from.prefix || undefined, tracked);
                }
              }
            },
            true,
          );
        };
        const volumeStep = async () => {
          if (!meta.files["data.tar.gz"]) return;
          tracked.step("Restoring the volumes");
          await timed(
            tracked.timings,
            "volumes",
            () => this.restoreData(app, env.spec, meta, join(dir, "data.tar.gz")),
            true,
          );
        };
        // the image is loaded meanwhile under a name of its own, and takes the release's when it is made
        const link = this.tmpDir();
        const loading = `${appImageRepo(app)}:restore-${id.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
        let preloaded: BuiltImage | undefined;
        const imageStep = async () => {
          tracked.step(`Loading the image of v${meta.release.number}`);
          preloaded = await timed(
            tracked.timings,
            "load image",
            async () => {
              // on the server that made the backup, the release's image is usually still here: not loaded again
              const here = await imageById(this.p.docker, meta.release.image_id, loading);
              if (here) progress.log(`The image ${meta.release.image_id} is already here: not loaded again`);
              return (
                here ?? imageFromArchive(this.p.docker, join(link, "image.tar.gz"), loading, progress.log)
              );
            },
            true,
          );
        };
        try {
          symlinkSync(join(dir, "image.tar.gz"), join(link, "image.tar.gz"));
          // the three side by side: their sub-steps overlap in time
          await timed(tracked.timings, "data, volumes and image", () =>
            allSettledSteps([addonSteps, volumeStep, imageStep]),
          );
          tracked.step(`Starting ${app} (v${meta.release.number} restored)`);
          store.setDesiredState(app, "running");
          const result = await this.d.deployer.restoreRelease(
            app,
            async (tag, release) => {
              const loaded = await retag(this.p.docker, preloaded as BuiltImage, tag);
              // before the switch: the release's SBOM hook then keeps this one (and signs its provenance);
              // documents that cannot be written are not worth failing the restore for: it makes its own
              await this.restoreSupplyChain(
                app,
                release,
                id,
                meta,
                supplyChain,
                loaded.imageId,
                tracked,
              ).catch((err: Error) =>
                progress.log(`warning: the backup's SBOM was not restored: ${err.message}`),
              );
              return loaded;
            },
            env.spec,
            tracked,
            `Restore backup ${id}`,
          );
          store.restores.finish(app);
          return { ...result, app, backup: id };
        } finally {
          await untag(this.p.docker, loading).catch(() => {});
          rmSync(link, { recursive: true, force: true });
        }
      } catch (err) {
        if (fresh) {
          // a restore into a new app leaves nothing behind: no half-restored app, no orphan addon (its
          // restore row goes with the app)
          progress.log(`Restore failed: removing ${app} and the addons it created`);
          await this.d.addons.releaseApp(app).catch(() => {});
          await this.d.lifecycle.destroy(app, { step: () => {}, log: () => {} }).catch(() => {});
          if (store.getApp(app)) store.deleteApp(app);
          for (const n of createdAddons) {
            for (const t of store.addons.attachmentsOf(n)) store.addons.detach(n, t.app);
            await this.d.addons.destroy(n, n, { step: () => {}, log: () => {} }).catch(() => {});
          }
        } else {
          // over an existing app (--force): it is stopped and holds part of the backup's data; it says so
          // until a restore into it succeeds (or it is destroyed)
          store.restores.fail(
            app,
            `the restore of backup ${id} failed${step ? ` (at: ${step})` : ""}: ${(err as Error).message}`,
          );
        }
        throw err;
      }
    });
  }

  /** The backup's SBOM and statement as the restore takes them; a bad one is skipped with the reason. */
  private backedUpSupplyChain(
    dir: string,
    meta: BackupMetadata,
    progress: Progress,
  ): { sbom?: Record<string, unknown>; provenance?: Record<string, unknown> } {
    const out: { sbom?: Record<string, unknown>; provenance?: Record<string, unknown> } = {};
    for (const file of [SBOM_FILE, PROVENANCE_FILE] as const) {
      const listed = meta.files[file];
      if (!listed) continue;
      // the checksums passed, so the listed size is the file's: nothing larger is read into memory
      const r =
        listed.size > SUPPLY_CHAIN_MAX_BYTES
          ? { problem: `${file} is larger than ${SUPPLY_CHAIN_MAX_BYTES} bytes` }
          : parseSupplyChainDoc(file, readFileSync(join(dir, file), "utf8"));
      if ("problem" in r) {
        progress.log(`warning: ${r.problem}: the restored release gets its own`);
        continue;
      }
      if (file === SBOM_FILE) out.sbom = r.doc;
      else out.provenance = r.doc;
    }
    return out;
  }

  /**
   * The backed-up SBOM becomes the restored release's, re-labelled for it (`hop3:sbom:restored-from`), when
   * the loaded image is the one it describes; the backed-up statement is kept beside it as it was signed
   * (v<N>.backup-intoto.json). The release's own statement is signed by the SBOM hook after the switch.
   */
  private async restoreSupplyChain(
    app: string,
    release: number,
    id: string,
    meta: BackupMetadata,
    docs: { sbom?: Record<string, unknown>; provenance?: Record<string, unknown> },
    imageId: string,
    progress: Progress,
  ): Promise<void> {
    const root = this.p.settings.root;
    if (docs.sbom) {
      const described = (docs.sbom.metadata as { properties?: { name?: unknown; value?: unknown }[] })
        .properties;
      const sbomImage = Array.isArray(described)
        ? described.find((p) => p?.name === "hop3:image:id")?.value
        : undefined;
      const norm = (x: unknown) => (typeof x === "string" ? x.replace(/^sha256:/, "") : undefined);
      if (norm(sbomImage) !== norm(imageId)) {
        progress.log(
          "warning: the backup's SBOM describes another image: the restored release gets its own, read from its image",
        );
      } else {
        await writeReleaseSbom(
          root,
          app,
          release,
          relabelSbom(docs.sbom, {
            app,
            release,
            sourceKind: "image",
            origin: [RESTORED_FROM, `backup ${id} (${meta.app} v${meta.release.number})`],
          }),
        );
        progress.log(`SBOM of ${meta.app} v${meta.release.number} restored`);
      }
    }
    if (docs.provenance) await writeReleaseDoc(root, app, release, "backup-intoto", docs.provenance);
  }

  /** pg_restore / mariadb into the live addon; Redis: its RDB as the append-only base, the server stopped. */
  private async restoreAddon(name: string, file: string): Promise<void> {
    const row = this.p.store.addons.require(name);
    const plugin = pluginFor(row.type);
    if (row.type === "redis") {
      await this.d.addons.replaceData(name, async () => {
        await runCommand({
          cmd: "podman",
          podmanSocket: this.podmanSocket(),
          args: helperRunArgs({
            mounts: ["-v", `${addonVolumeName(name)}:/data`, ...readOnlyFile(file)],
            entrypoint: "sh",
            image: row.image,
            args: [
              "-c",
              // Redis runs with appendonly: at start it reads the AOF, never dump.rdb. An RDB is a valid AOF base.
              "set -e; rm -rf /data/appendonlydir /data/dump.rdb; mkdir /data/appendonlydir; " +
                `cp ${RESTORE_FILE} /data/appendonlydir/appendonly.aof.1.base.rdb; ` +
                "printf 'file appendonly.aof.1.base.rdb seq 1 type b\\n' > /data/appendonlydir/appendonly.aof.manifest; " +
                "chown -R redis:redis /data 2>/dev/null || chown -R 999:999 /data",
            ],
          }),
          what: `the restore of ${name}`,
        });
      });
      return;
    }
    const info = await inspectAddonContainer(this.p.docker, name);
    if (!info?.State.Running) throw new Hop3Error(`addon ${name} is not running`);
    if (plugin.fileArgs) {
      await this.runClient(
        info.Id,
        row.image,
        plugin.client("restore", row.credentials, plugin.fileArgs.restore(RESTORE_FILE)),
        readOnlyFile(file),
        `the restore of ${name}`,
      );
      return;
    }
    const { cmd, env } = plugin.client("restore", row.credentials, []);
    await fileToCommand(file, {
      cmd: "podman",
      podmanSocket: this.podmanSocket(),
      args: ["exec", "-i", ...Object.keys(env).flatMap((k) => ["-e", k]), info.Id, ...cmd],
      env,
      what: `the restore of ${name}`,
    });
  }

  /** The volumes of the restored release (found by their mount point), emptied and filled from data.tar.gz. */
  private async restoreData(
    app: string,
    spec: ReleaseSpec,
    meta: BackupMetadata,
    file: string,
  ): Promise<void> {
    const mounts = planMounts(app, spec.volumes ?? [], this.p.settings.root);
    await ensureMounts(this.p.docker, app, mounts);
    const args: string[] = [];
    const dirs: string[] = [];
    for (const v of meta.volumes) {
      const m = mounts.find((x) => x.kind === "volume" && x.target === v.target);
      if (m?.kind !== "volume") continue;
      args.push("-v", `${m.volume}:${VOLUMES_ROOT}/${v.dir}`);
      dirs.push(v.dir);
    }
    if (meta.binds) {
      const data = appDataDir(this.p.settings.root, app);
      mkdirSync(data, { recursive: true, mode: 0o755 });
      args.push("-v", `${data}:${VOLUMES_ROOT}/binds`);
      dirs.push("binds");
    }
    // only the mounted directories survive the helper: an entry elsewhere lands in its discarded filesystem
    const clear = dirs.map((d) => `find ${VOLUMES_ROOT}/${d} -mindepth 1 -delete`).join("; ");
    await runCommand({
      cmd: "podman",
      podmanSocket: this.podmanSocket(),
      args: helperRunArgs({
        mounts: [...args, ...readOnlyFile(file)],
        entrypoint: "sh",
        image: this.p.settings.baseImage,
        args: [
          "-c",
          `set -e; ${clear || "true"}; tar --numeric-owner -C ${VOLUMES_ROOT} -xzf ${RESTORE_FILE}`,
        ],
      }),
      what: "the volume restore",
    });
  }

  // ---- export / import ----

  /** `backup:export`: a tar of ID/metadata.json then every file, streamed from disk. */
  exportStream(id: string): Readable {
    const { meta, dir } = this.readMetadata(id);
    const pack = tarStream().pack();
    const names = ["metadata.json", ...Object.keys(meta.files).sort()];
    void (async () => {
      try {
        for (const name of names) {
          const path = join(dir, name);
          const size = statSync(path).size;
          await new Promise<void>((resolve, reject) => {
            const entry = pack.entry(
              { name: `${id}/${name}`, size, mode: 0o600, mtime: new Date(meta.created_at) },
              (err) => (err ? reject(err) : resolve()),
            );
            createReadStream(path, { highWaterMark: FILE_CHUNK }).on("error", reject).pipe(entry);
          });
        }
        pack.finalize();
      } catch (err) {
        pack.destroy(err as Error);
      }
    })();
    // tar-stream's pack is a streamx stream: as a Node stream for the HTTP response
    return Readable.from(pack);
  }

  /** `backup:import`: a hostile tar until proven otherwise (format.ts checkArchiveEntry), then every checksum. */
  async import(body: Readable): Promise<{ id: string; app: string }> {
    const limits = this.d.importLimits ?? DEFAULT_IMPORT_LIMITS;
    const tmp = this.tmpDir();
    try {
      let id: string | undefined;
      let total = 0;
      let entries = 0;
      const seen = new Set<string>();
      const extract = tarStream().extract();
      const done = new Promise<void>((resolve, reject) => {
        extract.on("entry", (header, stream, next) => {
          // destroying the extract errors the current entry's stream too: that is reported once, below
          stream.on("error", () => {});
          const fail = (err: unknown) => {
            stream.resume();
            reject(err);
            extract.destroy(err as Error);
          };
          try {
            if (++entries > limits.maxEntries)
              throw usageError(`the archive has more than ${limits.maxEntries} entries`);
            const r = checkArchiveEntry(header, limits);
            if ("skip" in r) {
              stream.resume();
              next();
              return;
            }
            if (id !== undefined && r.id !== id) throw usageError("the archive holds more than one backup");
            if (id === undefined && r.file !== "metadata.json")
              throw usageError("the archive must begin with metadata.json");
            id = r.id;
            if (seen.has(r.file)) throw usageError(`the archive holds ${r.file} twice`);
            seen.add(r.file);
            total += header.size ?? 0;
            if (total > limits.maxTotalBytes)
              throw usageError(`the archive is larger than ${limits.maxTotalBytes} bytes`);
            const path = join(tmp, r.file);
            mkdirSync(join(path, ".."), { recursive: true });
            // wx: an entry never replaces a file (nor follows a link) already in the import's own directory
            const out = createWriteStream(path, { flags: "wx", mode: 0o600 });
            stream.on("error", fail);
            out.on("error", fail);
            out.on("finish", () => next());
            stream.pipe(out);
          } catch (err) {
            fail(err);
          }
        });
        extract.on("finish", resolve);
        extract.on("error", (err) => reject(err));
        body.on("error", (err) => reject(err));
      });
      body.pipe(extract);
      try {
        await done;
      } catch (err) {
        if (err instanceof Hop3Error) throw err;
        throw usageError(
          `the archive could not be read (${(err as Error).message}): truncated or not a tar; nothing was imported`,
          "make it again with hop backup:export ID > file.tar",
        );
      }
      if (!id || !existsSync(join(tmp, "metadata.json"))) throw usageError("the archive holds no backup");
      const meta = parseMetadata(readFileSync(join(tmp, "metadata.json"), "utf8"), id);
      const problems = await this.verify(tmp, meta);
      if (problems.length) {
        throw new Hop3Error(
          `the imported backup is damaged, nothing was imported: ${problems.join("; ")}`,
          "conflict",
        );
      }
      if (existsSync(join(this.root, meta.app, id))) throw conflict(`backup ${id} is already on this server`);
      this.moveIntoPlace(tmp, meta.app, id);
      return { id, app: meta.app };
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  // ---- schedules ----

  schedules(): BackupSchedule[] {
    const raw = this.p.store.getSetting(SCHEDULES_SETTING);
    if (!raw) return [];
    try {
      return JSON.parse(raw) as BackupSchedule[];
    } catch {
      return [];
    }
  }

  private saveSchedules(list: readonly BackupSchedule[]): void {
    this.p.store.setSetting(SCHEDULES_SETTING, JSON.stringify(list));
  }

  /**
   * Saves the app's schedule (replacing its previous one) and, on the quadlet path, its timer. A timer that
   * cannot be set up puts the app's previous schedule back: nothing is listed as scheduled that would not run.
   */
  async schedule(app: string, cron: string, keep: number): Promise<BackupSchedule> {
    this.p.store.requireApp(app);
    parseSchedule(cron);
    expiredBackups([], keep);
    const s = { app, cron, keep };
    const previous = this.schedules().find((x) => x.app === app);
    const others = () => this.schedules().filter((x) => x.app !== app);
    this.saveSchedules([...others(), s]);
    try {
      await this.syncTimers();
    } catch (err) {
      this.saveSchedules([...others(), ...(previous ? [previous] : [])]);
      await this.syncTimers().catch(() => {});
      throw new Hop3Error(
        `the schedule of ${app} was not saved: its systemd timer could not be set up: ${(err as Error).message}`,
        "error",
        "see the server log and: systemctl --user list-timers 'hop3-backup.*' (as the hop3 user)",
      );
    }
    return s;
  }

  /** Removes the app's schedule and its failures, and on the quadlet path its timer. */
  async unschedule(app: string): Promise<{ app: string; removed: boolean }> {
    const removed = this.dropSchedule(app);
    try {
      await this.syncTimers();
    } catch (err) {
      // the schedule is gone: a timer left behind runs `--scheduled` backups that find none and do nothing
      throw new Hop3Error(
        `the schedule of ${app} is removed, but its systemd timer could not be: ${(err as Error).message}`,
        "error",
        "the server removes it at its next start or deploy; see: systemctl --user list-timers 'hop3-backup.*'",
      );
    }
    return { app, removed };
  }

  private dropSchedule(app: string): boolean {
    const before = this.schedules();
    const after = before.filter((x) => x.app !== app);
    this.saveSchedules(after);
    // its failures no longer call for attention once nothing is scheduled
    this.forgetFailures(app);
    return after.length !== before.length;
  }

  /** A destroyed app takes its schedule with it (its backups stay). */
  private pruneSchedules(): void {
    for (const s of this.schedules()) {
      if (this.p.store.getApp(s.app)) continue;
      this.dropSchedule(s.app);
      this.p.log(`backup: ${s.app} no longer exists: its backup schedule is removed`);
    }
  }

  /**
   * On the quadlet path, the timers made exactly the schedules of existing apps: called when a schedule
   * changes and wherever the platform re-applies its schedules (server start, deploys, destroys).
   */
  async syncTimers(): Promise<void> {
    if (!this.d.timers) return;
    this.pruneSchedules();
    await this.d.timers.sync(this.schedules());
  }

  private failures(): ScheduledFailure[] {
    const raw = this.p.store.getSetting(FAILURES_SETTING);
    if (!raw) return [];
    try {
      return JSON.parse(raw) as ScheduledFailure[];
    } catch {
      return [];
    }
  }

  private saveFailures(list: ScheduledFailure[]): void {
    this.p.store.setSetting(FAILURES_SETTING, JSON.stringify(list.slice(-FAILURES_KEPT)));
  }

  private forgetFailures(app: string): void {
    const list = this.failures();
    const kept = list.filter((f) => f.app !== app);
    if (kept.length !== list.length) this.saveFailures(kept);
  }

  /**
   * One scheduled run of the app's schedule, by the minute tick or by the app's timer (`hop backup:create
   * --scheduled`): the backup, then the schedule's retention. A failure is recorded (backup:list, hop apps)
   * and logged before it is thrown; a success clears the app's earlier failures.
   */
  async runScheduled(app: string, progress: Progress, at = new Date()): Promise<BackupSummary> {
    const s = this.schedules().find((x) => x.app === app);
    if (!s) {
      throw conflict(
        `${app} has no backup schedule: nothing to run`,
        `schedule one: hop backup:schedule -a ${app} "0 3 * * *"`,
      );
    }
    if (!this.p.store.getApp(app)) {
      this.pruneSchedules();
      await this.syncTimers().catch((err) => this.p.log(`backup timers: ${(err as Error).message}`));
      throw notFound(`${app} no longer exists: its backup schedule is removed`);
    }
    try {
      const b = await this.create(app, progress, "scheduled");
      this.p.log(`backup: scheduled backup of ${app}: ${b.id}`);
      const ids = readdirSync(join(this.root, app)).filter(isBackupId);
      for (const old of expiredBackups(ids, s.keep)) {
        await this.destroy(old, old);
        this.p.log(`backup: ${app}: ${old} removed (--keep ${s.keep})`);
        progress.log(`${old} removed (--keep ${s.keep})`);
      }
      // a success clears the app's earlier failures from `hop apps`
      this.forgetFailures(app);
      return b;
    } catch (err) {
      const error = (err as Error).message;
      this.saveFailures([...this.failures(), { app, at: at.toISOString(), error }]);
      this.p.log(`backup: scheduled backup of ${app} FAILED: ${error}`);
      throw err;
    }
  }

  /** The server's minute tick (without timers): due schedules run one after the other. */
  async tick(at: Date): Promise<void> {
    this.pruneSchedules();
    for (const s of this.schedules()) {
      if (!cronMatches(s.cron, at)) continue;
      // recorded and logged by runScheduled
      await this.runScheduled(s.app, { step: () => {}, log: () => {} }, at).catch(() => {});
    }
  }

  /** The minute tick, unless systemd timers run the schedules (they would run twice). */
  startScheduler(): void {
    if (this.d.timers) return;
    const arm = () => {
      const now = Date.now();
      this.timer = setTimeout(
        () => {
          void this.tick(new Date(Math.round(Date.now() / 60_000) * 60_000)).finally(arm);
        },
        60_000 - (now % 60_000) + 500,
      );
      this.timer.unref();
    };
    arm();
  }

  stopScheduler(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
