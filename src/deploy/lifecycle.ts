/** Start, stop, destroy and reconcile: the app's desired state made real on Podman. */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { reconcileRestores } from "../backup/restore-recovery.js";
import { purgeCache } from "../build/buildpacks-builder.js";
import { listImagesByReference, listInstances, removeNetwork, statusOf } from "../runtime/containers.js";
import { appImageRepo, appNetworkName, LABEL } from "../runtime/labels.js";
import { listAppVolumes, removeAppData } from "../runtime/volumes.js";
import { removeAppSboms } from "../sbom/store.js";
import { Hop3Error } from "../util/errors.js";
import { withAppLock } from "./app-lock.js";
import type { Deployer, DeployResult } from "./deployer.js";
import type { Platform, Progress } from "./platform.js";
import type { ReleaseSpec } from "./release-spec.js";
import { fail, IN_PROGRESS, stateOf } from "./release-state.js";
import { applyRoutes } from "./routing.js";

export class Lifecycle {
  constructor(
    private readonly p: Platform,
    private readonly deployer: Deployer,
  ) {}

  async stop(app: string, progress: Progress): Promise<{ stopped: number }> {
    return withAppLock(app, async () => {
      this.p.store.requireApp(app);
      this.p.store.setDesiredState(app, "stopped");
      await applyRoutes(this.p);
      const instances = await listInstances(this.p.docker, app);
      progress.step(`Stopping ${instances.length} instance(s)`);
      await Promise.all(instances.map((i) => this.p.supervisor.remove(i)));
      return { stopped: instances.length };
    });
  }

  async start(app: string, progress: Progress): Promise<DeployResult> {
    this.p.store.requireApp(app);
    this.p.store.setDesiredState(app, "running");
    return this.deployer.restart(app, progress);
  }

  /** Removes containers, images, network, route, repository and records of one app, and nothing else. */
  async destroy(app: string, progress: Progress): Promise<{ destroyed: string }> {
    return withAppLock(app, async () => {
      const { store, docker } = this.p;
      store.requireApp(app);
      store.setDesiredState(app, "stopped");
      progress.step("Removing the route");
      await applyRoutes(this.p);
      const instances = await listInstances(docker, app);
      progress.step(`Removing ${instances.length} container(s)`);
      await Promise.all(instances.map((i) => this.p.supervisor.remove(i)));
      const volumes = await listAppVolumes(docker, app);
      // the confirmation destroy asked for covers the data: it is the only place it goes. Before the images:
      // the app's own image empties a data directory its non-root users wrote to.
      progress.step(`Removing ${volumes.length} volume(s) and the app's data directory`);
      await this.p.supervisor.dropVolumes?.(volumes);
      const data = await removeAppData(
        docker,
        app,
        this.p.settings.root,
        store.currentRelease(app)?.image ?? undefined,
      );
      if (data.leftover) {
        progress.log(
          `warning: ${data.leftover} keeps files of the app's container users; remove it as hop3 with \`podman unshare rm -rf ${data.leftover}\``,
        );
      }
      const images = await listImagesByReference(docker, `${appImageRepo(app)}:*`);
      progress.step(`Removing ${images.length} image(s)`);
      for (const img of images) {
        for (const tag of img.RepoTags ?? []) {
          if (!tag.startsWith(`${appImageRepo(app)}:`)) continue;
          try {
            await docker.getImage(tag).remove();
          } catch (err) {
            if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
          }
        }
      }
      // its addons leave its network (their data stays: only addons:destroy removes it)
      await this.p.addons?.releaseApp(app);
      // and so does the app gateway: Podman refuses to remove a network still in use
      await this.p.gateway?.leave(app);
      await removeNetwork(docker, appNetworkName(app));
      rmSync(join(this.p.settings.root, "git", `${app}.git`), { recursive: true, force: true });
      purgeCache(app, this.p.settings.root);
      store.deleteApp(app);
      // After the app's rows: an SBOM job reading an image removed above fails meanwhile, and writes its
      // failure note (or document) only while the release exists. Removed before, its note came back.
      await removeAppSboms(this.p.settings.root, app);
      // timers of what the app no longer has (its backup schedule: the app was still there at the route sync)
      await this.p.schedules?.sync().catch((err) => this.p.log(`timers: ${(err as Error).message}`));
      return { destroyed: app };
    });
  }

  /**
   * Makes the host match the store after a (re)start of the server, without touching healthy apps:
   * deploys interrupted by a crash are marked failed and their containers removed; an app whose current
   * release has no running instance is started again; the router is re-applied.
   */
  async reconcile(): Promise<string[]> {
    const { store, docker } = this.p;
    // First, backup restores a crash interrupted: their apps are stopped (and marked failed) before the loop
    // below, which would otherwise start a `--force` restore's previous release over half-restored data, and
    // removes whatever the restore had started (backup/restore-recovery.ts).
    const notes: string[] = reconcileRestores(store);
    const all = await listInstances(docker);
    for (const app of store.listApps()) {
      for (const r of store.listReleases(app.name)) {
        if (IN_PROGRESS.includes(stateOf(r))) {
          fail(store, r, "interrupted: the server stopped during this deploy", "interrupted");
          notes.push(`${app.name}: v${r.number} was interrupted; marked failed`);
        }
      }
      const current = store.currentRelease(app.name);
      const mine = all.filter((i) => i.app === app.name);
      const stale = mine.filter(
        (i) => !current || i.release !== current.number || app.desiredState !== "running",
      );
      for (const i of stale) {
        await this.p.supervisor.remove(i).catch(() => {});
        notes.push(`${app.name}: removed leftover ${i.name}`);
      }
      if (current && app.desiredState === "running") {
        const live = mine.filter((i) => i.release === current.number);
        try {
          // starts only the instances that are missing: healthy ones are never restarted
          await this.deployer.converge(app.name, current, {
            step: (m) => notes.push(`${app.name}: ${m}`),
            log: () => {},
          });
        } catch (err) {
          notes.push(`${app.name}: could not start v${current.number}: ${(err as Error).message}`);
        }
        if (live.length === 0) notes.push(`${app.name}: no instance of v${current.number} was running`);
      }
    }
    for (const i of all) {
      if (!store.getApp(i.app)) {
        await this.p.supervisor.remove(i).catch(() => {});
        notes.push(`removed ${i.name}: its app no longer exists`);
      }
    }
    await applyRoutes(this.p);
    return notes;
  }
}

/**
 * Whether a container with these labels belongs to what should run now: its app wants to run, it is of the
 * current release, and its instance number is within the scale of its type.
 */
export function isWanted(p: Platform, labels: Record<string, string>): boolean {
  const app = labels[LABEL.app];
  const process = labels[LABEL.process];
  if (!app || !process) return false;
  const row = p.store.getApp(app);
  if (row?.desiredState !== "running") return false;
  const current = p.store.currentRelease(app);
  if (!current || String(current.number) !== labels[LABEL.release]) return false;
  const spec = current.spec as ReleaseSpec | undefined;
  if (!spec || !(process in spec.processes)) return false;
  return Number(labels[LABEL.instance] ?? 1) <= (row.scale[process] ?? 1);
}

export function requireConfirmation(app: string, confirm: string | undefined): void {
  if (confirm !== app) {
    throw new Hop3Error(
      `destroying ${app} needs confirmation`,
      "usage",
      `pass confirm=${app} (hop destroy --confirm ${app})`,
    );
  }
}
