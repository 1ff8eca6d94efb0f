#!/usr/bin/env node
/**
 * hop3-server: the long-running control plane, run as the unprivileged `hop3` user. It owns that user's
 * rootless Podman, the router container and every app, and serves the API on a Unix socket (and
 * optionally TCP with bearer tokens).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { homedir } from "node:os";
import { join } from "node:path";
import { getRequestListener } from "@hono/node-server";
import pino from "pino";
import { QuadletAddonRunner } from "../addons/runner.js";
import { AddonService } from "../addons/service.js";
import { BackupService } from "../backup/service.js";
import { BackupTimers } from "../backup/timers.js";
import { buildpackCatalogOf, createBuildpacksBuilder } from "../build/buildpacks-builder.js";
import { createContainerfileBuilder } from "../build/containerfile-builder.js";
import { cleanupAfterCrash } from "../deploy/crash-cleanup.js";
import { Deployer } from "../deploy/deployer.js";
import { isWanted, Lifecycle } from "../deploy/lifecycle.js";
import type { Platform } from "../deploy/platform.js";
import { applyRoutes } from "../deploy/routing.js";
import { renderAuthorizedKeys, writeAuthorizedKeys } from "../git/authorized-keys.js";
import { AppGateway } from "../router/app-gateway.js";
import { GatewayRouter } from "../router/gateway-router.js";
import { createRouter, QuadletRouterRunner } from "../router/index.js";
import { ContainerWatchdog } from "../runtime/container-watchdog.js";
import { CronTimers } from "../runtime/cron-timers.js";
import { detectEnforcement } from "../runtime/limits.js";
import { NetworkIsolation, useNetworkIsolation } from "../runtime/network-isolation.js";
import { setPodmanTimeout } from "../runtime/podman-deadline.js";
import { defaultPodmanSocket, PodmanService, podmanSocketActivated } from "../runtime/podman-service.js";
import { QuadletSupervisor } from "../runtime/quadlet-supervisor.js";
import { RunSessions } from "../runtime/run-session.js";
import { CronRunner, CronScheduler, cronJobsOf } from "../runtime/scheduler.js";
import { PodmanSupervisor } from "../runtime/supervisor.js";
import { selectSupervisor } from "../runtime/supervisor-select.js";
import { recoverSbomJobs } from "../sbom/recovery.js";
import { sbomRecorder } from "../sbom/release-sbom.js";
import { operatorBuildpackMaps } from "../store/buildpack-maps.js";
import { Store } from "../store/store.js";
import { Hop3Error } from "../util/errors.js";
import { lazy } from "../util/lazy.js";
import { createApi, createUpgradeHandler } from "./api.js";
import { installCrashGuard } from "./crash-guard.js";
import {
  appGatewayState,
  buildpacksSettingsOf,
  catalogSettingsOf,
  extractLimitsOf,
  installDir,
  loadSettings,
  paths,
  platformSettingsOf,
  routerSettingsOf,
  usesAppGateway,
} from "./settings.js";
import { planTcpListener, startTcpListener } from "./tcp-listener.js";

const version = (JSON.parse(readFileSync(join(installDir, "package.json"), "utf8")) as { version: string })
  .version;

async function main(): Promise<void> {
  const settings = loadSettings();
  // checked before anything starts: a refused HOP3_LISTEN must not leave half a server behind
  const tls = { cert: settings.HOP3_API_TLS_CERT, key: settings.HOP3_API_TLS_KEY };
  const tcpPlan = settings.HOP3_LISTEN ? planTcpListener(settings.HOP3_LISTEN, tls) : undefined;
  const log = pino({ level: settings.HOP3_LOG_LEVEL, base: undefined });
  const say = (msg: string) => log.info(msg);
  installCrashGuard(log);
  setPodmanTimeout(settings.HOP3_PODMAN_TIMEOUT);
  const where = paths(settings.HOP3_ROOT);
  for (const dir of [
    settings.HOP3_ROOT,
    join(settings.HOP3_ROOT, "run"),
    where.uploads,
    where.router,
    where.gateway,
    where.git,
  ]) {
    mkdirSync(dir, { recursive: true, mode: 0o750 });
  }

  const store = Store.open(where.db, where.key);
  if (store.listTokens().length === 0) {
    const { token } = store.createToken("admin", "admin");
    writeFileSync(where.adminToken, `${token}\n`, { mode: 0o600 });
    say(`created the admin token in ${where.adminToken}`);
  }

  const podman = new PodmanService(
    settings.HOP3_PODMAN_SOCKET ?? defaultPodmanSocket(),
    (m) => log.info(m),
    join(settings.HOP3_ROOT, "log", "podman-service.log"),
  );
  const docker = await podman.ensure();
  // apps cannot reach each other: the platform's own rules in the rootless network namespace, in place before
  // reconcile starts anything, and again whenever that namespace is re-created (runtime/network-isolation.ts)
  const isolation = new NetworkIsolation(docker, { log: (m) => say(`isolation: ${m}`) });
  useNetworkIsolation(isolation);
  await isolation.ensure();
  isolation.watch();
  // quadlets under systemd where the host has them (podman >= 4.4, cgroup v2), Podman alone otherwise
  const supervisor = await selectSupervisor(docker, settings.HOP3_SUPERVISOR, say);
  say(`supervisor: ${supervisor.kind} (${supervisor.reason})`);
  // Under systemd the Podman API is the hop3 user's socket-activated podman.service (install.sh): systemd starts
  // it at the first connection and it exits after a few idle seconds, taking its ~60 MiB off an idle platform.
  // A ping every few seconds would keep it up for nothing: the watch is for a service nobody else restarts.
  if (supervisor instanceof QuadletSupervisor && (await podmanSocketActivated())) {
    say("podman API: the hop3 user's podman.socket (started on demand by systemd)");
  } else podman.watch();
  // under systemd the router and the gateway are quadlets too: they come back at boot and after a crash
  // without the server
  const runnerOf = () =>
    supervisor instanceof QuadletSupervisor
      ? {
          runner: new QuadletRouterRunner(docker, {
            podmanVersion: supervisor.version,
            ...(supervisor.systemdVersion ? { systemdVersion: supervisor.systemdVersion } : {}),
            unitDir: supervisor.unitDir,
          }),
        }
      : {};
  // Apps publish no port where the router can dial the gateway's Unix sockets (Caddy; Traefik cannot)
  const appGateway = new AppGateway({
    docker,
    stateDir: where.gateway,
    baseImage: settings.HOP3_BASE_IMAGE,
    imagesDir: settings.HOP3_IMAGES_DIR,
    ...runnerOf(),
    log: (l) => log.info(l),
  });
  const gateway = usesAppGateway(settings) ? appGateway : undefined;
  const gatewayState = `${appGatewayState(settings)}${
    gateway
      ? appGateway.membership === "recreate"
        ? "; a new gateway container for each change of app networks (Podman supervisor)"
        : "; joins app networks as they come (podman network connect)"
      : ""
  }`;
  say(`app gateway: ${gatewayState}`);
  // one left by an earlier HOP3_APP_GATEWAY=on would keep its nginx on every app network for nothing
  if (!gateway && (await appGateway.retire())) say(`app gateway: off, removed ${appGateway.containerName}`);
  const frontRouter = createRouter(settings.HOP3_ROUTER, {
    docker,
    stateDir: where.router,
    settings: routerSettingsOf(settings),
    baseImage: settings.HOP3_BASE_IMAGE,
    imagesDir: settings.HOP3_IMAGES_DIR,
    containerName: settings.HOP3_ROUTER_CONTAINER,
    ...runnerOf(),
    ...(gateway ? { gatewaySocketDir: gateway.socketDir } : {}),
    log: (l) => log.info(`router: ${l}`),
  });
  const router = gateway ? new GatewayRouter(frontRouter, gateway) : frontRouter;
  say(`starting the ${router.kind} router`);
  await router.ensureRunning();

  // Limits are asked for only where this host enforces them (runtime/limits.ts enforceable): detected once.
  const platformSettings = platformSettingsOf(settings);
  const enforced = await detectEnforcement(docker).catch((err: Error) => {
    log.warn(`cannot tell which resource limits this host enforces (${err.message}): none will be set`);
    return undefined;
  });
  if (enforced?.reason) say(`resource limits: ${enforced.reason}`);
  if (platformSettings.limits && enforced) platformSettings.limits.enforced = enforced;
  // `hop buildpacks:map` mappings are read at each build: a new mapping needs no restart
  const buildpacks = { ...buildpacksSettingsOf(settings), maps: () => operatorBuildpackMaps(store) };
  const platform: Platform = {
    store,
    docker,
    router,
    supervisor,
    ...(gateway ? { gateway } : {}),
    settings: platformSettings,
    // Containerfile builds get the same CA and proxies as buildpack builds (build/containerfile-network.ts)
    builders: [createContainerfileBuilder(buildpacks.network), createBuildpacksBuilder(buildpacks)],
    log: say,
  };
  const sbomContext = { store, docker, root: platformSettings.root, version, log: say };
  platform.sbom = sbomRecorder(sbomContext);
  const deployer = new Deployer(platform);
  const lifecycle = new Lifecycle(platform, deployer);
  const runs = new RunSessions(platform);
  const addons = new AddonService({
    platform,
    rerelease: (app, progress, by, what) => deployer.rerelease(app, progress, by, what),
    runs,
    images: {
      imagesDir: settings.HOP3_IMAGES_DIR,
      baseImage: settings.HOP3_BASE_IMAGE,
      tryRegistry: settings.HOP3_ADDON_IMAGES !== "build",
    },
    // under systemd addons are quadlets too: restarted and started at boot like the apps, without the server
    ...(supervisor instanceof QuadletSupervisor
      ? { runner: new QuadletAddonRunner(docker, supervisor) }
      : {}),
  });
  platform.addons = addons;
  // backups: the key that seals their secrets is created on first use, to be copied off the server. Under
  // systemd their schedules are timers (backup/timers.ts), reconciled with the cron timers below.
  const backups = new BackupService({
    platform,
    deployer,
    lifecycle,
    addons,
    version,
    keyFile: settings.HOP3_BACKUP_KEY_FILE ?? join(settings.HOP3_ROOT, "backup.key"),
    ...(supervisor instanceof QuadletSupervisor
      ? { timers: new BackupTimers({ serverUrl: `unix:${where.socket}`, log: say }) }
      : {}),
  });
  if (supervisor instanceof QuadletSupervisor) {
    const timers = new CronTimers({ serverUrl: `unix:${where.socket}`, log: say });
    // wherever routes are re-applied (the reconcile below included): cron timers of the running apps' current
    // releases, and the backup schedules' timers; one failing family does not keep the other from its sync
    platform.schedules = {
      sync: async () => {
        const entries = store
          .listApps()
          .filter((a) => a.desiredState === "running")
          .map((a) => ({ app: a.name, jobs: cronJobsOf(store.currentRelease(a.name)) }))
          .filter((e) => e.jobs.length > 0);
        // CronTimers and BackupTimers log what they changed
        const results = await Promise.allSettled([timers.sync(entries), backups.syncTimers()]);
        const failed = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
        if (failed.length) throw new Hop3Error(failed.join("; "));
      },
    };
  }
  // nothing builds yet: whatever a build left in its scratch places was left by a crash
  const scratch = { uploadsDir: where.uploads, buildWorkRoot: join(settings.HOP3_ROOT, "build") };
  for (const note of await cleanupAfterCrash(docker, scratch)) say(`cleanup: ${note}`);
  // addons first: apps that start next find their databases
  for (const note of await addons.reconcile()) say(`reconcile: ${note}`);
  for (const note of await lifecycle.reconcile()) say(`reconcile: ${note}`);
  // SBOM jobs a stop interrupted: queued again (they run after this, in the background) or failed with the reason
  try {
    for (const note of await recoverSbomJobs(sbomContext)) say(`reconcile: ${note}`);
  } catch (err) {
    log.warn(`cannot recover interrupted SBOM jobs: ${(err as Error).message}`);
  }
  // Without systemd, killed containers stay down: the watchdog starts them again (systemd does it for quadlets,
  // addons included: addons/runner.ts).
  const watchdog =
    supervisor instanceof PodmanSupervisor
      ? new ContainerWatchdog(docker, {
          shouldRun: (labels) => isWanted(platform, labels) || addons.wanted(labels),
          stopping: supervisor.stopping,
          log: (m) => say(`watchdog: ${m}`),
          onRevived: () => applyRoutes(platform),
        })
      : undefined;
  watchdog?.start();

  const gitShell = `${process.execPath} ${join(installDir, "dist", "git", "git-shell.js")} --root ${settings.HOP3_ROOT}`;
  const authorizedKeys = join(process.env.HOME ?? homedir(), ".ssh", "authorized_keys");
  const syncSshKeys = async () => {
    const keys = store.listSshKeys().map((k) => {
      const [type, blob] = k.publicKey.split(" ");
      return { fingerprint: k.fingerprint, type: type!, blob: blob!, comment: k.comment };
    });
    await writeAuthorizedKeys(authorizedKeys, renderAuthorizedKeys(keys, { shellCommand: gitShell }));
  };
  if (store.listSshKeys().length > 0 || existsSync(authorizedKeys)) await syncSshKeys();

  const cron = new CronRunner(platform);
  // Cron: systemd timers under systemd (they run `hop cron:run`, so runs are one-off containers of the
  // server either way); without systemd, the server's own minute scheduler.
  const scheduler = supervisor instanceof QuadletSupervisor ? undefined : new CronScheduler(platform, cron);
  scheduler?.start();
  const upgrade = createUpgradeHandler({ platform, runs });
  // without systemd timers, the server's minute tick runs the backup schedules
  backups.startScheduler();
  // the catalog (src/catalog): verified at each use, its code loaded at the first use (src/util/lazy.ts); an
  // install or upgrade a crash interrupted is dealt with here, which loads it only when there is one
  const catalog = lazy(async () => {
    const [{ CatalogSource }, { CatalogInstaller }] = await Promise.all([
      import("../catalog/catalog-source.js"),
      import("../catalog/installer.js"),
    ]);
    const source = new CatalogSource(
      catalogSettingsOf(settings),
      store,
      { dir: where.uploads, limits: extractLimitsOf(settings) },
      say,
    );
    const installer = new CatalogInstaller({
      platform,
      deployer,
      lifecycle,
      source,
      backups,
      addons,
      scratchDir: where.uploads,
    });
    return { source, installer };
  });
  if (store.catalog.list().some((row) => row.status === "installing" || row.status === "upgrading"))
    for (const note of await (await catalog()).installer.reconcile()) say(`reconcile: ${note}`);

  const api = createApi({
    platform,
    deployer,
    lifecycle,
    version,
    supervisor: `${supervisor.kind} (${supervisor.reason})`,
    appGateway: gatewayState,
    uploadsDir: where.uploads,
    maxUpload: settings.HOP3_MAX_UPLOAD,
    extractLimits: extractLimitsOf(settings),
    syncSshKeys,
    runs,
    cron,
    addons,
    backups,
    buildpacks: buildpackCatalogOf(buildpacks, docker),
    catalog,
  });

  const servers: Server[] = [];
  const unixListener = getRequestListener((req) => api.fetch(req, { transport: "unix" }));
  rmSync(where.socket, { force: true });
  const unixServer = createServer(unixListener);
  unixServer.on("upgrade", upgrade("unix"));
  await new Promise<void>((resolve, reject) =>
    unixServer.once("error", reject).listen(where.socket, resolve),
  );
  chmodSync(where.socket, 0o660);
  servers.push(unixServer);
  say(`API listening on unix:${where.socket}`);
  if (tcpPlan) {
    const handler = getRequestListener((req) => api.fetch(req, { transport: "tcp" }));
    servers.push(await startTcpListener(tcpPlan, handler, upgrade("tcp"), tls));
    say(`API listening on ${tcpPlan.scheme}://${settings.HOP3_LISTEN} (bearer tokens)`);
  }
  for (const s of servers) {
    // deploys stream for minutes: never cut them
    s.requestTimeout = 0;
    s.headersTimeout = 60_000;
  }
  say(`hop3-server ${version} ready (base domain ${settings.HOP3_BASE_DOMAIN}, router ${router.kind})`);

  const shutdown = (signal: string) => {
    say(`received ${signal}; stopping (apps and the router keep running)`);
    scheduler?.stop();
    backups.stopScheduler();
    watchdog?.stop();
    for (const s of servers) s.close();
    store.close();
    podman.stop();
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err) => {
  const msg = err instanceof Hop3Error ? err.message : ((err as Error).stack ?? String(err));
  process.stderr.write(`hop3-server: ${msg}\n`);
  process.exit(1);
});
