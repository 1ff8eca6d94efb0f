/**
 * The pure heart of a deploy: from an app's release, scale and environment to the exact containers that
 * must run. The supervisor only executes what this returns.
 */
import { appNetworkName, containerName, LABEL } from "../runtime/labels.js";
import type { ResourceLimits } from "../runtime/limits.js";
import type { MountPlan } from "./volumes.js";

export interface ReleasePlanInput {
  app: string;
  release: number;
  image: string;
  /** Long-running process types -> command; `undefined` means "the image's own CMD" (web only). */
  processes: Record<string, string | undefined>;
  scale: Record<string, number>;
  env: Record<string, string>;
  /** The port the web process listens on inside its container. */
  webPort: number;
  hostNames: string[];
  publicUrl?: string;
  /** Commands run before each process command (hop3.toml `[run].before-run`, Procfile `prerun:`). */
  prerun?: string[];
  /** The image's ENTRYPOINT + CMD: with prerun hooks, what a process that runs the image's command execs. */
  imageCommand?: string[];
  /** Distinguishes container sets of the same release (a restart starts a new set beside the old). */
  generation: string;
  /** hop3.toml `[[volumes]]`, planned (deploy/volumes.ts): every instance gets them. */
  mounts?: MountPlan[];
  /** `[limits]` over the platform's defaults (runtime/limits.ts): every instance gets them. */
  limits?: ResourceLimits;
  /** Containers the app needs up first (its addons' servers): every instance starts after them. */
  startsAfter?: string[];
  /**
   * How the router reaches web processes: `ports` publishes the web port on 127.0.0.1; `gateway` publishes
   * nothing, the app gateway forwards to the instance's fixed address on its network (router/gateway-config.ts).
   */
  reach?: "ports" | "gateway";
}

export interface ContainerPlan {
  name: string;
  app: string;
  release: number;
  process: string;
  instance: number;
  image: string;
  /** `undefined`: keep the image's CMD. Procfile commands are the app author's shell lines, run by sh. */
  cmd?: string[];
  /** Replaces the image's ENTRYPOINT (only to run prerun hooks before the image's own command). */
  entrypoint?: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  network: string;
  /** Container port published on 127.0.0.1 (web only, `reach = "ports"`). */
  publishPort?: number;
  /** Container port the app gateway forwards to, on a fixed address of the app network (web, `gateway`). */
  networkPort?: number;
  mounts?: MountPlan[];
  limits?: ResourceLimits;
  /**
   * Containers to start first, by name (the app's addons): systemd orders the units by it at boot. The
   * Podman supervisor needs nothing: the server reconciles addons before apps (server/main.ts).
   */
  startsAfter?: string[];
}

/** Default instances per type when the app has no explicit scale: one web, one of each worker. */
export function effectiveScale(processes: Record<string, unknown>, scale: Record<string, number>) {
  const out: Record<string, number> = {};
  for (const type of Object.keys(processes).sort()) out[type] = scale[type] ?? 1;
  return out;
}

export function planRelease(input: ReleasePlanInput): ContainerPlan[] {
  const plans: ContainerPlan[] = [];
  const scale = effectiveScale(input.processes, input.scale);
  for (const [type, count] of Object.entries(scale)) {
    const command = input.processes[type];
    for (let i = 1; i <= count; i++) {
      const env: Record<string, string> = {
        ...input.env,
        APP: input.app,
        PROC_TYPE: type,
        DYNO: `${type}.${i}`,
        BIND_ADDRESS: "0.0.0.0",
        HOST_NAME: input.hostNames.join(","),
        ...(input.publicUrl ? { HOP3_PUBLIC_URL: input.publicUrl } : {}),
      };
      if (type === "web") env.PORT = String(input.webPort);
      plans.push({
        name: containerName(input.app, type, input.release, i, input.generation),
        app: input.app,
        release: input.release,
        process: type,
        instance: i,
        image: input.image,
        ...(command !== undefined
          ? { cmd: processCommand(command, input.prerun) }
          : imageCommandWithPrerun(input.imageCommand, input.prerun)),
        env,
        labels: {
          [LABEL.managed]: "true",
          [LABEL.app]: input.app,
          [LABEL.release]: String(input.release),
          [LABEL.process]: type,
          [LABEL.instance]: String(i),
          ...(type === "web" ? { [LABEL.port]: String(input.webPort) } : {}),
        },
        network: appNetworkName(input.app),
        ...(type === "web"
          ? input.reach === "gateway"
            ? { networkPort: input.webPort }
            : { publishPort: input.webPort }
          : {}),
        ...(input.mounts?.length ? { mounts: input.mounts } : {}),
        ...(input.limits && Object.keys(input.limits).length ? { limits: input.limits } : {}),
        ...(input.startsAfter?.length ? { startsAfter: [...input.startsAfter].sort() } : {}),
      });
    }
  }
  return plans;
}

/**
 * The container command for a Procfile line. With prerun hooks, they run first (any failure stops the
 * process from starting) and the process then replaces the shell, so signals reach it.
 */
/** The hooks, then `exec "$@"`: the process replaces the shell, so signals reach it. */
const PRERUN_THEN_EXEC = (prerun: string[]) => `set -e\n${prerun.join("\n")}\nexec "$@"`;

/**
 * A process that runs the image's own command, with prerun hooks: the entry point becomes /bin/sh, which runs
 * the hooks and then execs ENTRYPOINT + CMD as they were, word for word (they are arguments, never parsed by a
 * shell). Without hooks, or without the image's command recorded (releases from before it was), the image
 * runs unchanged.
 */
export function imageCommandWithPrerun(
  imageCommand: string[] | undefined,
  prerun: string[] = [],
): { entrypoint?: string[]; cmd?: string[] } {
  if (prerun.length === 0 || !imageCommand?.length) return {};
  return { entrypoint: ["/bin/sh"], cmd: ["-c", PRERUN_THEN_EXEC(prerun), "prerun", ...imageCommand] };
}

export function processCommand(command: string, prerun: string[] = []): string[] {
  if (prerun.length === 0) return ["/bin/sh", "-c", command];
  return ["/bin/sh", "-c", `set -e\n${prerun.join("\n")}\nexec /bin/sh -c "$1"`, "prerun", command];
}
