/** The router's table, derived from the store's intent and the web instances that are actually up. */
import type { AppRoute } from "../router/routes.js";
import { listInstances, type RunningInstance } from "../runtime/containers.js";
import type { Platform } from "./platform.js";
import type { ReleaseSpec } from "./release-spec.js";
import { appHostnames } from "./urls.js";

/** `override` replaces one app's upstreams by instances not yet recorded as current (a deploy in flight). */
export async function computeRoutes(
  p: Platform,
  override?: { app: string; release: number; spec: ReleaseSpec; instances: RunningInstance[] },
): Promise<AppRoute[]> {
  const running = (await listInstances(p.docker)).filter((i) => i.state === "running" && i.process === "web");
  const routes: AppRoute[] = [];
  for (const app of p.store.listApps()) {
    let spec: ReleaseSpec | undefined;
    let instances: RunningInstance[];
    if (override?.app === app.name) {
      spec = override.spec;
      instances = override.instances;
    } else {
      const current = p.store.currentRelease(app.name);
      if (!current || app.desiredState !== "running") continue;
      spec = current.spec as ReleaseSpec;
      instances = running.filter((i) => i.app === app.name && i.release === current.number);
    }
    const upstreams = instances
      .filter((i) => i.process === "web" && i.hostPort)
      .map((i) => ({ host: "127.0.0.1", port: i.hostPort! }));
    if (upstreams.length === 0) continue;
    const hosts = appHostnames(app.name, p.settings, p.store.listDomains(app.name), spec?.domains ?? []);
    if (spec?.domains.includes("_")) hosts.push("_");
    routes.push({ app: app.name, hosts, upstreams });
  }
  return routes;
}

export async function applyRoutes(
  p: Platform,
  override?: Parameters<typeof computeRoutes>[1],
): Promise<void> {
  await p.router.apply(await computeRoutes(p, override));
  // the app is already switched: a timer that cannot be written is reported, never a failed deploy
  await p.schedules?.sync().catch((err) => p.log(`cron timers: ${(err as Error).message}`));
}
