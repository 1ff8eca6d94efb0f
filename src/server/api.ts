/**
 * The HTTP API (docs/api.md). Every operation the CLI, git push and the web UI perform goes through here.
 * Handlers stay thin: validation, then a call into the deploy pipeline or the store.
 */
import { rmSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { dirname } from "node:path";
import { type Duplex, PassThrough } from "node:stream";
import { type Context, Hono } from "hono";
import type { AddonService } from "../addons/service.js";
import { validateAppName, validateNewAppName } from "../app/name.js";
import { restoreSummary } from "../backup/restore-recovery.js";
import type { BackupService } from "../backup/service.js";
import { type BuildpackCatalog, purgeCache } from "../build/buildpacks-builder.js";
import { cancelDeploy } from "../deploy/cancel.js";
import type { Deployer } from "../deploy/deployer.js";
import { requireFreeHostnames } from "../deploy/domain-claims.js";
import type { Lifecycle } from "../deploy/lifecycle.js";
import { requireConfirmation } from "../deploy/lifecycle.js";
import type { Platform } from "../deploy/platform.js";
import type { ReleaseSpec } from "../deploy/release-spec.js";
import { applyRoutes } from "../deploy/routing.js";
import { StepTimings } from "../deploy/timings.js";
import { appHostnames, appUrl } from "../deploy/urls.js";
import { parsePublicKey } from "../git/public-key.js";
import { listInstances, listOneOffs, removeContainer } from "../runtime/containers.js";
import { nextCronRun } from "../runtime/cron.js";
import { checkDeployPath } from "../runtime/deploy-path-check.js";
import { describeLimits, detectEnforcement } from "../runtime/limits.js";
import { pullStream, streamAppLogs } from "../runtime/logs.js";
import { parseResizeRequest, parseRunRequest, RunSessions } from "../runtime/run-session.js";
import { CronRunner, cronJobsOf } from "../runtime/scheduler.js";
import { sbomState } from "../sbom/lookup.js";
import type { Store } from "../store/store.js";
import { Hop3Error, toApiError } from "../util/errors.js";
import { addonRoutes } from "./addons-api.js";
import { bearerToken } from "./admin.js";
import { backupRoutes } from "./backups-api.js";
import { buildpackRoutes } from "./buildpacks-api.js";
import { type CatalogApiDeps, catalogRoutes } from "./catalog-api.js";
import { ndjsonOperation, operationContext } from "./ndjson.js";
import { sbomRoutes } from "./sbom-api.js";
import { supplyChainRoutes } from "./supply-chain-api.js";
import { type ExtractLimits, extractSourceTarball, receiveUpload } from "./upload.js";
import { volumeRoutes } from "./volumes-api.js";

export interface ApiDeps {
  platform: Platform;
  deployer: Deployer;
  lifecycle: Lifecycle;
  version: string;
  supervisor: string;
  /** How the router reaches web processes: "on (...)" through the app gateway, "off (...)" published ports. */
  appGateway?: string;
  uploadsDir: string;
  maxUpload: number;
  /** HOP3_MAX_EXTRACTED_SIZE / _ENTRIES: bounds of an extracted source tree (tar bombs). */
  extractLimits?: ExtractLimits;
  /** Rewrites ~hop3/.ssh/authorized_keys from the store. */
  syncSshKeys: () => Promise<void>;
  /** `hop run` sessions; shared with the upgrade handler (createUpgradeHandler). */
  runs?: RunSessions;
  /** Cron runs; shared with the scheduler so a job never runs twice at once. */
  cron?: CronRunner;
  /** Backing services (src/addons); their routes are in addons-api.ts. */
  addons?: AddonService;
  /** Backups (src/backup); their routes are in backups-api.ts. */
  backups?: BackupService;
  /** The server's buildpacks, to check the targets of `hop buildpacks:map` (buildpacks-api.ts). */
  buildpacks?: BuildpackCatalog;
  /** The catalog (src/catalog); its routes are in catalog-api.ts. */
  catalog?: CatalogApiDeps["catalog"];
}

/** The bearer token check of every TCP request (the HTTP API and the attach upgrade). */
export function checkBearer(store: Store, authorization: string | undefined): void {
  const token = bearerToken(authorization);
  if (!token) throw new Hop3Error("authentication required", "authentication", "set HOP3_TOKEN");
  if (!store.verifyToken(token)) throw new Hop3Error("invalid or revoked token", "authentication");
}

/** `transport` tells whether the request came over the trusted Unix socket or TCP (token required). */
export type ApiEnv = { Bindings: { transport: "unix" | "tcp" } };

export function createApi(deps: ApiDeps): Hono<ApiEnv> {
  const { platform: p, deployer, lifecycle } = deps;
  const { store } = p;
  const runs = deps.runs ?? new RunSessions(p);
  const cron = deps.cron ?? new CronRunner(p);
  const api = new Hono<ApiEnv>();

  // streamed operations log their failures with the request, the app and the step (ndjson.ts)
  api.use("*", (c, next) => {
    const app = /^\/api\/v1\/apps\/([^/]+)/.exec(c.req.path)?.[1];
    return operationContext.run(
      { log: p.log, what: `${c.req.method} ${c.req.path}`, ...(app ? { app: decodeURIComponent(app) } : {}) },
      next,
    );
  });
  api.onError((err, c) => {
    const { status, body } = toApiError(err);
    if (status >= 500) p.log(`error on ${c.req.method} ${c.req.path}: ${(err as Error).stack ?? err}`);
    return c.json(body, status as 400);
  });
  api.notFound((c) =>
    c.json(
      toApiError(new Hop3Error(`no such endpoint: ${c.req.method} ${c.req.path}`, "notFound")).body,
      404,
    ),
  );

  // Bearer tokens on TCP; the Unix socket is protected by its directory's permissions.
  api.use("/api/*", async (c, next) => {
    if (c.env?.transport === "unix") return next();
    checkBearer(store, c.req.header("authorization"));
    return next();
  });

  const appParam = (c: Context) => validateAppName(c.req.param("app") ?? "");
  const requireApp = (c: Context) => {
    const name = appParam(c);
    store.requireApp(name);
    return name;
  };

  const describeApp = async (name: string) => {
    const row = store.requireApp(name);
    const current = store.currentRelease(name);
    const spec = current?.spec as ReleaseSpec | undefined;
    const hosts = appHostnames(name, p.settings, store.listDomains(name), spec?.domains ?? []);
    const instances = (await listInstances(p.docker, name)).filter((i) => i.release === current?.number);
    const running = instances.filter((i) => i.state === "running").length;
    // a restore running into the app, or one that did not finish (a failure, or the server's stop: its data
    // may be partly restored, backup/restore-recovery.ts): said before anything else about the app
    const restore = restoreSummary(store, name);
    const state = restore
      ? restore.status === "restoring"
        ? "restoring"
        : "restore-failed"
      : !current
        ? "new"
        : row.desiredState === "stopped"
          ? "stopped"
          : running === 0
            ? "down"
            : running < instances.length
              ? "degraded"
              : "running";
    return {
      name,
      state,
      url: spec?.webPort ? appUrl(hosts[0]!, p.settings) : null,
      domains: hosts,
      release: current ? current.number : null,
      processes: Object.fromEntries(
        Object.keys(spec?.processes ?? {}).map((t) => [t, instances.filter((i) => i.process === t).length]),
      ),
      createdAt: row.createdAt,
      ...(restore ? { restore } : {}),
    };
  };

  api.get("/api/v1/info", async (c) => {
    const version = await p.docker.version().catch(() => undefined);
    const router = await p.router.status().catch((err: Error) => ({ running: false, detail: err.message }));
    // [limits] and HOP3_APP_*: asked for everywhere, enforced only where the host can (runtime/limits.ts)
    const enforced = await detectEnforcement(p.docker).catch(() => undefined);
    return c.json({
      version: deps.version,
      baseDomain: p.settings.baseDomain,
      router: p.router.kind,
      routerStatus: { running: router.running, detail: router.detail ?? null },
      supervisor: deps.supervisor,
      ...(deps.appGateway ? { appGateway: deps.appGateway } : {}),
      cron: p.schedules ? "systemd timers of the hop3 user" : "the server's minute scheduler",
      releaseRetention: p.settings.retention,
      podman: version?.Version ?? null,
      limits: {
        app: describeLimits(p.settings.limits?.app),
        build: describeLimits(p.settings.limits?.build),
        enforced: enforced ? { memory: enforced.memory, cpu: enforced.cpu, pids: enforced.pids } : null,
        ...(enforced?.reason ? { notEnforced: enforced.reason } : {}),
      },
    });
  });

  // The path every deploy takes, proven on this host (runtime/deploy-path-check.ts): install.sh and hop doctor.
  api.post("/api/v1/system/check", async (c) =>
    c.json(await checkDeployPath(p.docker, { image: p.settings.baseImage, routerPort: p.settings.httpPort })),
  );

  api.get("/api/v1/apps", async (c) => {
    const apps = [];
    for (const a of store.listApps()) {
      const d = await describeApp(a.name);
      // a failed scheduled backup is never silent (src/backup)
      const backupFailure = deps.backups?.lastScheduledFailure(a.name);
      apps.push({
        name: d.name,
        state: d.state,
        url: d.url,
        release: d.release,
        createdAt: d.createdAt,
        ...(d.restore ? { restore: d.restore } : {}),
        ...(backupFailure ? { backupFailed: backupFailure } : {}),
      });
    }
    return c.json({ apps });
  });

  api.post("/api/v1/apps", async (c) => {
    const body = await c.req.json<{ name?: unknown }>().catch(() => ({}) as { name?: unknown });
    if (typeof body.name !== "string")
      throw new Hop3Error('give the app\'s name: { "name": "myapp" }', "usage");
    const name = validateNewAppName(body.name);
    store.createApp(name);
    return c.json({ app: await describeApp(name) }, 201);
  });

  api.get("/api/v1/apps/:app", async (c) => c.json({ app: await describeApp(requireApp(c)) }));

  api.delete("/api/v1/apps/:app", async (c) => {
    const name = requireApp(c);
    requireConfirmation(name, c.req.query("confirm"));
    // one-off containers (kept cron and detached runs) are not process instances: remove them here, before
    // the network goes; the scheduler starts nothing for an app that is not running
    const removeOneOffs = async () => {
      for (const o of await listOneOffs(p.docker, name))
        await removeContainer(p.docker, o.id, 1).catch(() => {});
    };
    store.setDesiredState(name, "stopped");
    return ndjsonOperation(async (progress) => {
      await removeOneOffs();
      const result = await lifecycle.destroy(name, progress);
      await removeOneOffs();
      return result;
    });
  });

  api.post("/api/v1/apps/:app/deploy", async (c) => {
    // every deploy records its steps' durations (timings.ts): the stream ends with them
    const timings = new StepTimings();
    const name = appParam(c);
    if (!store.getApp(name)) {
      if (c.req.query("create") === "1") store.createApp(validateNewAppName(name));
      else throw new Hop3Error(`no app named ${name}`, "notFound", `create it with: hop create ${name}`);
    }
    const revision = c.req.query("revision");
    if (revision && !/^[0-9a-f]{7,64}(-dirty)?$/.test(revision)) {
      throw new Hop3Error("revision must be a git commit id", "usage");
    }
    const envPairs = c.req.queries("env") ?? [];
    const deployEnv: Record<string, string> = Object.fromEntries(
      envPairs.map((pair) => {
        const eq = pair.indexOf("=");
        if (eq <= 0) throw new Hop3Error(`--env wants KEY=VALUE, got ${JSON.stringify(pair)}`, "usage");
        return [pair.slice(0, eq), pair.slice(eq + 1)];
      }),
    );
    // `deploy --env` values are config vars set with the deploy (so later releases keep them)
    if (Object.keys(deployEnv).length > 0) store.setConfig(name, deployEnv);
    const opts = {
      ...(revision ? { revision } : {}),
      createdBy: c.env?.transport === "unix" ? "local" : "token",
    };
    const image = c.req.query("image");
    if (image)
      return ndjsonOperation(
        (progress) => deployer.deploy(name, { kind: "image", ref: image }, opts, progress),
        undefined,
        timings,
      );
    if (c.req.query("image-archive") === "1") {
      const upload = await timings.time("upload", () =>
        receiveUpload(c.req.raw.body, deps.uploadsDir, "image.tar", deps.maxUpload),
      );
      return ndjsonOperation(
        (progress) =>
          deployer
            .deploy(name, { kind: "archive", path: upload.path }, opts, progress)
            .finally(() => rmSync(dirname(upload.path), { recursive: true, force: true })),
        undefined,
        timings,
      );
    }
    const { upload, dir } = await timings.time("upload", async () => {
      const upload = await receiveUpload(c.req.raw.body, deps.uploadsDir, "source.tar.gz", deps.maxUpload);
      try {
        return { upload, dir: await extractSourceTarball(upload.path, deps.uploadsDir, deps.extractLimits) };
      } finally {
        rmSync(dirname(upload.path), { recursive: true, force: true });
      }
    });
    return ndjsonOperation(
      (progress) => {
        progress.step(`Received ${(upload.bytes / 1024).toFixed(0)} KiB of source`);
        return deployer
          .deploy(name, { kind: "tree", dir }, opts, progress)
          .finally(() => rmSync(dir, { recursive: true, force: true }));
      },
      undefined,
      timings,
    );
  });

  // not behind the app's lock (the deploy holds it): aborts the running deploy at its current step
  api.post("/api/v1/apps/:app/deploy/cancel", (c) => {
    const name = requireApp(c);
    return c.json({ cancelled: cancelDeploy(name) });
  });

  api.get("/api/v1/apps/:app/releases", (c) => {
    const name = requireApp(c);
    const releases = store.listReleases(name).map((r) => {
      const sbom = sbomState(p.settings.root, name, r.number);
      return {
        number: r.number,
        status: r.status,
        image: r.image ?? null,
        digest: r.imageId ?? null,
        source: r.sourceKind,
        sourceRef: r.sourceRef ?? null,
        revision: r.revision ?? null,
        createdBy: r.createdBy ?? null,
        createdAt: r.createdAt,
        finishedAt: r.finishedAt ?? null,
        error: r.error ?? null,
        // the release's state while deploying, or the step that failed (src/deploy/release-state.ts)
        step: r.step ?? null,
        description: r.description ?? null,
        current: r.status === "active",
        // null: no SBOM (yet, or not for this release: `sbom` says which, hop sbom --release says why)
        components: sbom.state === "ready" ? sbom.components : null,
        sbom,
      };
    });
    // a restore into the app that did not finish may have made no release at all: said here too
    const restore = restoreSummary(store, name);
    return c.json({ releases, ...(restore ? { restore } : {}) });
  });

  api.get("/api/v1/apps/:app/config", (c) => c.json({ config: store.getConfig(requireApp(c)) }));

  api.get("/api/v1/apps/:app/config/:key", (c) => {
    const name = requireApp(c);
    const key = c.req.param("key");
    const config = store.getConfig(name);
    // own keys only: GET .../config/toString is a variable that is not set, not Object.prototype's
    if (!Object.hasOwn(config, key)) throw new Hop3Error(`${key} is not set for ${name}`, "notFound");
    return c.json({ key, value: config[key] });
  });

  api.patch("/api/v1/apps/:app/config", async (c) => {
    const name = requireApp(c);
    const body = await c.req.json<{ set?: unknown; unset?: unknown }>().catch(() => {
      throw new Hop3Error("the body must be JSON: { set: {KEY: value}, unset: [KEY] }", "usage");
    });
    const set = body.set ?? {};
    const unset = body.unset ?? [];
    if (typeof set !== "object" || set === null || Array.isArray(set))
      throw new Hop3Error("`set` must be an object", "usage");
    if (!Array.isArray(unset) || unset.some((k) => typeof k !== "string")) {
      throw new Hop3Error("`unset` must be a list of names", "usage");
    }
    if (Object.keys(set).length === 0 && unset.length === 0)
      throw new Hop3Error("nothing to change", "usage");
    // all or nothing: every name and value is checked before one transaction writes them
    const removed = store.changeConfig(name, set as Record<string, string>, unset as string[]);
    const changed = [...Object.keys(set), ...removed];
    return ndjsonOperation(async (progress) => {
      progress.step(`Config updated: ${changed.join(", ") || "(no change)"}`);
      const what = [
        ...(Object.keys(set).length ? [`Set ${Object.keys(set).join(", ")}`] : []),
        ...(removed.length ? [`Unset ${removed.join(", ")}`] : []),
      ].join("; ");
      const result = await deployer.rerelease(name, progress, "config", what || undefined);
      if (!result) progress.log("The app has no release yet: the configuration applies at its first deploy");
      return { release: result?.release ?? null, changed, url: result?.url ?? null };
    });
  });

  api.get("/api/v1/apps/:app/ps", async (c) => {
    const name = requireApp(c);
    const processes = (await listInstances(p.docker, name)).map((i) => ({
      type: i.process,
      instance: i.instance,
      state: i.state,
      status: i.status,
      container: i.name,
      release: i.release,
      startedAt: i.createdAt,
    }));
    return c.json({ processes });
  });

  api.get("/api/v1/apps/:app/logs", async (c) => {
    const name = requireApp(c);
    const lines = Number(c.req.query("lines") ?? 100);
    if (!Number.isInteger(lines) || lines < 0 || lines > 100_000)
      throw new Hop3Error("lines must be 0..100000", "usage");
    const follow = c.req.query("follow") === "1";
    const process = c.req.query("process");
    const out = new PassThrough();
    const abort = new AbortController();
    c.req.raw.signal?.addEventListener("abort", () => abort.abort());
    streamAppLogs(p.docker, { app: name, ...(process ? { process } : {}), lines, follow }, out, abort.signal)
      .catch((err) => out.write(`error: ${(err as Error).message}\n`))
      .finally(() => out.end());
    // pulled by the response: a slow reader pauses the Podman log streams (runtime/logs.ts)
    const body = pullStream(out, () => abort.abort());
    return new Response(body, {
      headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    });
  });

  api.post("/api/v1/apps/:app/start", (c) => {
    const name = requireApp(c);
    return ndjsonOperation((progress) => lifecycle.start(name, progress));
  });
  api.post("/api/v1/apps/:app/stop", (c) => {
    const name = requireApp(c);
    return ndjsonOperation((progress) => lifecycle.stop(name, progress));
  });
  api.post("/api/v1/apps/:app/restart", (c) => {
    const name = requireApp(c);
    const only = c.req.query("process");
    return ndjsonOperation((progress) => deployer.restart(name, progress, only || undefined));
  });
  api.post("/api/v1/apps/:app/scale", async (c) => {
    const name = requireApp(c);
    const body = await c.req.json<{ scale?: unknown }>().catch(() => ({}) as { scale?: unknown });
    const scale = body.scale;
    if (
      typeof scale !== "object" ||
      scale === null ||
      Array.isArray(scale) ||
      Object.keys(scale).length === 0
    ) {
      throw new Hop3Error('give the new scale: { "scale": { "web": 2 } }', "usage");
    }
    for (const [k, v] of Object.entries(scale)) {
      if (typeof v !== "number")
        throw new Hop3Error(`${k}: the number of instances must be a number`, "usage");
    }
    return ndjsonOperation(async (progress) => ({
      scale: await deployer.scale(name, scale as Record<string, number>, progress),
    }));
  });
  api.post("/api/v1/apps/:app/rollback", async (c) => {
    const name = requireApp(c);
    const body = await c.req.json<{ release?: unknown }>().catch(() => ({}) as { release?: unknown });
    const target = body.release;
    if (target !== undefined && (typeof target !== "number" || !Number.isInteger(target) || target < 1)) {
      throw new Hop3Error("release must be a release number, e.g. 3 for v3", "usage");
    }
    return ndjsonOperation((progress) =>
      deployer.rollback(
        name,
        target as number | undefined,
        progress,
        c.env?.transport === "unix" ? "local" : "token",
      ),
    );
  });

  // `hop run`: create, then attach through an HTTP upgrade (createUpgradeHandler), then wait.
  api.post("/api/v1/apps/:app/runs", async (c) => {
    const name = requireApp(c);
    const body = await c.req.json().catch(() => {
      throw new Hop3Error('the body must be JSON: { "command": ["ls", "-l"] }', "usage");
    });
    const req = parseRunRequest(body);
    const run = await runs.create(name, req);
    return c.json({ id: run.id, name: run.name, source: run.source, detached: req.detach }, 201);
  });
  api.post("/api/v1/runs/:id/resize", async (c) => {
    const body = await c.req.json().catch(() => ({}));
    const { cols, rows } = parseResizeRequest(body);
    await runs.resize(c.req.param("id"), cols, rows);
    return c.json({ cols, rows });
  });
  api.get("/api/v1/runs/:id/wait", async (c) => c.json(await runs.finish(c.req.param("id"))));

  api.get("/api/v1/apps/:app/cron", async (c) => {
    const name = requireApp(c);
    const jobs = cronJobsOf(store.currentRelease(name));
    const last = await cron.lastRuns(name);
    const now = new Date();
    return c.json({
      jobs: jobs.map((j) => ({
        name: j.name,
        schedule: j.schedule,
        command: j.command,
        lastRun: last.get(j.name) ?? null,
        nextRun: nextCronRun(j.schedule, now)?.toISOString() ?? null,
      })),
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    });
  });
  api.post("/api/v1/apps/:app/cron/:name/run", async (c) => {
    const name = requireApp(c);
    const jobName = c.req.param("name");
    const jobs = cronJobsOf(store.currentRelease(name));
    const job = jobs.find((j) => j.name === jobName);
    if (!job) {
      throw new Hop3Error(
        `${name} has no cron job ${JSON.stringify(jobName)}`,
        "notFound",
        jobs.length
          ? `its jobs: ${jobs.map((j) => j.name).join(", ")}`
          : "declare one in the Procfile: cron: */5 * * * * CMD",
      );
    }
    return ndjsonOperation(async (progress) => {
      progress.step(`Running ${job.name}: ${job.command}`);
      return cron.run(name, job, (line) => progress.log(line));
    });
  });

  api.get("/api/v1/apps/:app/domains", (c) => {
    const name = requireApp(c);
    const spec = store.currentRelease(name)?.spec as ReleaseSpec | undefined;
    return c.json({
      default: appHostnames(name, p.settings, [], [])[0],
      custom: store.listDomains(name),
      fromHop3Toml: spec?.domains ?? [],
    });
  });
  api.post("/api/v1/apps/:app/domains", async (c) => {
    const name = requireApp(c);
    const body = await c.req.json<{ hostname?: unknown }>().catch(() => ({}) as { hostname?: unknown });
    if (typeof body.hostname !== "string")
      throw new Hop3Error('give the hostname: { "hostname": "www.example.org" }', "usage");
    // before anything is stored: a hostname another app answers to (its default one included) is refused
    requireFreeHostnames(p, name, [body.hostname]);
    const hostname = store.addDomain(name, body.hostname);
    await applyRoutes(p);
    return c.json({ added: hostname, url: appUrl(hostname, p.settings) }, 201);
  });
  api.delete("/api/v1/apps/:app/domains/:hostname", async (c) => {
    const name = requireApp(c);
    const hostname = c.req.param("hostname").toLowerCase();
    store.removeDomain(name, hostname);
    await applyRoutes(p);
    return c.json({ removed: hostname });
  });

  api.post("/api/v1/apps/:app/purge-cache", (c) => {
    const name = requireApp(c);
    return c.json({ purged: purgeCache(name, p.settings.root) });
  });

  api.get("/api/v1/ssh-keys", (c) =>
    c.json({
      keys: store
        .listSshKeys()
        .map((k) => ({ fingerprint: k.fingerprint, comment: k.comment, addedAt: k.addedAt })),
    }),
  );
  api.post("/api/v1/ssh-keys", async (c) => {
    const body = await c.req.json<{ key?: unknown }>().catch(() => ({}) as { key?: unknown });
    if (typeof body.key !== "string")
      throw new Hop3Error('give the public key: { "key": "ssh-ed25519 AAAA..." }', "usage");
    const key = parsePublicKey(body.key);
    store.addSshKey({
      fingerprint: key.fingerprint,
      publicKey: `${key.type} ${key.blob}`,
      ...(key.comment ? { comment: key.comment } : {}),
    });
    await deps.syncSshKeys();
    return c.json({ fingerprint: key.fingerprint }, 201);
  });
  api.delete("/api/v1/ssh-keys/:fingerprint", async (c) => {
    const fp = decodeURIComponent(c.req.param("fingerprint"));
    store.removeSshKey(fp);
    await deps.syncSshKeys();
    return c.json({ removed: fp });
  });

  if (deps.addons) addonRoutes(api, deps.addons);
  if (deps.backups) backupRoutes(api, deps.backups, requireApp);
  volumeRoutes(api, p, requireApp);
  buildpackRoutes(api, store, deps.buildpacks);
  const supplyChain = { store, docker: p.docker, root: p.settings.root, version: deps.version };
  supplyChainRoutes(api, supplyChain, requireApp);
  sbomRoutes(api, supplyChain, requireApp);
  if (deps.catalog) catalogRoutes(api, { catalog: deps.catalog, store }, requireApp);
  return api;
}

/**
 * The `hop run` attach: `GET /api/v1/runs/:id/attach` with `Connection: Upgrade`, `Upgrade: tcp`. The server
 * answers `101` and the connection becomes the container's stdin/stdout (raw with a TTY, else Podman's
 * multiplexed frames). The caller half-closes for end of stdin; the server closes when the container exited.
 * Attach this to the Node servers' `upgrade` event.
 */
export function createUpgradeHandler(deps: { platform: Platform; runs: RunSessions }) {
  const { platform: p, runs } = deps;
  return (transport: "unix" | "tcp") =>
    (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      socket.on("error", () => {});
      const refuse = (err: unknown) => {
        const { status, body } = toApiError(err);
        const text = JSON.stringify(body);
        socket.end(
          `HTTP/1.1 ${status} ${status === 404 ? "Not Found" : "Error"}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
        );
      };
      try {
        const path = new URL(req.url ?? "/", "http://hop3").pathname;
        const m = /^\/api\/v1\/runs\/([0-9a-f]{32})\/attach$/.exec(path);
        if (!m || (req.method !== "GET" && req.method !== "POST")) {
          throw new Hop3Error(`no such endpoint: ${req.method} ${path}`, "notFound");
        }
        if ((req.headers.upgrade ?? "").toLowerCase() !== "tcp") {
          throw new Hop3Error("attach needs `Upgrade: tcp`", "usage");
        }
        if (transport === "tcp") checkBearer(p.store, req.headers.authorization);
        const session = runs.claim(m[1]!);
        if (head.length > 0) socket.unshift(head);
        let upgraded = false;
        runs
          .attach(session, socket, () => {
            upgraded = true;
            socket.write(
              "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n" +
                "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
            );
          })
          .catch((err) => {
            p.log(`run ${m[1]}: attach failed: ${(err as Error).message}`);
            if (upgraded) socket.destroy();
            else refuse(err);
            void runs.abort(m[1]!);
          });
      } catch (err) {
        refuse(err);
      }
    };
}
