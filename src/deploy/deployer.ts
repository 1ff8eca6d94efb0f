/**
 * The deploy pipeline (docs/architecture.md), as a thin orchestrator of its steps: build (build-step.ts),
 * environment (release-env.ts), release phase (release-phase.ts), rollout with the health gate and the router
 * switch (rollout.ts, health-gate.ts, routing.ts), retention (retention.ts). A release's status changes only
 * through its state machine (release-state.ts). Nothing users see changes until the new instances are healthy
 * and routed: every failure before that removes only what this deploy created, so the previous release keeps
 * serving.
 */
import type { AddonSpec } from "../app/hop3toml.js";
import type { BuiltImage } from "../build/builder.js";
import { releaseImageTag } from "../runtime/labels.js";
import type { ReleaseRow } from "../store/store.js";
import { Hop3Error } from "../util/errors.js";
import { withAppLock } from "./app-lock.js";
import { buildRelease, type DeploySource } from "./build-step.js";
import { abortable, beginDeploy, deploySignal, stopIfAborted } from "./cancel.js";
import type { Platform, Progress } from "./platform.js";
import { resolveReleaseEnv } from "./release-env.js";
import { runReleasePhase } from "./release-phase.js";
import type { ReleaseSpec } from "./release-spec.js";
import { fail, transition } from "./release-state.js";
import { pruneImages } from "./retention.js";
import { converge, type RolloutResult, startSet } from "./rollout.js";
import { timed } from "./timings.js";
import { defaultHostname } from "./urls.js";

export type { DeploySource } from "./build-step.js";

export interface DeployOptions {
  revision?: string;
  createdBy?: string;
}

export type DeployResult = RolloutResult;

/** The addon images a deploy readies alongside its build. */
interface AddonImagesJob {
  state: "running" | "ready" | "failed";
  done: Promise<void>;
}

export class Deployer {
  constructor(private readonly p: Platform) {}

  deploy(app: string, source: DeploySource, opts: DeployOptions, progress: Progress): Promise<DeployResult> {
    return withAppLock(app, () => {
      // deploy:cancel and the timeouts (cancel.ts): the lock is released as soon as the deploy is aborted, while
      // the aborted step unwinds (it removes what it created; later steps see the abort and do not run)
      const run = beginDeploy(app);
      return abortable(
        this.deployLocked(app, source, opts, progress, run.signal).finally(run.end),
        run.signal,
      );
    });
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
      const result = await this.rollout(
        app,
        release,
        current.image,
        current.imageId!,
        current.spec as ReleaseSpec,
        progress,
      );
      this.p.sbom?.record(app, release.number);
      return result;
    });
  }

  /**
   * A release from a backup (src/backup): its image is loaded under the new release's tag by `load`, and it
   * runs with the spec the backup recorded (a source tree is not kept, so nothing is built again).
   */
  restoreRelease(
    app: string,
    /** Loads the image as `tag` for the new release `release` (its number), before it runs. */
    load: (tag: string, release: number) => Promise<{ imageId: string }>,
    spec: ReleaseSpec,
    progress: Progress,
    description: string,
  ): Promise<DeployResult> {
    return withAppLock(app, async () => {
      const release = this.p.store.createRelease(app, { sourceKind: "image", description });
      const tag = releaseImageTag(app, release.number);
      let imageId: string;
      try {
        transition(this.p.store, release, { type: "build" });
        imageId = (await load(tag, release.number)).imageId;
        transition(this.p.store, release, { type: "built" }, { image: tag, imageId, spec });
      } catch (err) {
        fail(this.p.store, release, err);
        throw err;
      }
      const result = await this.rollout(app, release, tag, imageId, spec, progress);
      this.p.sbom?.record(app, release.number);
      return result;
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
      const target = { release: current, spec, env: current.configSnapshot ?? {}, isNew: false };
      return startSet(this.p, app, target, progress, only);
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
      if (row.desiredState === "running") await converge(this.p, app, current, progress);
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
      const image = { image: candidate.image, imageId: candidate.imageId!, spec, configSnapshot: env };
      try {
        transition(this.p.store, release, { type: "built" }, image);
        const result = await startSet(
          this.p,
          app,
          { release: { ...release, ...image }, spec, env, isNew: true },
          progress,
        );
        this.p.sbom?.record(app, release.number);
        return result;
      } catch (err) {
        fail(this.p.store, release, err);
        throw err;
      }
    });
  }

  /** Starts the instances of the current release that should run and do not; removes those that should not. */
  converge(app: string, current: ReleaseRow, progress: Progress): Promise<void> {
    return converge(this.p, app, current, progress);
  }

  /** Image retention (retention.ts). */
  prune(app: string, progress: Progress): Promise<void> {
    return pruneImages(this.p, app, progress);
  }

  defaultHost(app: string): string {
    return defaultHostname(app, this.p.settings);
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
    signal?: AbortSignal,
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
      ...(progress.timings ? { timings: progress.timings } : {}),
    };
    let built: BuiltImage | undefined;
    // hop3.toml [[addons]] to create: their images (an addon's built from Debian's packages takes minutes) are
    // readied while the app's image builds, so a first deploy waits for the longer of the two, not the sum
    let addonImages: AddonImagesJob | undefined;
    try {
      transition(store, release, { type: "build" });
      const tag = releaseImageTag(app, release.number);
      const outcome = await buildRelease(
        this.p,
        app,
        release,
        source,
        tag,
        opts.revision,
        logged,
        (b) => {
          built = b;
        },
        (appSpec) => {
          addonImages = this.startAddonImages(app, appSpec.addons, logged);
        },
      );
      built = outcome.built;
      stopIfAborted(signal);
      if (addonImages && addonImages.state !== "ready") {
        logged.step("Addon images (prepared alongside the build)");
        await addonImages.done;
      }
      transition(
        store,
        release,
        { type: "built" },
        {
          image: built.tag,
          imageId: built.imageId,
          spec: outcome.spec,
          sourceKind: built.sourceKind,
          ...(built.sourceRef && source.kind === "tree"
            ? { description: `Deploy ${opts.revision?.slice(0, 7) ?? "upload"} (${built.sourceRef})` }
            : {}),
        },
      );
      // hop3.toml [[addons]]: created (first deploy) and attached before the release's env is resolved
      if (outcome.spec.addons?.length) {
        const declared = outcome.spec.addons;
        await timed(logged.timings, "addons", async () => this.p.addons?.provision(app, declared, logged));
      }
      const result = await this.rollout(app, release, built.tag, built.imageId, outcome.spec, logged);
      this.p.sbom?.record(app, release.number);
      await timed(logged.timings, "prune images", () => pruneImages(this.p, app, logged));
      return result;
    } catch (err) {
      if (addonImages?.state === "running") {
        // nothing of this deploy keeps running after it reports: the image is finished (and kept for the next
        // deploy) or fails; its own failure is only a line here, the deploy's error is the one that stopped it
        logged.log("Waiting for the addon images being prepared alongside the build to finish");
        await addonImages.done.catch((e: Error) =>
          logged.log(`The addon images were not prepared: ${e.message}`),
        );
      }
      const message = fail(store, release, err);
      if (built && store.getReleaseById(release.id)?.status !== "active")
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

  /**
   * Starts readying the images of the addons the deploy will create (AddonService.prepareImages). A declaration
   * that would be refused throws now, before the build.
   */
  private startAddonImages(
    app: string,
    declared: readonly AddonSpec[],
    progress: Progress,
  ): AddonImagesJob | undefined {
    const addons = this.p.addons;
    if (!declared.length || !addons?.prepareImages) return undefined;
    const ready = addons.prepareImages(app, declared, progress);
    const job: AddonImagesJob = {
      state: "running",
      done: timed(progress.timings, "addon images (during build)", () => ready).then(
        () => {
          job.state = "ready";
        },
        (err) => {
          job.state = "failed";
          throw err;
        },
      ),
    };
    // awaited after the build (or when it failed); until then its rejection is not an unhandled one
    job.done.catch(() => {});
    return job;
  }

  /**
   * Env, release phase, new instances, health gate, switch, activation, drain. `release` is recorded; its
   * image exists. A new release of an existing image starts at 'built'.
   */
  private async rollout(
    app: string,
    release: ReleaseRow,
    image: string,
    imageId: string,
    spec: ReleaseSpec,
    progress: Progress,
  ): Promise<DeployResult> {
    const { store } = this.p;
    if (store.getReleaseById(release.id)?.status === "pending") {
      transition(store, release, { type: "built" }, { image, imageId, spec });
    }
    let env: Record<string, string>;
    try {
      env = resolveReleaseEnv(this.p, app, spec, progress);
      store.updateRelease(release.id, { configSnapshot: env });
    } catch (err) {
      const message = fail(store, release, err, "env");
      throw err instanceof Hop3Error ? err : new Hop3Error(message, "deployFailed");
    }
    const row = { ...release, image, imageId, spec, configSnapshot: env };
    try {
      try {
        await timed(progress.timings, "release phase", () =>
          runReleasePhase(this.p, app, row, spec, env, progress),
        );
      } catch (err) {
        fail(store, release, err, "release");
        throw err;
      }
      stopIfAborted(deploySignal(app));
      return await startSet(this.p, app, { release: row, spec, env, isNew: true }, progress);
    } catch (err) {
      const message = fail(store, release, err);
      throw err instanceof Hop3Error ? err : new Hop3Error(message, "deployFailed");
    }
  }
}
