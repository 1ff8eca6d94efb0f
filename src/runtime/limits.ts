/**
 * Resource limits of containers (hop3.toml `[limits]`, platform defaults HOP3_APP_* / HOP3_BUILD_*): one
 * pure function resolves them, and each runtime writes them its own way (Podman API HostConfig, quadlet keys,
 * build options). Where the host cannot enforce them (rootless Podman on cgroup v1: Podman ignores them) they
 * are still asked for, never an error, and `hop doctor` says they are not enforced.
 */
import { Hop3Error } from "../util/errors.js";

export interface ResourceLimits {
  /** Bytes of memory (swap included: memory-swap is set to the same value). */
  memoryBytes?: number;
  /** CPUs, e.g. 0.5 or 2. */
  cpus?: number;
  /** Processes and threads in the container. */
  pids?: number;
}

/** hop3.toml's `[limits]` as the AppSpec carries it. */
export interface AppLimits {
  memory?: string | number;
  cpu?: number;
  processes?: number;
}

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * "512M", "2G", "1.5GiB", "256mb", or a number of bytes. Binary units (as Podman's --memory reads them);
 * Podman refuses a memory limit under 6 MiB, so does this.
 */
export function parseSize(value: string | number, what = "memory"): number {
  let bytes: number;
  if (typeof value === "number") bytes = value;
  else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(value);
    if (!m)
      throw new Hop3Error(
        `${what}: expected a size like "512M" or "2G", got ${JSON.stringify(value)}`,
        "usage",
      );
    bytes = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  }
  bytes = Math.floor(bytes);
  if (!Number.isSafeInteger(bytes) || bytes < MIN_MEMORY) {
    throw new Hop3Error(`${what}: ${JSON.stringify(value)} is below the minimum of 6 MiB`, "usage");
  }
  return bytes;
}

export const MIN_MEMORY = 6 * 1024 * 1024;

/** The limits a container gets: the app's own where it sets them, the platform's defaults otherwise. */
export function effectiveLimits(app: AppLimits | undefined, defaults: ResourceLimits): ResourceLimits {
  const out: ResourceLimits = { ...defaults };
  if (app?.memory !== undefined) out.memoryBytes = parseSize(app.memory, "[limits] memory");
  if (app?.cpu !== undefined) out.cpus = app.cpu;
  if (app?.processes !== undefined) out.pids = app.processes;
  return clean(out);
}

/** Drops zero/absent values: 0 means "no limit" in the settings. */
function clean(l: ResourceLimits): ResourceLimits {
  return {
    ...(l.memoryBytes ? { memoryBytes: l.memoryBytes } : {}),
    ...(l.cpus ? { cpus: l.cpus } : {}),
    ...(l.pids ? { pids: l.pids } : {}),
  };
}

/** Docker-compatible HostConfig fields (createContainer). */
export function hostConfigLimits(l: ResourceLimits | undefined): {
  Memory?: number;
  MemorySwap?: number;
  NanoCpus?: number;
  PidsLimit?: number;
} {
  if (!l) return {};
  return {
    ...(l.memoryBytes ? { Memory: l.memoryBytes, MemorySwap: l.memoryBytes } : {}),
    ...(l.cpus ? { NanoCpus: Math.round(l.cpus * 1e9) } : {}),
    ...(l.pids ? { PidsLimit: l.pids } : {}),
  };
}

/** `podman run` options for the same limits (quadlet PodmanArgs= on versions without the key). */
export function podmanLimitArgs(l: ResourceLimits | undefined): string[] {
  if (!l) return [];
  return [
    ...(l.memoryBytes ? [`--memory=${l.memoryBytes}b`, `--memory-swap=${l.memoryBytes}b`] : []),
    ...(l.cpus ? [`--cpus=${l.cpus}`] : []),
    ...(l.pids ? [`--pids-limit=${l.pids}`] : []),
  ];
}

/** Build options of the Docker-compatible build API (the pids limit has no build option). */
export function buildLimitOptions(l: ResourceLimits | undefined): {
  memory?: number;
  memswap?: number;
  cpuperiod?: number;
  cpuquota?: number;
} {
  if (!l) return {};
  return {
    ...(l.memoryBytes ? { memory: l.memoryBytes, memswap: l.memoryBytes } : {}),
    ...(l.cpus ? { cpuperiod: 100_000, cpuquota: Math.round(l.cpus * 100_000) } : {}),
  };
}

export const describeLimits = (l: ResourceLimits | undefined): string => {
  const parts = [
    l?.memoryBytes ? `memory ${Math.round(l.memoryBytes / 1024 / 1024)} MiB` : "",
    l?.cpus ? `${l.cpus} CPU` : "",
    l?.pids ? `${l.pids} processes` : "",
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : "no limits";
};

/** What this host enforces, from Podman's own report (GET /libpod/info). */
export interface LimitsEnforcement {
  memory: boolean;
  cpu: boolean;
  pids: boolean;
  /** Why not, for `hop doctor`. */
  reason?: string;
}

export function enforcementOf(info: {
  cgroupVersion?: string;
  cgroupControllers?: string[] | null;
  rootless?: boolean;
}): LimitsEnforcement {
  const v = String(info.cgroupVersion ?? "").replace(/^v/, "");
  if (v === "1") {
    if (info.rootless) {
      return {
        memory: false,
        cpu: false,
        pids: false,
        reason: "rootless Podman on cgroup v1 ignores resource limits (boot with cgroup v2 to enforce them)",
      };
    }
    return { memory: true, cpu: true, pids: true };
  }
  const c = new Set(info.cgroupControllers ?? []);
  const out = { memory: c.has("memory"), cpu: c.has("cpu"), pids: c.has("pids") };
  const missing = Object.entries(out)
    .filter(([, ok]) => !ok)
    .map(([k]) => k);
  return missing.length
    ? {
        ...out,
        reason: `the cgroup controllers ${missing.join(", ")} are not delegated to the hop3 user (systemd Delegate=)`,
      }
    : out;
}

/**
 * Only the limits this host enforces. Asking for one it cannot enforce is not harmless: runc fails the container
 * ("cannot set memory limit", or a pids limit where the pids controller is not delegated to the user), and
 * Podman 4.3's builder fails every RUN step. Unknown enforcement: no limit is asked for.
 */
export function enforceable(l: ResourceLimits, e: LimitsEnforcement | undefined): ResourceLimits {
  if (!e) return {};
  return {
    ...(e.memory && l.memoryBytes ? { memoryBytes: l.memoryBytes } : {}),
    ...(e.cpu && l.cpus ? { cpus: l.cpus } : {}),
    ...(e.pids && l.pids ? { pids: l.pids } : {}),
  };
}

/** The platform's defaults, as PlatformSettings carries them (settings HOP3_APP_* and HOP3_BUILD_*). */
export interface LimitDefaults {
  app?: ResourceLimits;
  build?: ResourceLimits;
  /** What this host enforces (detectEnforcement, once at server start); limits it cannot are never asked for. */
  enforced?: LimitsEnforcement;
}

/** The limits of every container of a release (process instances, release phase, `hop run`, cron). */
export const releaseLimits = (
  spec: { limits?: AppLimits } | undefined,
  defaults: LimitDefaults | undefined,
): ResourceLimits => enforceable(effectiveLimits(spec?.limits, defaults?.app ?? {}), defaults?.enforced);

/** The limits of a build's containers (Containerfile RUN steps, buildpack phases). */
export const buildLimits = (defaults: LimitDefaults | undefined): ResourceLimits =>
  enforceable(defaults?.build ?? {}, defaults?.enforced);

/** Adapter: asks Podman (libpod's own info: the compat one claims every limit works) what it can enforce. */
export async function detectEnforcement(docker: {
  modem: { dial(opts: object, cb: (err: unknown, data: unknown) => void): void };
}): Promise<LimitsEnforcement> {
  const info = await new Promise<{
    host?: { cgroupVersion?: string; cgroupControllers?: string[]; security?: { rootless?: boolean } };
  }>((resolve, reject) =>
    docker.modem.dial(
      { path: "/v4.0.0/libpod/info", method: "GET", statusCodes: { 200: true }, options: {} },
      (err, data) => (err ? reject(err) : resolve(data as never)),
    ),
  );
  return enforcementOf({
    ...(info.host?.cgroupVersion ? { cgroupVersion: info.host.cgroupVersion } : {}),
    cgroupControllers: info.host?.cgroupControllers ?? [],
    rootless: info.host?.security?.rootless === true,
  });
}
