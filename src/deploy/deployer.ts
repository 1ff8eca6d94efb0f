/**
 * The deploy pipeline (ARCHITECTURE.md): source -> AppSpec -> image -> release -> plan -> apply -> record.
 * Nothing users see changes until the new instances are healthy: every failure before the router switch
 * removes only what this deploy created, so the previous release keeps serving.
 */
import { createHash, randomBytes } from "node:crypto";
import { addonEnvFor } from "../addons/app-env.js";
import { resolveAppEnv } from "../app/env.js";
import { loadAppSpec } from "../app/spec.js";
import type { BuildContext, Builder, BuiltImage } from "../build/builder.js";
import { imageFromArchive, imageFromReference } from "../build/image-source.js";
import {
  ensureNetwork,
  inspectInstance,
  listInstances,
  type RunningInstance,
  tailLogs,
} from "../runtime/containers.js";
import { waitHealthy } from "../runtime/health.js";
import { appNetworkName, LABEL, releaseImageTag } from "../runtime/labels.js";
import { runOneOff } from "../runtime/one-off.js";
import type { ReleaseRow } from "../store/store.js";
import { Hop3Error } from "../util/errors.js";
import { withAppLock } from "./app-lock.js";
import { type ContainerPlan, planRelease } from "./plan.js";
import type { Platform, Progress } from "./platform.js";
import { imageFacts, type ReleaseSpec, releaseSpecFromApp, releaseSpecFromImage } from "./release-spec.js";
import { applyRoutes } from "./routing.js";
import { appHostnames, appUrl, defaultHostname, platformEnv } from "./urls.js";
import { planMounts, releaseMounts } from "./volumes.js";

export type DeploySource =
  | { kind: "tree"; dir: string }
  | { kind: "image"; ref: string }
  | { kind: "archive"; path: string };

export interface DeployOptions {
  revision?: string;
  createdBy?: string;
}

export interface DeployResult {
  app: string;
  release: number;
  url?: string;
  processes: Record<string, number>;
}

export class Deployer {
  constructor(private readonly p: Platform) {}

  deploy(app: string, source: DeploySource, opts: DeployOptions, progress: Progress): Promise<DeployResult> {
    return withAppLock(app, () => this.deployLocked(app, source, opts, progress));
  }

  /** A new release with the current image and a new configuration (config:set, config:unset). */
  rerelease(
    app: string,
    progress: Progress,
    createdBy?: string,
    description?: string,
  ): Promise<DeployResult | undefined> {
    return withAppLock(app, async () => {
      const current = this.p.store.currentRelease(app);
      if (!current?.image) return undefined; // never deployed: the config waits for the first deploy
      const release = this.p.store.createRelease(app, {
        sourceKind: "config",
        sourceRef: current.sourceRef,
        revision: current.revision,
        createdBy,
        ...(description ? { description } : {}),
      });
      return this.rollout(
        app,
        release,
        current.image,
        current.imageId!,
        current.spec as ReleaseSpec,
        progress,
      );
    });
  }

  /**
   * Starts a fresh set of the current release's instances beside the running ones, then switches.
   * With `only`, just the instances of that process type are replaced.
   */
  restart(app: string, progress: Progress, only?: string): Promise<DeployResult> {
    return withAppLock(app, async () => {
      const current = this.requireCurrent(app);
      const spec = current.spec as ReleaseSpec;
      if (only !== undefined) this.requireTypes(app, spec, [only]);
      return this.startSet(app, current, spec, current.configSnapshot ?? {}, progress, only);
    });
  }

  /**
   * Changes how many instances of each type run (`ps:scale web=2 worker=0`). The scale is kept for later
   * releases. Only the difference is applied: new instances start and pass their checks before the router
   * sees them; surplus ones are removed after the router stopped sending them traffic.
   */
  scale(app: string, changes: Record<string, number>, progress: Progress): Promise<Record<string, number>> {
    return withAppLock(app, async () => {
      const current = this.requireCurrent(app);
      const spec = current.spec as ReleaseSpec;
      this.requireTypes(app, spec, Object.keys(changes));
      for (const [type, n] of Object.entries(changes)) {
        if (!Number.isInteger(n) || n < 0 || n > 100) {
          throw new Hop3Error(
            `${type}=${n}: the number of instances must be a whole number from 0 to 100`,
            "usage",
          );
        }
      }
      const row = this.p.store.requireApp(app);
      const scale = { ...row.scale, ...changes };
      this.p.store.setScale(app, scale);
      if (row.desiredState === "running") await this.converge(app, current, progress);
      return Object.fromEntries(Object.keys(spec.processes).map((t) => [t, scale[t] ?? 1]));
    });
  }

  /** Returns to an earlier release's image and environment, as a new release, with the same checks. */
  rollback(
    app: string,
    target: number | undefined,
    progress: Progress,
    createdBy?: string,
  ): Promise<DeployResult> {
    return withAppLock(app, async () => {
      const current = this.requireCurrent(app);
      const releases = this.p.store.listReleases(app);
      const candidate =
        target !== undefined
          ? releases.find((r) => r.number === target)
          : releases.find((r) => r.number < current.number && r.image && r.status === "superseded");
      if (!candidate) {
        throw new Hop3Error(
          target !== undefined
            ? `${app} has no release v${target}`
            : `${app} has no earlier release to return to`,
          "notFound",
          "see `hop releases`",
        );
      }
      if (candidate.number === current.number)
        throw new Hop3Error(`v${target} is already the current release`, "conflict");
      if (!candidate.image || candidate.status === "failed" || candidate.status === "pending") {
        throw new Hop3Error(
          `v${candidate.number} never ran successfully; it cannot be rolled back to`,
          "conflict",
        );
      }
      try {
        await this.p.docker.getImage(candidate.image).inspect();
      } catch {
        throw new Hop3Error(
          `the image of v${candidate.number} (${candidate.image}) is no longer on this server`,
          "conflict",
        );
      }
      const release = this.p.store.createRelease(app, {
        sourceKind: candidate.sourceKind,
        ...(candidate.sourceRef ? { sourceRef: candidate.sourceRef } : {}),
        ...(candidate.revision ? { revision: candidate.revision } : {}),
        ...(createdBy ? { createdBy } : {}),
        description: `Rollback to v${candidate.number}`,
      });
      progress.step(`Rolling back to v${candidate.number} (as v${release.number})`);
      const spec = candidate.spec as ReleaseSpec;
      const env = candidate.configSnapshot ?? {};
      this.p.store.updateRelease(release.id, {
        status: "deploying",
        image: candidate.image,
        imageId: candidate.imageId!,
        spec,
        configSnapshot: env,
      });
      try {
        return await this.startSet(
          app,
          { ...release, image: candidate.image, imageId: candidate.imageId!, spec, configSnapshot: env },
          spec,
          env,
          progress,
        );
      } catch (err) {
        this.markFailed(release.id, err);
        throw err;
      }
    });
  }

  /** Starts the instances of the current release that should run and do not; removes those that should not. */
  converge(app: string, current: ReleaseRow, progress: Progress): Promise<void> {
    return this.convergeUnlocked(app, current, progress);
  }

  /**
   * Keeps the images of the `retention` newest releases that ran (and of the current one, always); removes
   * the images of older ones and of failed ones, so disks do not fill up with every build ever made.
   */
  async prune(app: string, progress: Progress): Promise<void> {
    const { store, docker, settings } = this.p;
    const releases = store.listReleases(app); // newest first
    const current = store.currentRelease(app);
    const keep = new Set<string>();
    if (current?.image) keep.add(current.image);
    for (const r of releases.filter((r) => r.status !== "failed" && r.image).slice(0, settings.retention)) {
      keep.add(r.image!);
    }
    const drop = new Set(releases.map((r) => r.image).filter((i): i is string => !!i && !keep.has(i)));
    for (const image of drop) {
      try {
        await docker.getImage(image).remove();
        progress.log(`Pruned ${image} (keeping the last ${settings.retention} releases)`);
      } catch {
        // already gone, or still used by a container: tried again after the next deploy
      }
    }
  }

  /** Records why a release failed; answers the message. */
  private markFailed(releaseId: number, err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    this.p.store.updateRelease(releaseId, {
      status: "failed",
      error: message,
      finishedAt: new Date().toISOString(),
    });
    return message;
  }

  private requireTypes(app: string, spec: ReleaseSpec, types: string[]): void {
    const known = Object.keys(spec.processes);
    for (const t of types) {
      if (!known.includes(t)) {
        throw new Hop3Error(
          `${app} has no process type ${JSON.stringify(t)}`,
          "usage",
          `its types: ${known.join(", ") || "(none)"}`,
        );
      }
    }
  }

  private async convergeUnlocked(app: string, current: ReleaseRow, progress: Progress): Promise<void> {
    const { store, docker, settings } = this.p;
    const spec = current.spec as ReleaseSpec;
    const env = current.configSnapshot ?? {};
    const hosts = appHostnames(app, settings, store.listDomains(app), spec.domains);
    const plans = this.plansFor(app, current, spec, env, hosts);
    const existing = (await listInstances(docker, app)).filter((i) => i.release === current.number);
    const key = (p: { process: string; instance: number }) => `${p.process}.${p.instance}`;
    const have = new Set(existing.map(key));
    const want = new Set(plans.map(key));
    const toStart = plans.filter((p) => !have.has(key(p)));
    const toRemove = existing.filter((i) => !want.has(key(i)));
    const started: RunningInstance[] = [];
    if (toStart.length > 0) {
      await ensureNetwork(docker, appNetworkName(app), { [LABEL.managed]: "true", [LABEL.app]: app });
      progress.step(`Starting ${describeCounts(toStart.map((p) => p.process))}`);
      try {
        for (const plan of toStart) started.push(await this.p.supervisor.start(plan));
        await Promise.all(started.map((inst) => this.check(inst, spec, hosts[0]!, progress)));
      } catch (err) {
        await Promise.all(started.map((i) => this.p.supervisor.remove(i).catch(() => {})));
        throw err;
      }
    }
    let keep = existing.filter((i) => want.has(key(i)));
    // After a reboot without systemd, containers exist but are stopped: start them again where they are.
    const stopped = keep.filter((i) => i.state !== "running" && i.state !== "restarting");
    if (stopped.length > 0) {
      progress.step(`Starting again ${describeCounts(stopped.map((i) => i.process))}`);
      const revived = new Set<string>();
      for (const i of stopped) {
        try {
          await docker.getContainer(i.id).start();
          revived.add(i.id);
        } catch {
          // Podman can keep a container whose processes died with the host in a state it refuses to start
          // ("stopping": "container state improper"): such a one is replaced by a new one from the same plan.
          const plan = plans.find((p) => key(p) === key(i))!;
          await this.p.supervisor.remove(i).catch(() => {});
          const fresh = await this.p.supervisor.start(plan);
          started.push(fresh);
          revived.add(fresh.id);
        }
      }
      const refreshed = await listInstances(docker, app);
      keep = refreshed.filter(
        (i) => i.release === current.number && want.has(key(i)) && !started.some((s) => s.id === i.id),
      );
      await Promise.all(
        [...keep, ...started]
          .filter((i) => revived.has(i.id))
          .map((i) => this.check(i, spec, hosts[0]!, progress)),
      );
    }
    await applyRoutes(this.p, { app, release: current.number, spec, instances: [...keep, ...started] });
    if (toRemove.length > 0) {
      progress.step(`Stopping ${describeCounts(toRemove.map((i) => i.process))}`);
      await new Promise((r) => setTimeout(r, settings.drainSeconds * 1000));
      await Promise.all(toRemove.map((i) => this.p.supervisor.remove(i).catch(() => {})));
    }
  }

  private plansFor(
    app: string,
    release: ReleaseRow,
    spec: ReleaseSpec,
    env: Record<string, string>,
    hosts: string[],
  ): ContainerPlan[] {
    const appRow = this.p.store.requireApp(app);
    return planRelease({
      app,
      release: release.number,
      image: release.image!,
      processes: Object.fromEntries(Object.entries(spec.processes).map(([k, v]) => [k, v ?? undefined])),
      scale: appRow.scale,
      env,
      webPort: spec.webPort ?? 0,
      hostNames: hosts,
      publicUrl: appUrl(hosts[0]!, this.p.settings).replace(/\/$/, ""),
      generation: randomBytes(3).toString("hex"),
      ...(spec.prerun ? { prerun: spec.prerun } : {}),
      mounts: releaseMounts(app, spec, this.p.settings.root),
    });
  }

  private requireCurrent(app: string): ReleaseRow {
    this.p.store.requireApp(app);
    const current = this.p.store.currentRelease(app);
    if (!current?.image) {
      throw new Hop3Error(
        `${app} has no release yet`,
        "notFound",
        `deploy it first: hop deploy --app ${app}`,
      );
    }
    return current;
  }

  private async deployLocked(
    app: string,
    source: DeploySource,
    opts: DeployOptions,
    progress: Progress,
  ): Promise<DeployResult> {
    const { store, docker } = this.p;
    store.requireApp(app);
    const release = store.createRelease(app, {
      sourceKind: source.kind === "tree" ? "containerfile" : "image",
      ...(source.kind === "image" ? { sourceRef: source.ref } : {}),
      ...(opts.revision ? { revision: opts.revision } : {}),
      ...(opts.createdBy ? { createdBy: opts.createdBy } : {}),
      description:
        source.kind === "image"
          ? `Deploy image ${source.ref}`
          : source.kind === "archive"
            ? "Deploy uploaded image"
            : `Deploy ${opts.revision?.slice(0, 7) ?? "upload"}`,
    });
    const logged: Progress = {
      step: (m) => {
        store.appendDeployLog(release.id, `-----> ${m}`);
        progress.step(m);
      },
      log: (l) => {
        store.appendDeployLog(release.id, l);
        progress.log(l);
      },
    };
    const tag = releaseImageTag(app, release.number);
    let built: BuiltImage | undefined;
    try {
      store.updateRelease(release.id, { status: "building" });
      let spec: ReleaseSpec;
      const config = store.getConfig(app);
      if (source.kind === "tree") {
        logged.step("Reading the app's configuration");
        const appSpec = await loadAppSpec(source.dir);
        for (const w of appSpec.warnings) logged.log(`warning: ${w}`);
        // a bad [[volumes]] entry fails now, not after a build
        planMounts(app, appSpec.volumes, this.p.settings.root);
        if (appSpec.name && appSpec.name !== app) {
          logged.log(`note: hop3.toml names the app ${appSpec.name}; deploying to ${app} as asked`);
        }
        const builder = await this.pickBuilder(appSpec.build.builder, source.dir);
        // Podman 4.3's builder reuses a cached `ENV X=${ARG}` layer built with another value of ARG: when the
        // build arguments changed since the last build of this app, build without the layer cache.
        const buildArgsDigest = digestOf(appSpec.docker.buildArgs);
        const previousDigest = store
          .listReleases(app)
          .map((r) => (r.spec as ReleaseSpec | undefined)?.buildArgsDigest)
          .find((d) => d !== undefined);
        const noCache = previousDigest !== undefined && previousDigest !== buildArgsDigest;
        if (noCache) logged.log("The build arguments changed: building without the layer cache");
        logged.step(`Building the image (${builder.name})`);
        const ctx: BuildContext = {
          app,
          release: release.number,
          sourceDir: source.dir,
          tag,
          buildArgs: appSpec.docker.buildArgs,
          noCache,
          requested: appSpec.build.builder,
          ...(opts.revision ? { revision: opts.revision } : {}),
          // buildpacks see the app's config vars in /platform/env, as Heroku's build does
          buildEnv: config,
          ...(appSpec.files.containerfile ? { containerfile: appSpec.files.containerfile } : {}),
          docker,
          emit: logged.log,
        };
        built = await builder.build(ctx);
        const info = await docker.getImage(built.tag).inspect();
        spec = { ...releaseSpecFromApp(appSpec, imageFacts(info), config.PORT), buildArgsDigest };
        this.checkDomains(app, spec.domains);
      } else {
        logged.step(source.kind === "image" ? `Fetching image ${source.ref}` : "Loading the uploaded image");
        built =
          source.kind === "image"
            ? await imageFromReference(docker, source.ref, tag, logged.log)
            : await imageFromArchive(docker, source.path, tag, logged.log);
        const info = await docker.getImage(built.tag).inspect();
        spec = releaseSpecFromImage(imageFacts(info), config.PORT);
      }
      store.updateRelease(release.id, {
        image: built.tag,
        imageId: built.imageId,
        spec,
        sourceKind: built.sourceKind,
        ...(built.sourceRef && source.kind === "tree"
          ? { description: `Deploy ${opts.revision?.slice(0, 7) ?? "upload"} (${built.sourceRef})` }
          : {}),
      });
      // hop3.toml [[addons]]: created (first deploy) and attached before the release's env is resolved
      if (spec.addons?.length) await this.p.addons?.provision(app, spec.addons, logged);
      const result = await this.rollout(app, release, built.tag, built.imageId, spec, logged);
      await this.prune(app, logged);
      return result;
    } catch (err) {
      const message = this.markFailed(release.id, err);
      if (built)
        await docker
          .getImage(built.tag)
          .remove()
          .catch(() => {});
      if (err instanceof Hop3Error && err.kind !== "deployFailed" && err.kind !== "usage") throw err;
      const current = store.currentRelease(app);
      const hint = current
        ? `v${current.number} is still serving`
        : err instanceof Hop3Error
          ? err.hint
          : undefined;
      throw new Hop3Error(message, err instanceof Hop3Error ? err.kind : "deployFailed", hint);
    }
  }

  private async pickBuilder(requested: string, dir: string): Promise<Builder> {
    const probe = { sourceDir: dir } as BuildContext;
    if (requested && requested !== "auto") {
      const named = this.p.builders.find((b) => b.name === requested || b.aliases.includes(requested));
      if (!named) {
        throw new Hop3Error(
          `[build].builder = "${requested}" is not available on this server`,
          "deployFailed",
          `available: ${this.p.builders.map((b) => b.name).join(", ")}`,
        );
      }
      return named;
    }
    for (const b of this.p.builders) if (await b.detect(probe)) return b;
    throw new Hop3Error(
      "no builder recognises this source tree: there is no Containerfile or Dockerfile",
      "deployFailed",
      "add a Containerfile, or deploy a prebuilt image with `hop deploy --image REF`",
    );
  }

  private checkDomains(app: string, domains: string[]): void {
    for (const d of domains) {
      if (d === "_") continue;
      const owner = this.p.store.domainOwner(d);
      if (owner && owner !== app) throw new Hop3Error(`domain ${d} belongs to app ${owner}`, "conflict");
      for (const other of this.p.store.listApps()) {
        if (other.name === app) continue;
        const spec = this.p.store.currentRelease(other.name)?.spec as ReleaseSpec | undefined;
        if (spec?.domains.includes(d))
          throw new Hop3Error(`domain ${d} is used by app ${other.name}`, "conflict");
      }
    }
  }

  /** Env, release phase, new instances, health, switch, drain. `release` is already recorded. */
  private async rollout(
    app: string,
    release: ReleaseRow,
    image: string,
    imageId: string,
    spec: ReleaseSpec,
    progress: Progress,
  ): Promise<DeployResult> {
    const { store } = this.p;
    store.updateRelease(release.id, { status: "deploying", image, imageId, spec });
    const resolved = resolveAppEnv({
      ...(spec.tomlEnv ? { tomlEnv: spec.tomlEnv } : {}),
      envFile: spec.envDefaults,
      configVars: store.getConfig(app),
      generated: store.getGeneratedEnv(app),
      // DATABASE_URL, REDIS_URL... of the attached addons, and [env] references to them
      addons: addonEnvFor(store, app),
      // `${HOP3_PUBLIC_URL}` and friends in [env.computed]
      platformEnv: {
        ...platformEnv(app, this.p.settings, this.p.store.listDomains(app), spec.domains),
        ...(spec.webPort ? { PORT: String(spec.webPort) } : {}),
      },
    });
    if (Object.keys(resolved.newlyGenerated).length > 0) {
      store.setGeneratedEnv(app, { ...store.getGeneratedEnv(app), ...resolved.newlyGenerated });
      progress.log(`Generated ${Object.keys(resolved.newlyGenerated).join(", ")} (kept for later deploys)`);
    }
    const env = resolved.env;
    store.updateRelease(release.id, { configSnapshot: env });
    const row = { ...release, image, imageId, spec, configSnapshot: env };
    try {
      if (spec.preflight?.length) await this.oneOffPhase("preflight", app, row, spec, env, progress);
      if (spec.releaseCommand) await this.oneOffPhase("release", app, row, spec, env, progress);
      return await this.startSet(app, row, spec, env, progress);
    } catch (err) {
      const message = this.markFailed(release.id, err);
      throw err instanceof Hop3Error ? err : new Hop3Error(message, "deployFailed");
    }
  }

  /**
   * A one-off container of the new image and config that must succeed before any traffic moves: Procfile
   * `preflight:` checks (Piku: a variable set, a service reachable), then the `release:` phase.
   */
  private async oneOffPhase(
    what: "preflight" | "release",
    app: string,
    release: ReleaseRow,
    spec: ReleaseSpec,
    env: Record<string, string>,
    progress: Progress,
  ): Promise<void> {
    const phase =
      what === "preflight"
        ? {
            script: `set -e\n${spec.preflight!.join("\n")}`,
            step: `Running the preflight checks: ${spec.preflight!.join("; ")}`,
            failed: "the preflight check",
          }
        : {
            script: spec.releaseCommand!,
            step: `Running the release phase: ${spec.releaseCommand}`,
            failed: "the release command",
          };
    progress.step(phase.step);
    const code = await runOneOff(this.p.docker, {
      app,
      release: release.number,
      image: release.image!,
      cmd: ["/bin/sh", "-c", phase.script],
      env: {
        ...env,
        ...platformEnv(app, this.p.settings, this.p.store.listDomains(app), spec.domains),
        PROC_TYPE: what,
        DYNO: `${what}.1`,
      },
      purpose: "release",
      mounts: releaseMounts(app, spec, this.p.settings.root),
      onLine: (l) => progress.log(l),
    });
    if (code !== 0) {
      throw new Hop3Error(`${phase.failed} exited with code ${code}`, "deployFailed");
    }
  }

  /**
   * Starts the release's instances beside whatever runs now, waits for every one to pass its checks,
   * switches the router, then drains and removes the old ones. On failure removes only the new ones.
   */
  private async startSet(
    app: string,
    release: ReleaseRow,
    spec: ReleaseSpec,
    env: Record<string, string>,
    progress: Progress,
    only?: string,
  ): Promise<DeployResult> {
    const { store, docker, settings } = this.p;
    const hosts = appHostnames(app, settings, store.listDomains(app), spec.domains);
    const all = this.plansFor(app, release, spec, env, hosts);
    const plans = only === undefined ? all : all.filter((p) => p.process === only);
    const before = (await listInstances(docker, app)).filter((i) => only === undefined || i.process === only);
    await ensureNetwork(docker, appNetworkName(app), { [LABEL.managed]: "true", [LABEL.app]: app });
    progress.step(
      `Starting ${describeCounts(plans.map((p) => p.process)) || "no process (all scaled to 0)"} (v${release.number})`,
    );
    const started: RunningInstance[] = [];
    try {
      for (const plan of plans) started.push(await this.p.supervisor.start(plan));
      await Promise.all(started.map((inst) => this.check(inst, spec, hosts[0]!, progress)));
      if (release.status !== "active") {
        store.markActive(app, release.id);
        store.updateRelease(release.id, { finishedAt: new Date().toISOString() });
      }
      store.setDesiredState(app, "running");
      progress.step("Switching traffic to the new instances");
      const others =
        only === undefined
          ? []
          : (await listInstances(docker, app)).filter(
              (i) => i.process !== only && i.release === release.number,
            );
      await applyRoutes(this.p, { app, release: release.number, spec, instances: [...others, ...started] });
    } catch (err) {
      for (const inst of started) {
        const lines = await tailLogs(docker, inst.id, 15).catch(() => []);
        if (lines.length) {
          progress.log(`last output of ${inst.process}.${inst.instance}:`);
          for (const l of lines) progress.log(`  ${l}`);
        }
      }
      await Promise.all(started.map((i) => this.p.supervisor.remove(i).catch(() => {})));
      throw err;
    }
    const old = before.filter((i) => !started.some((s) => s.id === i.id));
    if (old.length > 0) {
      progress.step(`Stopping the previous instances (${old.length})`);
      await new Promise((r) => setTimeout(r, settings.drainSeconds * 1000));
      await Promise.all(old.map((i) => this.p.supervisor.remove(i).catch(() => {})));
    }
    const url = spec.webPort ? appUrl(hosts[0]!, settings) : undefined;
    return {
      app,
      release: release.number,
      ...(url ? { url } : {}),
      processes: countBy(all.map((p) => p.process)),
    };
  }

  private async check(
    inst: RunningInstance,
    spec: ReleaseSpec,
    host: string,
    progress: Progress,
  ): Promise<void> {
    const label = `${inst.process}.${inst.instance}`;
    const stillRunning = async () => (await inspectInstance(this.p.docker, inst.id))?.state === "running";
    if (inst.process !== "web") {
      // No HTTP check for workers: they only have to stay up through a short grace period.
      await new Promise((r) => setTimeout(r, 2000));
      if (!(await stillRunning()))
        throw new Hop3Error(`${label} exited right after starting`, "deployFailed");
      return;
    }
    if (!inst.hostPort) throw new Hop3Error(`${label} has no published port`, "deployFailed");
    const hc = spec.healthcheck;
    const what = hc
      ? `GET ${hc.path}${hc.contains ? ` containing ${JSON.stringify(hc.contains)}` : ""}${hc.more?.length ? ` and ${hc.more.length} more` : ""}`
      : `an HTTP answer on port ${spec.webPort}`;
    progress.log(`Waiting for ${label} to pass its check (${what})`);
    if (hc?.wait) await new Promise((r) => setTimeout(r, hc.wait! * 1000));
    const checks = hc ? [{ path: hc.path, contains: hc.contains }, ...(hc.more ?? [])] : [undefined];
    for (const c of checks) {
      const result = await waitHealthy(
        inst.hostPort,
        {
          ...(c?.path ? { path: c.path } : {}),
          ...(c?.contains ? { contains: c.contains } : {}),
          timeout: hc?.timeout ?? spec.startTimeout,
          interval: hc?.interval ?? 0.2,
          ...(hc?.retries ? { retries: hc.retries } : {}),
          hostHeader: host,
        },
        stillRunning,
      );
      if (!result.ok) {
        throw new Hop3Error(`health check failed for ${label}: ${result.reason}`, "deployFailed");
      }
    }
    progress.log(`${label} is healthy`);
  }

  defaultHost(app: string): string {
    return defaultHostname(app, this.p.settings);
  }
}

function digestOf(values: Record<string, string>): string {
  const sorted = Object.keys(values)
    .sort()
    .map((k) => [k, values[k]]);
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 16);
}

function countBy(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

function describeCounts(items: string[]): string {
  const c = countBy(items);
  return Object.entries(c)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
}
