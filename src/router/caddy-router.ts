import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import { writeFileAtomic } from "../util/atomic-file.js";
import { Hop3Error } from "../util/errors.js";
import { caddyAdmin, isConnectionError } from "./caddy-admin.js";
import { renderCaddyConfig } from "./caddy-config.js";
import {
  contextDigest,
  ensurePlatformImage,
  ensureSubdir,
  inspectContainer,
  normalizeId,
  sleep,
} from "./container-ops.js";
import { CURRENT_GATEWAY, GATEWAY_SOCKET_DIR } from "./gateway-config.js";
import {
  PodmanRouterRunner,
  type RouterContainerSpec,
  type RouterRunner,
  supervisedBy,
  waitForRouter,
} from "./router-runner.js";
import type { AppRoute, Router, RouterSettings, RouterStatus } from "./routes.js";
import {
  appsLosingUpstreams,
  LOOPBACK_NAME,
  renderUpstreamZone,
  UPSTREAM_REFRESH_MS,
  UPSTREAM_ZONE,
  UPSTREAM_ZONE_FILE,
  upstreamDnsAddress,
} from "./upstream-dns.js";

export const CADDY_IMAGE_REPO = "localhost/hop3/caddy";

/** The image tag for the current images/caddy directory: a change there means a new image, built once. */
export function caddyImageTag(imagesDir: string): string {
  return `${CADDY_IMAGE_REPO}:2-${contextDigest(join(imagesDir, "caddy"))}`;
}
export const DEFAULT_ROUTER_CONTAINER = "hop3-router";

// Paths inside the container (images/caddy/Containerfile).
const IN_CONFIG_DIR = "/etc/hop3-router";
const IN_DATA_DIR = "/data";
const IN_RUN_DIR = "/run/hop3-router";
const CONFIG_FILE = "caddy.json";
const ROUTES_FILE = "routes.json";
const ADMIN_SOCKET = "admin.sock";
const ACME_ROOTS_FILE = "acme-ca-roots.pem";

export interface CaddyRouterOptions {
  docker: Docker;
  /** Host directory owned by the user whose Podman runs the router; holds config/, data/ and run/. */
  stateDir: string;
  settings: RouterSettings;
  /** Image the router image is built FROM (localhost/hop3/base:bookworm). */
  baseImage: string;
  /** The repository's images/ directory (holds caddy/Containerfile). */
  imagesDir: string;
  /** Tests use their own name so they never touch a real hop3-router. */
  containerName?: string;
  image?: string;
  /** How long to wait for the admin API after a start. */
  startTimeoutMs?: number;
  /** What keeps the container alive: Podman's restart policy (default) or a quadlet under systemd. */
  runner?: RouterRunner;
  log?: (line: string) => void;
  /** Host directory of the app gateway's sockets, when apps are reached through it (app-gateway.ts). */
  gatewaySocketDir?: string;
}

/**
 * Caddy in a rootless container on the host network. Configuration changes go through the admin API's
 * /load (graceful: Caddy keeps serving in-flight requests while it switches), never through a restart.
 */
export class CaddyRouter implements Router {
  readonly kind = "caddy" as const;
  readonly containerName: string;
  private imageTag?: string;
  private readonly log: (line: string) => void;
  /** The responder's address (host network, so the same inside and outside the container). */
  readonly upstreamDns: string;
  readonly runner: RouterRunner;

  constructor(private readonly opts: CaddyRouterOptions) {
    this.containerName = opts.containerName ?? DEFAULT_ROUTER_CONTAINER;
    this.imageTag = opts.image;
    this.log = opts.log ?? (() => {});
    this.upstreamDns = upstreamDnsAddress(this.containerName);
    this.runner = opts.runner ?? new PodmanRouterRunner(opts.docker);
  }

  /** Computed on first use: constructing a router must not need the images directory. */
  private get image(): string {
    this.imageTag ??= caddyImageTag(this.opts.imagesDir);
    return this.imageTag;
  }

  private get dnsMode(): boolean {
    return this.opts.settings.upstreams === "dns";
  }

  /** Host path of the admin socket (the directory is mounted into the container). */
  get adminSocket(): string {
    return join(this.opts.stateDir, "run", ADMIN_SOCKET);
  }

  private get configDir(): string {
    return join(this.opts.stateDir, "config");
  }

  async ensureRunning(): Promise<void> {
    const config = this.writeConfig(this.readRoutes());
    const wantedImage = await this.ensureImage();
    const info = await inspectContainer(this.opts.docker, this.containerName);
    const spec = this.containerSpec();
    const current =
      info?.State.Running &&
      normalizeId(info.Image) === wantedImage &&
      (info.Config.Env ?? []).includes(`HOP3_UPSTREAM_DNS=${this.upstreamDns}`) &&
      sameGatewayMount(info.Config.Env ?? [], this.opts.gatewaySocketDir) &&
      this.runner.isCurrent(spec);
    if (current && (await this.adminAnswers(5_000))) {
      // Healthy and current: reload (a no-op when unchanged), never restart — apps must not blink.
      await this.load(config);
      return;
    }
    if (info) this.log(`router: replacing container ${this.containerName} (${info.State.Status})`);
    await this.startContainer(spec);
  }

  async apply(routes: AppRoute[]): Promise<void> {
    const before = this.readRoutes();
    const config = this.writeConfig(routes);
    writeFileAtomic(join(this.configDir, ROUTES_FILE), `${JSON.stringify(routes, null, 2)}\n`);
    try {
      await this.load(config);
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      this.log("router: admin API down; starting the router");
      await this.ensureRunning();
    }
    // Caddy sees new records at its next lookup, up to a refresh interval from now: until then it may still
    // send requests to upstreams that just left the table, so the deployer must not stop them yet.
    if (this.dnsMode && appsLosingUpstreams(before, routes).length > 0) {
      await sleep(UPSTREAM_REFRESH_MS + 500);
    }
  }

  async status(): Promise<RouterStatus> {
    const info = await inspectContainer(this.opts.docker, this.containerName);
    if (!info) return { running: false, detail: "no router container" };
    const running = info.State.Running && (await this.adminAnswers(2_000));
    return {
      running,
      container: this.containerName,
      detail: `${running ? "caddy admin API answers" : `container ${info.State.Status}`}${supervisedBy(this.runner, this.containerName)}`,
    };
  }

  async stop(): Promise<void> {
    await this.runner.remove(this.containerName);
  }

  private readRoutes(): AppRoute[] {
    const file = join(this.configDir, ROUTES_FILE);
    if (!existsSync(file)) return [];
    return JSON.parse(readFileSync(file, "utf8")) as AppRoute[];
  }

  /**
   * Writes upstreams.zone (which the responder reloads as soon as it is renamed into place), then caddy.json
   * (what a restarted container loads); returns the configuration's JSON text. Records first: a
   * configuration naming a new app must never reach Caddy before that app's records exist.
   */
  private writeConfig(routes: AppRoute[]): string {
    ensureSubdir(this.opts.stateDir, "config");
    ensureSubdir(this.opts.stateDir, "data", 0o700);
    ensureSubdir(this.opts.stateDir, "run", 0o700);
    writeFileAtomic(join(this.configDir, UPSTREAM_ZONE_FILE), renderUpstreamZone(routes));
    rmSync(join(this.configDir, "upstreams.json"), { force: true }); // read by the former responder only
    const rootFile = this.opts.settings.acmeCaRootFile;
    if (rootFile) writeFileAtomic(join(this.configDir, ACME_ROOTS_FILE), readFileSync(rootFile, "utf8"));
    const config = renderCaddyConfig(routes, this.opts.settings, {
      adminSocket: `${IN_RUN_DIR}/${ADMIN_SOCKET}`,
      storageDir: IN_DATA_DIR,
      ...(rootFile ? { acmeTrustedRootsFile: `${IN_CONFIG_DIR}/${ACME_ROOTS_FILE}` } : {}),
      ...(this.dnsMode ? { upstreamDns: this.upstreamDns } : {}),
      // through the link to the serving gateway's sockets: resolved at each dial, so a new gateway takes over
      // without a configuration change here
      ...(this.opts.gatewaySocketDir ? { gatewaySocketDir: `${GATEWAY_SOCKET_DIR}/${CURRENT_GATEWAY}` } : {}),
    });
    const text = `${JSON.stringify(config, null, 2)}\n`;
    writeFileAtomic(join(this.configDir, CONFIG_FILE), text);
    return text;
  }

  /**
   * Loads a configuration unless Caddy already runs it: every load resets a few client connections, so a
   * deploy (dns mode) or a hop3-server restart must not cause one.
   */
  private async load(config: string): Promise<void> {
    // Asked each time rather than remembered: Podman may have restarted the container meanwhile.
    const live = await caddyAdmin(this.adminSocket, "GET", "/config/", undefined, 10_000);
    if (live.status === 200 && sameJson(live.body, config)) return;
    const res = await caddyAdmin(this.adminSocket, "POST", "/load", config);
    if (res.status !== 200) {
      throw new Hop3Error(
        `the router refused its new configuration (HTTP ${res.status}): ${res.body.trim()}`,
      );
    }
  }

  private async adminAnswers(timeoutMs: number): Promise<boolean> {
    try {
      return (await caddyAdmin(this.adminSocket, "GET", "/config/", undefined, timeoutMs)).status === 200;
    } catch {
      return false;
    }
  }

  private ensureImage(): Promise<string> {
    return ensurePlatformImage(this.opts.docker, {
      what: "router",
      tag: this.image,
      contextDir: join(this.opts.imagesDir, "caddy"),
      baseImage: this.opts.baseImage,
      log: this.log,
    });
  }

  /** The router's container (host network: it binds 80/443 and reaches every app's loopback port). */
  containerSpec(): RouterContainerSpec {
    const { stateDir } = this.opts;
    return {
      name: this.containerName,
      image: this.image,
      description: "Hop3 router (Caddy)",
      // The responder runs in every mode (it is cheap), so switching modes never needs a new container.
      // HOP3_APP_GATEWAY names the mount below, so that a change of it is seen and replaces the container
      env: {
        HOP3_UPSTREAM_DNS: this.upstreamDns,
        HOP3_UPSTREAM_ZONE: UPSTREAM_ZONE,
        ...(this.opts.gatewaySocketDir ? { HOP3_APP_GATEWAY: this.opts.gatewaySocketDir } : {}),
      },
      // The SRV records' target (see upstream-dns.ts): resolved from /etc/hosts, never by a DNS query.
      extraHosts: { [LOOPBACK_NAME]: "127.0.0.1" },
      binds: [
        { host: join(stateDir, "config"), container: IN_CONFIG_DIR, readOnly: true },
        { host: join(stateDir, "data"), container: IN_DATA_DIR },
        { host: join(stateDir, "run"), container: IN_RUN_DIR },
        ...(this.opts.gatewaySocketDir
          ? [{ host: this.opts.gatewaySocketDir, container: GATEWAY_SOCKET_DIR }]
          : []),
      ],
    };
  }

  private async startContainer(spec: RouterContainerSpec): Promise<void> {
    // A socket left by a previous container would make Caddy's listen fail.
    rmSync(this.adminSocket, { force: true });
    await this.runner.start(spec);
    const timeoutMs = this.opts.startTimeoutMs ?? 30_000;
    await waitForRouter(this.opts.docker, this.containerName, () => this.adminAnswers(2_000), {
      timeoutMs,
      what: "the router's admin API did not answer",
    });
    this.log(`router: ${this.containerName} is up (${this.runner.kind})`);
  }
}

/** Whether a running router's environment says it has the gateway's socket directory mounted as wanted. */
function sameGatewayMount(env: string[], dir: string | undefined): boolean {
  const had = env.find((e) => e.startsWith("HOP3_APP_GATEWAY="))?.slice("HOP3_APP_GATEWAY=".length);
  return had === dir;
}

/** Whether two JSON texts hold the same value; Caddy hands its configuration back with its own key order. */
export function sameJson(a: string, b: string): boolean {
  try {
    return canonicalJson(JSON.parse(a)) === canonicalJson(JSON.parse(b));
  } catch {
    return false;
  }
}

/** JSON with object keys sorted. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
