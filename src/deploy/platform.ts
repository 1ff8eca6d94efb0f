/** Everything a deploy touches, wired once by the server and passed to the pipeline. */
import type Docker from "dockerode";
import type { AddonSpec } from "../app/hop3toml.js";
import type { Builder } from "../build/builder.js";
import type { Router } from "../router/routes.js";
import type { LimitDefaults } from "../runtime/limits.js";
import type { Supervisor } from "../runtime/supervisor.js";
import type { Store } from "../store/store.js";
import type { StepTimings } from "./timings.js";

export interface PlatformSettings {
  /** Hop3's data directory (HOP3_ROOT). */
  root: string;
  /** Apps answer at APP.BASE_DOMAIN. */
  baseDomain: string;
  httpPort: number;
  httpsPort: number;
  tls: "off" | "auto";
  /** Seconds the old release keeps its connections after the router switched away from it. */
  drainSeconds: number;
  /** How many releases keep their image (for rollback); older ones are pruned. */
  retention: number;
  /** The image builds start FROM; the deploy-path check runs on it too. */
  baseImage: string;
  /** Default resource limits (HOP3_APP_*, HOP3_BUILD_*): hop3.toml [limits] overrides the app's. */
  limits?: LimitDefaults;
  /** HOP3_BUILD_TIMEOUT, HOP3_RELEASE_TIMEOUT, HOP3_PODMAN_TIMEOUT. */
  timeouts?: { buildSeconds: number; releaseSeconds: number; podmanSeconds: number };
}

export interface Platform {
  store: Store;
  docker: Docker;
  router: Router;
  supervisor: Supervisor;
  settings: PlatformSettings;
  /** Builders in the order they are tried for `builder = "auto"`: Containerfile, then buildpacks. */
  builders: Builder[];
  log: (msg: string) => void;
  /** Backing services (src/addons/service.ts): hop3.toml [[addons]] at deploy time; leaving a destroyed app. */
  addons?: {
    provision(app: string, declared: readonly AddonSpec[], progress: Progress): Promise<void>;
    /** The images `provision` will need, readied while the app builds (never creates an addon). */
    prepareImages?(app: string, declared: readonly AddonSpec[], progress: Progress): Promise<void>;
    releaseApp(app: string): Promise<void>;
  };
  /**
   * Schedules that live outside the server (systemd timers on the quadlet path: cron jobs, scheduled backups),
   * brought in line with the store wherever routes are re-applied: after every deploy, rollback, stop, start
   * and destroy, and at the server's start.
   */
  schedules?: { sync(): Promise<void> };
  /**
   * The app gateway (router/app-gateway.ts), when web processes publish no port: the health gate reaches a
   * new instance through it before the router does; a destroyed app's network is left before it goes.
   */
  gateway?: {
    reach(inst: { name: string; app: string; ip?: string; networkPort?: number }): Promise<string>;
    leave(app: string): Promise<void>;
  };
  /**
   * Supply-chain records of a release (src/sbom/release-sbom.ts): queued once its deploy switched traffic to
   * it, never awaited, never failing the deploy; removed with the release's image or the app.
   */
  sbom?: { record(app: string, release: number): void };
}

/** A deploy's progress, as the API streams it (docs/api.md). */
export interface Progress {
  step(message: string): void;
  log(line: string): void;
  /** The deploy's step durations (timings.ts), when the caller records them. */
  timings?: StepTimings;
}

export const silentProgress: Progress = { step: () => {}, log: () => {} };
