/**
 * The health gate: an instance gets traffic only after it passed its checks. Web instances answer HTTP (and
 * the hop3.toml [healthcheck] paths when there are any); workers stay up through a short grace period.
 * How an instance is reached lives here and in routing.ts's upstreamOf only.
 */
import { inspectInstance, type RunningInstance } from "../runtime/containers.js";
import { DEFAULT_HEALTH_INTERVAL, type HealthTarget, waitHealthy } from "../runtime/health.js";
import { Hop3Error } from "../util/errors.js";
import type { Platform, Progress } from "./platform.js";
import type { ReleaseSpec } from "./release-spec.js";

/** Resolves once `inst` passed its checks; throws a deployFailed error saying why it did not. */
export async function passHealthGate(
  p: Platform,
  inst: RunningInstance,
  spec: ReleaseSpec,
  host: string,
  progress: Progress,
): Promise<void> {
  const label = `${inst.process}.${inst.instance}`;
  const stillRunning = async () => (await inspectInstance(p.docker, inst.id))?.state === "running";
  if (inst.process !== "web") {
    // No HTTP check for workers: they only have to stay up through a short grace period.
    await new Promise((r) => setTimeout(r, 2000));
    if (!(await stillRunning())) throw new Hop3Error(`${label} exited right after starting`, "deployFailed");
    return;
  }
  // published port, or the app gateway's socket for this instance (which the gateway opens now)
  const target: HealthTarget | undefined = inst.hostPort
    ? { port: inst.hostPort }
    : p.gateway && inst.ip
      ? { socketPath: await p.gateway.reach(inst) }
      : undefined;
  if (!target)
    throw new Hop3Error(`${label} has no published port and no address on its network`, "deployFailed");
  const hc = spec.healthcheck;
  const what = hc
    ? `GET ${hc.path}${hc.contains ? ` containing ${JSON.stringify(hc.contains)}` : ""}${hc.more?.length ? ` and ${hc.more.length} more` : ""}`
    : `an HTTP answer on port ${spec.webPort}`;
  progress.log(`Waiting for ${label} to pass its check (${what})`);
  if (hc?.wait) await new Promise((r) => setTimeout(r, hc.wait! * 1000));
  const checks = hc ? [{ path: hc.path, contains: hc.contains }, ...(hc.more ?? [])] : [undefined];
  for (const c of checks) {
    const result = await waitHealthy(
      target,
      {
        ...(c?.path ? { path: c.path } : {}),
        ...(c?.contains ? { contains: c.contains } : {}),
        timeout: hc?.timeout ?? spec.startTimeout,
        interval: hc?.interval ?? DEFAULT_HEALTH_INTERVAL,
        ...(hc?.retries ? { retries: hc.retries } : {}),
        hostHeader: host,
      },
      stillRunning,
    );
    if (!result.ok) throw new Hop3Error(`health check failed for ${label}: ${result.reason}`, "deployFailed");
  }
  progress.log(`${label} is healthy`);
}
