/**
 * The rollout: a release's instances start beside whatever runs now, pass the health gate, take the traffic
 * (router switch), and only then is the release recorded as active; the previous instances drain and go.
 * A failure anywhere before that removes only the new instances: the previous release stays active and serving.
 */
import { randomBytes } from "node:crypto";
import { addonContainerName } from "../addons/containers.js";
import { ensureAppNetwork, listInstances, type RunningInstance, tailLogs } from "../runtime/containers.js";
import { releaseLimits } from "../runtime/limits.js";
import type { ReleaseRow } from "../store/store.js";
import { abortable, deploySignal, stopIfAborted } from "./cancel.js";
import { passHealthGate } from "./health-gate.js";
import { type ContainerPlan, planRelease } from "./plan.js";
import type { Platform, Progress } from "./platform.js";
import type { ReleaseSpec } from "./release-spec.js";
import { transition } from "./release-state.js";
import { revertRoutes, settleRoutes, switchRoutes } from "./routing.js";
import { timed } from "./timings.js";
import { appHostnames, appUrl } from "./urls.js";
import { releaseMounts } from "./volumes.js";

export interface RolloutResult {
  app: string;
  release: number;
  url?: string;
  processes: Record<string, number>;
}

/** The release to run: `isNew` releases go through the state machine; a current one (restart) does not. */
export interface RolloutTarget {
  release: ReleaseRow;
  spec: ReleaseSpec;
  env: Record<string, string>;
  isNew: boolean;
}

/**
 * Starts the release's instances beside whatever runs now (with `only`, just that process type's), waits for
 * every one to pass its checks, switches the router, records the release active, then drains and removes the
 * old instances. On failure removes only the new ones and rethrows; the caller records the failure.
 */
export async function startSet(
  p: Platform,
  app: string,
  target: RolloutTarget,
  progress: Progress,
  only?: string,
): Promise<RolloutResult> {
  const { store, docker, settings } = p;
  const { release, spec, env } = target;
  // deploy:cancel up to the switch: the new instances are removed like after any failed check (cancel.ts)
  const cancelled = deploySignal(app);
  const hosts = appHostnames(app, settings, store.listDomains(app), spec.domains);
  const all = plansFor(p, app, release, spec, env, hosts);
  const plans = only === undefined ? all : all.filter((pl) => pl.process === only);
  const before = (await listInstances(docker, app)).filter((i) => only === undefined || i.process === only);
  await ensureAppNetwork(docker, app);
  progress.step(
    `Starting ${describeCounts(plans.map((pl) => pl.process)) || "no process (all scaled to 0)"} (v${release.number})`,
  );
  const started: RunningInstance[] = [];
  let switched = false;
  const t = progress.timings;
  try {
    await timed(t, "start", async () => {
      for (const plan of plans) {
        stopIfAborted(cancelled);
        started.push(await p.supervisor.start(plan));
      }
    });
    if (target.isNew) transition(store, release, { type: "started" });
    await timed(t, "health check", () =>
      abortable(
        Promise.all(started.map((inst) => passHealthGate(p, inst, spec, hosts[0]!, progress))),
        cancelled,
      ),
    );
    stopIfAborted(cancelled);
    if (target.isNew) transition(store, release, { type: "healthy" });
    store.setDesiredState(app, "running");
    progress.step("Switching traffic to the new instances");
    const others =
      only === undefined
        ? []
        : (await listInstances(docker, app)).filter(
            (i) => i.process !== only && i.release === release.number,
          );
    const table = await timed(t, "route switch", () =>
      switchRoutes(p, {
        app,
        release: release.number,
        spec,
        instances: [...others, ...started],
      }),
    );
    switched = true;
    for (const d of table.dropped.filter((d) => d.app === app)) {
      progress.log(`warning: the router leaves out ${d.what ?? "this app's route"}: ${d.reason}`);
    }
    if (target.isNew) {
      await timed(t, "activate", async () => {
        transition(store, release, { type: "routed" });
        transition(store, release, { type: "activate" });
        // cron timers follow the current release, which only now is this one (the route switch synced them
        // while the previous release was still current); a timer that cannot be written never fails the deploy
        await p.schedules?.sync().catch((err) => p.log(`cron timers: ${(err as Error).message}`));
      });
    }
  } catch (err) {
    if (switched) await revertRoutes(p, app);
    for (const inst of started) {
      const lines = await tailLogs(docker, inst.id, 15).catch(() => []);
      if (lines.length) {
        progress.log(`last output of ${inst.process}.${inst.instance}:`);
        for (const l of lines) progress.log(`  ${l}`);
      }
    }
    await Promise.all(started.map((i) => p.supervisor.remove(i).catch(() => {})));
    throw err;
  }
  try {
    const old = before.filter((i) => !started.some((s) => s.id === i.id));
    if (old.length > 0) {
      progress.step(`Stopping the previous instances (${old.length})`);
      await timed(t, "drain and stop previous", async () => {
        await new Promise((r) => setTimeout(r, settings.drainSeconds * 1000));
        await Promise.all(old.map((i) => p.supervisor.remove(i).catch(() => {})));
      });
    }
  } finally {
    // the store now says what serves; the old instances are gone from the table at its next update
    settleRoutes(p, app);
  }
  const url = spec.webPort ? appUrl(hosts[0]!, settings) : undefined;
  return {
    app,
    release: release.number,
    ...(url ? { url } : {}),
    processes: countBy(all.map((pl) => pl.process)),
  };
}

/** Starts the instances of the current release that should run and do not; removes those that should not. */
export async function converge(
  p: Platform,
  app: string,
  current: ReleaseRow,
  progress: Progress,
): Promise<void> {
  const { store, docker, settings } = p;
  const spec = current.spec as ReleaseSpec;
  const env = current.configSnapshot ?? {};
  const hosts = appHostnames(app, settings, store.listDomains(app), spec.domains);
  const plans = plansFor(p, app, current, spec, env, hosts);
  const existing = (await listInstances(docker, app)).filter((i) => i.release === current.number);
  const key = (x: { process: string; instance: number }) => `${x.process}.${x.instance}`;
  const have = new Set(existing.map(key));
  const want = new Set(plans.map(key));
  const toStart = plans.filter((pl) => !have.has(key(pl)));
  const toRemove = existing.filter((i) => !want.has(key(i)));
  const started: RunningInstance[] = [];
  if (toStart.length > 0) {
    await ensureAppNetwork(docker, app);
    progress.step(`Starting ${describeCounts(toStart.map((pl) => pl.process))}`);
    try {
      for (const plan of toStart) started.push(await p.supervisor.start(plan));
      await Promise.all(started.map((inst) => passHealthGate(p, inst, spec, hosts[0]!, progress)));
    } catch (err) {
      await Promise.all(started.map((i) => p.supervisor.remove(i).catch(() => {})));
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
        const plan = plans.find((pl) => key(pl) === key(i))!;
        await p.supervisor.remove(i).catch(() => {});
        const fresh = await p.supervisor.start(plan);
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
        .map((i) => passHealthGate(p, i, spec, hosts[0]!, progress)),
    );
  }
  try {
    await switchRoutes(p, { app, release: current.number, spec, instances: [...keep, ...started] });
    if (toRemove.length > 0) {
      progress.step(`Stopping ${describeCounts(toRemove.map((i) => i.process))}`);
      await new Promise((r) => setTimeout(r, settings.drainSeconds * 1000));
      await Promise.all(toRemove.map((i) => p.supervisor.remove(i).catch(() => {})));
    }
  } finally {
    settleRoutes(p, app);
  }
}

function plansFor(
  p: Platform,
  app: string,
  release: ReleaseRow,
  spec: ReleaseSpec,
  env: Record<string, string>,
  hosts: string[],
): ContainerPlan[] {
  const appRow = p.store.requireApp(app);
  return planRelease({
    app,
    release: release.number,
    image: release.image!,
    processes: Object.fromEntries(Object.entries(spec.processes).map(([k, v]) => [k, v ?? undefined])),
    scale: appRow.scale,
    env,
    webPort: spec.webPort ?? 0,
    hostNames: hosts,
    publicUrl: appUrl(hosts[0]!, p.settings).replace(/\/$/, ""),
    generation: randomBytes(3).toString("hex"),
    ...(spec.prerun ? { prerun: spec.prerun } : {}),
    ...(spec.imageCommand ? { imageCommand: spec.imageCommand } : {}),
    mounts: releaseMounts(app, spec, p.settings.root),
    limits: releaseLimits(spec, p.settings.limits),
    startsAfter: p.store.addons.attachmentsTo(app).map((t) => addonContainerName(t.addon)),
    reach: p.gateway ? "gateway" : "ports",
  });
}

export function countBy(items: string[]): Record<string, number> {
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
