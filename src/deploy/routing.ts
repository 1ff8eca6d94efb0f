/**
 * The router's table, derived from the store's intent and the web instances that are actually up, applied
 * one update at a time (route-updates.ts). A deploy's new instances enter the table as an override before
 * their release is recorded as active; entries that cannot be served are dropped and logged, never a reason
 * to leave every other app's routes unapplied.
 */
import { type DroppedRoute, resolveRoutes } from "../router/route-plan.js";
import type { AppRoute } from "../router/routes.js";
import { listInstances, type RunningInstance } from "../runtime/containers.js";
import type { Platform } from "./platform.js";
import type { ReleaseSpec } from "./release-spec.js";
import { RouteUpdates } from "./route-updates.js";
import { appHostnames, defaultHostname } from "./urls.js";

/** One app's instances that serve in place of what the store says (a deploy or restart in flight). */
export interface RouteOverride {
  app: string;
  release: number;
  spec: ReleaseSpec;
  instances: RunningInstance[];
}

export interface RouteTable {
  routes: AppRoute[];
  dropped: DroppedRoute[];
  /** The instances the table was computed from (the app gateway learns its instances from them). */
  instances: RunningInstance[];
}

interface PlatformRouting {
  overrides: Map<string, RouteOverride>;
  updates: RouteUpdates<RouteTable>;
}

const routing = new WeakMap<Platform, PlatformRouting>();

function routingOf(p: Platform): PlatformRouting {
  let r = routing.get(p);
  if (!r) {
    const overrides = new Map<string, RouteOverride>();
    const updates = new RouteUpdates<RouteTable>(
      async () => {
        // one listing per update, for the table and for the router (the gateway's instance sockets)
        const instances = await listInstances(p.docker);
        return { ...resolveRoutes(computeRoutes(p, instances, [...overrides.values()])), instances };
      },
      async (table, version) => {
        for (const d of table.dropped) {
          p.log(`routes v${version}: app ${d.app}: left out ${d.what ?? "its route"}: ${d.reason}`);
        }
        await p.router.apply(table.routes, table.instances);
      },
    );
    r = { overrides, updates };
    routing.set(p, r);
  }
  return r;
}

/**
 * Where an instance listens for the router: its published loopback port, or its fixed address on the app
 * network (the app gateway forwards the router's connections there).
 */
export function upstreamOf(inst: RunningInstance): { host: string; port: number } | undefined {
  if (inst.hostPort) return { host: "127.0.0.1", port: inst.hostPort };
  return inst.ip && inst.networkPort ? { host: inst.ip, port: inst.networkPort } : undefined;
}

/**
 * The route table before validation: the store's current releases served by the instances listed, with
 * `overrides` in place of theirs.
 */
export function computeRoutes(
  p: Platform,
  instances: RunningInstance[],
  overrides: RouteOverride[] = [],
): AppRoute[] {
  // An instance with a fixed address on its app network (app gateway) stays an upstream while it restarts:
  // it comes back at the same address and the gateway skips it meanwhile, so no table has to follow it.
  const running = instances.filter(
    (i) => i.process === "web" && (i.state === "running" || i.ip !== undefined),
  );
  const routes: AppRoute[] = [];
  for (const app of p.store.listApps()) {
    let spec: ReleaseSpec | undefined;
    let instances: RunningInstance[];
    const override = overrides.find((o) => o.app === app.name);
    if (override) {
      spec = override.spec;
      instances = override.instances;
    } else {
      const current = p.store.currentRelease(app.name);
      if (!current || app.desiredState !== "running") continue;
      spec = current.spec as ReleaseSpec;
      instances = running.filter((i) => i.app === app.name && i.release === current.number);
    }
    const upstreams = instances
      .filter((i) => i.process === "web")
      .map(upstreamOf)
      .filter((u) => u !== undefined);
    // An app whose web processes are all down (crashed, restarting) keeps its hostnames: the router answers
    // 503 "no running web process" rather than 404 "no app", and no other app can take them meanwhile.
    const wantsWeb = !override && spec.processes.web !== undefined && (app.scale.web ?? 1) > 0;
    if (upstreams.length === 0 && !wantsWeb) continue;
    const hosts = appHostnames(app.name, p.settings, p.store.listDomains(app.name), spec?.domains ?? []);
    if (spec?.domains.includes("_")) hosts.push("_");
    routes.push({ app: app.name, hosts, upstreams, defaultHost: defaultHostname(app.name, p.settings) });
  }
  return routes;
}

/** Applies the table the store describes now (and the overrides in flight). */
export async function applyRoutes(p: Platform): Promise<void> {
  await updateRoutes(p);
}

async function updateRoutes(p: Platform): Promise<RouteTable & { version: number }> {
  const { version, result } = await routingOf(p).updates.update();
  // the app is already switched: a timer that cannot be written is reported, never a failed deploy
  await p.schedules?.sync().catch((err) => p.log(`cron timers: ${(err as Error).message}`));
  return { ...result, version };
}

/**
 * Sends an app's traffic to `override`'s instances. The override stays in every later table until
 * `settleRoutes` (once the release is recorded as active, or the old instances are gone): another app's
 * deploy meanwhile must not switch this app back. On failure the override is withdrawn and the previous
 * table applied again, best effort: the previous release keeps serving.
 */
export async function switchRoutes(p: Platform, override: RouteOverride): Promise<RouteTable> {
  const r = routingOf(p);
  r.overrides.set(override.app, override);
  try {
    return await updateRoutes(p);
  } catch (err) {
    r.overrides.delete(override.app);
    await applyRoutes(p).catch((again) =>
      p.log(
        `routes: restoring the previous table after a failed switch of ${override.app}: ${(again as Error).message}`,
      ),
    );
    throw err;
  }
}

/** Withdraws an app's override: from now on the store says what serves (no router update needed). */
export function settleRoutes(p: Platform, app: string): void {
  routingOf(p).overrides.delete(app);
}

/** Withdraws an app's override and applies the table without it (a switch undone after it succeeded). */
export async function revertRoutes(p: Platform, app: string): Promise<void> {
  settleRoutes(p, app);
  await applyRoutes(p).catch((err) => p.log(`routes: reverting ${app}: ${(err as Error).message}`));
}
