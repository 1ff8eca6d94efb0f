/**
 * What a release needs to run, beyond its image: derived once at deploy time from the AppSpec and the
 * image, stored on the release, and reused by config changes, restarts and rollbacks.
 */

import type { TomlEnv } from "../app/env.js";
import type { AddonSpec, VolumeSpec } from "../app/hop3toml.js";
import type { CronJob } from "../app/procfile.js";
import type { AppSpec, HealthcheckConfig } from "../app/spec.js";
import type { AppLimits } from "../runtime/limits.js";
import { Hop3Error } from "../util/errors.js";

export interface ReleaseSpec {
  /** Long-running process types; `null` runs the image's own CMD. */
  processes: Record<string, string | null>;
  /** Port the web process listens on inside its container; absent for apps with no web process. */
  webPort?: number;
  healthcheck?: HealthcheckConfig;
  /** Seconds a new instance has to become healthy. */
  startTimeout: number;
  /** `release:` command, run once per deploy before traffic moves. */
  releaseCommand?: string;
  /** Procfile `preflight:` checks: run before the release phase; a failure stops the deploy early. */
  preflight?: string[];
  /**
   * Procfile `cron*` jobs, run on schedule in one-off containers. Absent when there are none (and on
   * releases recorded before cron support): readers treat absent as empty.
   */
  cron?: CronJob[];
  /** A digest of the build arguments the image was built with (to notice when they change). */
  buildArgsDigest?: string;
  /** `[run].before-run` / Procfile `prerun:`: run before each process command, in its container. */
  prerun?: string[];
  /**
   * The image's ENTRYPOINT + CMD, recorded when a process runs the image's own command (`null`) and there are
   * `prerun` hooks: the hooks then run first and `exec` it (deploy/plan.ts imageCommandWithPrerun).
   */
  imageCommand?: string[];
  domains: string[];
  envDefaults: Record<string, string>;
  tomlEnv?: TomlEnv;
  /** hop3.toml `[[volumes]]`, mounted into every container of the release (deploy/volumes.ts). */
  volumes?: VolumeSpec[];
  /** hop3.toml `[limits]`: over the platform's defaults for every container of the release (runtime/limits.ts). */
  limits?: AppLimits;
  /** `[run] release-timeout`, seconds (the server's HOP3_RELEASE_TIMEOUT bounds it). */
  releaseTimeout?: number;
  /** hop3.toml `[[addons]]`: created and attached at the first deploy that declares them (src/addons). */
  addons?: AddonSpec[];
}

export const DEFAULT_WEB_PORT = 5000;
export const DEFAULT_START_TIMEOUT = 60;

export interface ImageFacts {
  exposedPorts: number[];
  hasCmd: boolean;
  /** ENTRYPOINT followed by CMD, as the container runtime would run them. */
  command?: string[];
  /** Set for images exported by the buildpacks lifecycle: the process types its launch.toml declared. */
  buildpacks?: { processes: string[]; defaultProcess?: string };
}

/** How a release runs a buildpack process type: the launcher's per-type entry point (src/build/cnb). */
export const buildpackProcessCommand = (type: string) => `/cnb/process/${type}`;

/** The spec of a release built from a source tree with a Containerfile. */
export function releaseSpecFromApp(spec: AppSpec, image: ImageFacts, configPort?: string): ReleaseSpec {
  if (image.buildpacks) return releaseSpecFromBuildpacks(spec, image, image.buildpacks, configPort);
  if (spec.wsgi) {
    throw new Hop3Error(
      `the Procfile declares a ${spec.wsgi.kind} process, which needs a platform-provided server`,
      "deployFailed",
      "WSGI apps are built by the Python buildpack; with a Containerfile, declare `web:` with your own server",
    );
  }
  const processes: Record<string, string | null> = { ...spec.processes };
  // Dokku's rule for Containerfile apps: the image's CMD is the web process unless the Procfile says otherwise.
  if (!("web" in processes) && image.hasCmd) processes.web = null;
  if (Object.keys(processes).length === 0) {
    throw new Hop3Error(
      "nothing to run: no Procfile processes, no [run].start and no CMD in the image",
      "deployFailed",
      "add a `web:` line to the Procfile or a CMD to the Containerfile",
    );
  }
  return specFromProcesses(spec, processes, image, configPort);
}

/**
 * A buildpack image: its declared process types run through the launcher (/cnb/process/TYPE), and the
 * Procfile and hop3.toml override them type by type. Without a `web` type, the default process serves.
 */
function releaseSpecFromBuildpacks(
  spec: AppSpec,
  image: ImageFacts,
  declared: NonNullable<ImageFacts["buildpacks"]>,
  configPort?: string,
): ReleaseSpec {
  const processes: Record<string, string | null> = {};
  for (const type of declared.processes) processes[type] = buildpackProcessCommand(type);
  if (!("web" in processes) && declared.defaultProcess && !("web" in spec.processes)) {
    processes.web = buildpackProcessCommand(declared.defaultProcess);
    delete processes[declared.defaultProcess];
  }
  Object.assign(processes, spec.processes);
  if (spec.wsgi && !("web" in processes)) {
    throw new Hop3Error(
      `the Procfile declares a ${spec.wsgi.kind} process, but no buildpack provided a server for it`,
      "deployFailed",
      "declare `web:` with your own server command",
    );
  }
  if (Object.keys(processes).length === 0) {
    throw new Hop3Error(
      "nothing to run: the buildpacks declared no process and there is no Procfile or [run].start",
      "deployFailed",
      "add a `web:` line to the Procfile",
    );
  }
  return specFromProcesses(spec, processes, image, configPort);
}

/** What a source-tree release runs, once its process types are known (Containerfile or buildpacks alike). */
function specFromProcesses(
  spec: AppSpec,
  processes: Record<string, string | null>,
  image: ImageFacts,
  configPort?: string,
): ReleaseSpec {
  const prerun = spec.hooks.prerun ?? [];
  const runsImageCommand = Object.values(processes).some((c) => c === null);
  return {
    processes,
    ...(prerun.length > 0 && runsImageCommand && image.command?.length
      ? { imageCommand: image.command }
      : {}),
    ...("web" in processes ? { webPort: pickWebPort(spec.port ?? spec.docker.port, configPort, image) } : {}),
    ...(spec.healthcheck ? { healthcheck: spec.healthcheck } : {}),
    startTimeout: spec.run.startTimeout ?? DEFAULT_START_TIMEOUT,
    ...(spec.release ? { releaseCommand: spec.release } : {}),
    ...(spec.hooks.preflight?.length ? { preflight: spec.hooks.preflight } : {}),
    ...(spec.cron.length > 0 ? { cron: spec.cron } : {}),
    ...(spec.hooks.prerun?.length ? { prerun: spec.hooks.prerun } : {}),
    domains: spec.domains,
    envDefaults: spec.envDefaults,
    tomlEnv: spec.tomlEnv,
    ...(spec.volumes.length > 0 ? { volumes: spec.volumes } : {}),
    ...(Object.keys(spec.limits).length > 0 ? { limits: spec.limits } : {}),
    ...(spec.run.releaseTimeout !== undefined ? { releaseTimeout: spec.run.releaseTimeout } : {}),
    ...(spec.addons.length > 0 ? { addons: spec.addons } : {}),
  };
}

/** The spec of a prebuilt image: its CMD is the web process. */
export function releaseSpecFromImage(image: ImageFacts, configPort?: string): ReleaseSpec {
  if (!image.hasCmd) {
    throw new Hop3Error("the image has no CMD or ENTRYPOINT: nothing to run", "deployFailed");
  }
  return {
    processes: { web: null },
    webPort: pickWebPort(undefined, configPort, image),
    startTimeout: DEFAULT_START_TIMEOUT,
    domains: [],
    envDefaults: {},
  };
}

/** hop3.toml wins, then a PORT config var, then the image's first EXPOSEd TCP port, then 5000. */
export function pickWebPort(
  declared: number | undefined,
  configPort: string | undefined,
  image: ImageFacts,
): number {
  if (declared) return declared;
  const fromConfig = Number(configPort);
  if (configPort && Number.isInteger(fromConfig) && fromConfig > 0 && fromConfig < 65536) return fromConfig;
  return image.exposedPorts[0] ?? DEFAULT_WEB_PORT;
}

export function imageFacts(info: {
  Config?: {
    ExposedPorts?: Record<string, unknown>;
    Cmd?: string[] | null;
    Entrypoint?: string[] | string | null;
    Labels?: Record<string, string> | null;
  };
}): ImageFacts {
  const exposedPorts = Object.keys(info.Config?.ExposedPorts ?? {})
    .filter((p) => p.endsWith("/tcp") || !p.includes("/"))
    .map((p) => Number.parseInt(p, 10))
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => a - b);
  const cmd = info.Config?.Cmd;
  const ep = info.Config?.Entrypoint;
  const hasCmd = (Array.isArray(cmd) && cmd.length > 0) || (Array.isArray(ep) ? ep.length > 0 : !!ep);
  const command = [...(Array.isArray(ep) ? ep : ep ? [ep] : []), ...(Array.isArray(cmd) ? cmd : [])];
  const buildpacks = buildpackFacts(info.Config?.Labels ?? undefined);
  return {
    exposedPorts,
    hasCmd,
    ...(command.length > 0 ? { command } : {}),
    ...(buildpacks ? { buildpacks } : {}),
  };
}

/** Reads io.buildpacks.build.metadata (and Hop3's default-process label) of a buildpack image. */
function buildpackFacts(labels: Record<string, string> | undefined): ImageFacts["buildpacks"] {
  const raw = labels?.["io.buildpacks.build.metadata"];
  if (!raw) return undefined;
  try {
    const meta = JSON.parse(raw) as { processes?: { type?: unknown }[] };
    const processes = (meta.processes ?? [])
      .map((p) => p.type)
      .filter((t): t is string => typeof t === "string" && /^[A-Za-z0-9_.-]+$/.test(t));
    const def = labels["io.hop3.cnb.default-process"];
    return { processes, ...(def && processes.includes(def) ? { defaultProcess: def } : {}) };
  } catch {
    return undefined;
  }
}
