/**
 * Thin adapter for the app gateway (gateway-config.ts says what it is and why): builds its image, keeps its
 * container running on every app network, writes its configuration and has nginx reload it.
 *
 * How the gateway gets onto a new app network depends on the Podman underneath (`GatewayMembership`):
 * - `connect` (quadlet supervisor, Podman >= 4.4 on systemd hosts): one container, `hop3-gateway`, joined to
 *   each new network with `podman network connect` and left with `disconnect`; its unit joins every app
 *   network again after each start.
 * - `recreate` (Podman supervisor, i.e. Podman 4.3 on Debian 12): Podman 4.3 corrupts a container's network
 *   state when connects and disconnects meet other network work ("network inspection mismatch"; every later
 *   inspect, connect and listing then fails). So the gateway is never connected or disconnected there: a
 *   change of the set of app networks starts a new gateway container created on all of them at once
 *   (`hop3-gateway-<id>`), waits until it serves, then points the `current` link of the socket directory at
 *   its sockets and stops the previous one gracefully. The router dials `current/a/APP.sock`, resolved at
 *   each connection, so routes switch without a lost connection. A roll happens on an app's first deploy
 *   and on its destroy only; with 50 apps it costs about 2.5 s to start and 10 s (in the background) to
 *   tear the old one's networks down.
 *
 * Each container has its own socket directory (sockets/<container>), so two gateways never share a socket.
 * Reloads are graceful (nginx keeps the listening sockets and lets old workers finish their connections),
 * and each one is awaited: the configuration of generation N also listens on gen/N.sock, so once that socket
 * exists nginx runs N. A configuration nginx refuses never replaces the running one (nginx keeps the old
 * workers); the wait then fails with nginx's own message.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import type { RunningInstance } from "../runtime/containers.js";
import { ensureNetwork, removeContainer, statusOf, tailLogs } from "../runtime/containers.js";
import { appNetworkName, LABEL } from "../runtime/labels.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import { Hop3Error } from "../util/errors.js";
import { Serial } from "../util/serial.js";
import {
  contextDigest,
  ensurePlatformImage,
  ensureSubdir,
  inspectContainer,
  normalizeId,
  sleep,
} from "./container-ops.js";
import {
  CURRENT_GATEWAY,
  GATEWAY_SOCKET_DIR,
  type GatewayInstance,
  generationSocket,
  instanceSocket,
  renderGatewayConfig,
} from "./gateway-config.js";
import {
  PodmanRouterRunner,
  type RouterContainerSpec,
  type RouterRunner,
  supervisedBy,
} from "./router-runner.js";
import type { AppRoute, RouterStatus } from "./routes.js";

export const GATEWAY_IMAGE_REPO = "localhost/hop3/gateway";
export const DEFAULT_GATEWAY_CONTAINER = "hop3-gateway";
/** The gateway's own network (it must start on one to be joined to others); no app is ever on it. */
export const GATEWAY_NETWORK = "hop3-gateway";

/** How the gateway gets onto new app networks (see the top of this file). */
export type GatewayMembership = "connect" | "recreate";

/**
 * What Podman 4.3 answers about a container whose network state it lost: connects and disconnects that
 * overlap leave it with more network records than networks, and every later inspect, connect or disconnect
 * of that container fails so. Seen when two deploys and a destroy changed the gateway's networks at once.
 */
const LOST_NETWORK_STATE = /network inspection mismatch/;

const SPEC_LABEL = "io.hop3.spec";
const ROLE = "gateway";
/** Seconds a replaced gateway has to finish its connections (SIGQUIT, the image's STOPSIGNAL) before a kill. */
const RETIRE_GRACE_S = 5;

export interface AppGatewayOptions {
  docker: Docker;
  /** Host directory of the hop3 user's: config/ (nginx.conf) and sockets/ (mounted into the router too). */
  stateDir: string;
  baseImage: string;
  imagesDir: string;
  containerName?: string;
  runner?: RouterRunner;
  /** `connect` under the quadlet runner, `recreate` under the Podman runner unless said. */
  membership?: GatewayMembership;
  log?: (line: string) => void;
}

/** Web instances reached through the gateway carry their address on their app network (containers.ts). */
export type ReachableInstance = Pick<RunningInstance, "name" | "app"> & { ip?: string; networkPort?: number };

export class AppGateway {
  /** The gateway's name, and the prefix of its containers' names under `recreate`. */
  readonly baseName: string;
  readonly runner: RouterRunner;
  readonly membership: GatewayMembership;
  private readonly log: (line: string) => void;
  private generation = Date.now();
  /** Instances known to the gateway, routed or not (the health gate checks them through their socket). */
  private readonly instances = new Map<string, GatewayInstance>();
  private apps: Record<string, { ip: string; port: number }[]> = {};
  /** One configuration change at a time: each waits for its own generation. */
  private readonly reloads = new Serial();
  /** One network change (join, leave, roll) at a time: overlapping ones corrupt Podman 4.3's state. */
  private readonly changes = new Serial();
  /** The container serving now (the `current` link's target under `recreate`). */
  private live: string | undefined;
  /** `recreate`: the app networks the live container is on. */
  private networks = new Set<string>();
  /** `recreate`: networks of apps being destroyed, left out of every later roll until an app joins again. */
  private readonly leaving = new Set<string>();
  /** `recreate`: a gateway being started by a roll (not yet live; never retired meanwhile). */
  private starting: string | undefined;
  /** `recreate`: the removal of replaced gateways, in the background (a destroy waits for it). */
  private retiring: Promise<void> = Promise.resolve();
  private imageId: string | undefined;

  constructor(private readonly opts: AppGatewayOptions) {
    this.baseName = opts.containerName ?? DEFAULT_GATEWAY_CONTAINER;
    this.runner = opts.runner ?? new PodmanRouterRunner(opts.docker);
    this.membership = opts.membership ?? (this.runner.kind === "quadlet" ? "connect" : "recreate");
    this.log = opts.log ?? (() => {});
    this.live = this.membership === "connect" ? this.baseName : linkTarget(this.currentLink);
  }

  /** The container serving now (for status lines and tests). */
  get containerName(): string {
    return this.live ?? this.baseName;
  }

  /** Host directory of the socket directories (the router mounts it at GATEWAY_SOCKET_DIR). */
  get socketDir(): string {
    return join(this.opts.stateDir, "sockets");
  }

  private get currentLink(): string {
    return join(this.socketDir, CURRENT_GATEWAY);
  }

  private dirOf(container: string): string {
    return join(this.socketDir, container);
  }

  private get configPath(): string {
    return join(this.opts.stateDir, "config", "nginx.conf");
  }

  private get image(): string {
    return `${GATEWAY_IMAGE_REPO}:1-${contextDigest(join(this.opts.imagesDir, "gateway"))}`;
  }

  /** Host path of an instance's socket, through the `current` link (whichever container serves). */
  instanceSocketPath(container: string): string {
    return join(this.currentLink, instanceSocket(container));
  }

  /**
   * What a gateway container is started from, labelled with a digest of what all its generations share: a
   * gateway started from an older spec (another sysctl, mount or socket layout) is replaced even where the
   * image did not change. `networks`: the app networks it is created on (`recreate`).
   */
  spec(name: string, networks: string[] = []): RouterContainerSpec {
    const parts = this.sharedSpec();
    return {
      ...parts.shared,
      name,
      binds: [parts.config, { host: this.dirOf(name), container: GATEWAY_SOCKET_DIR }],
      ...(networks.length > 0 ? { networks } : {}),
      labels: { [SPEC_LABEL]: specDigestOf(parts) },
    };
  }

  /** The io.hop3.spec label of a gateway started now. */
  private get specDigest(): string {
    return specDigestOf(this.sharedSpec());
  }

  private sharedSpec() {
    const shared = {
      image: this.image,
      description: "Hop3 app gateway (nginx)",
      role: ROLE,
      network: GATEWAY_NETWORK,
      ...(this.membership === "connect" ? { joinNetworksLabelled: LABEL.app } : {}),
      // it forwards connections, never packets: no app can use it as a router into another app's network
      sysctls: { "net.ipv4.ip_forward": "0" },
      env: {},
      extraHosts: {},
    };
    const config = {
      host: join(this.opts.stateDir, "config"),
      container: "/etc/hop3-gateway",
      readOnly: true,
    };
    return { shared, config };
  }

  /** A gateway container as whyReplace() compares it; none when there is no such container. */
  private async stateOf(name: string): Promise<GatewayState | undefined> {
    const info = await inspectContainer(this.opts.docker, name);
    return (
      info && {
        status: info.State.Status,
        image: normalizeId(info.Image),
        spec: info.Config.Labels?.[SPEC_LABEL],
        networks: Object.keys(info.NetworkSettings.Networks ?? {}),
      }
    );
  }

  /** Starts the gateway unless it runs, current; puts it on every app network either way. */
  async ensureRunning(): Promise<void> {
    ensureSubdir(this.opts.stateDir, "config");
    ensureSubdir(this.opts.stateDir, "sockets", 0o700);
    this.imageId = await this.ensureImage();
    await ensureNetwork(this.opts.docker, GATEWAY_NETWORK, { [LABEL.managed]: "true" }, { internal: true });
    if (this.membership === "recreate") {
      await this.changes.run(() => this.converge());
      // gateways a crash left behind (a roll cut short, or the `connect` gateway of an earlier setup)
      this.retireOthers();
    } else {
      const live = await this.stateOf(this.baseName);
      // its networks are joined below, whatever it was started on
      const why =
        whyReplace(live, { image: this.imageId, spec: this.specDigest }) ??
        (this.runner.isCurrent(this.spec(this.baseName)) ? undefined : "another unit");
      if (why) {
        if (live) this.log(`gateway: replacing container ${this.baseName} (${why})`);
        await this.startConnected();
      }
      pointCurrentAt(this.socketDir, this.baseName);
      // gateways of an earlier `recreate` setup, and the socket directories of older layouts
      this.retireOthers();
      await this.joinAppNetworks();
    }
    await this.reload();
  }

  /**
   * Makes `inst` reachable through its own socket and answers the socket's host path. The instance's app
   * network is joined first: a new app's network is created when its first instance starts.
   */
  async reach(inst: ReachableInstance): Promise<string> {
    const known = gatewayInstance(inst);
    if (!known) throw new Hop3Error(`${inst.name} has no address on its app network`, "deployFailed");
    await this.enter(appNetworkName(inst.app));
    this.instances.set(inst.name, known);
    await this.reload();
    return this.instanceSocketPath(inst.name);
  }

  /**
   * Points each app's socket at its routed instances (the route table's upstreams, which are instance
   * addresses on the app networks) and forgets instances that no longer run.
   */
  async apply(routes: AppRoute[], running: ReachableInstance[]): Promise<void> {
    this.apps = Object.fromEntries(
      routes.map((r) => [r.app, r.upstreams.map((u) => ({ ip: u.host, port: u.port }))]),
    );
    this.instances.clear();
    for (const i of running) {
      const known = gatewayInstance(i);
      if (known) this.instances.set(i.name, known);
    }
    const nets = Object.keys(this.apps).map(appNetworkName);
    if (this.membership === "recreate") {
      // an app being destroyed may still be routed for a moment: its network stays out
      if (nets.some((n) => !this.networks.has(n) && !this.leaving.has(n)))
        await this.changes.run(() => this.converge());
    } else for (const n of nets) await this.join(n);
    await this.reload();
  }

  /** Leaves an app's network (before it is removed: Podman refuses to remove a network still in use). */
  async leave(app: string): Promise<void> {
    const network = appNetworkName(app);
    if (this.membership === "connect") {
      await this.changes.run(() => this.healing(() => this.leaveNow(network)));
      return;
    }
    await this.changes.run(async () => {
      this.leaving.add(network);
      if (this.networks.has(network)) await this.converge();
    });
    await this.retiring;
  }

  async status(): Promise<RouterStatus> {
    const info = this.live ? await inspectContainer(this.opts.docker, this.live) : undefined;
    if (!info) return { running: false, detail: "no gateway container" };
    const networks = Object.keys(info.NetworkSettings.Networks ?? {}).filter(
      (n) => n !== GATEWAY_NETWORK,
    ).length;
    const container = info.Name.replace(/^\//, "");
    return {
      running: info.State.Running,
      container,
      detail: `${info.State.Running ? `on ${networks} app network(s)` : `container ${info.State.Status}`}${supervisedBy(this.runner, container)}`,
    };
  }

  async stop(): Promise<void> {
    await this.runner.remove(this.baseName);
    for (const name of await this.gatewayContainers()) await removeContainer(this.opts.docker, name);
  }

  /**
   * Removes a gateway left from when the gateway was on (its containers, and its unit under systemd, which
   * would start it again); answers whether a container was there.
   */
  async retire(): Promise<boolean> {
    const had = (await this.gatewayContainers()).length > 0;
    await this.stop();
    return had;
  }

  /** Puts the gateway on `network` (joined, or in the next roll) and forgets that it was leaving. */
  private enter(network: string): Promise<void> {
    if (this.membership === "connect") return this.join(network);
    return this.changes.run(async () => {
      this.leaving.delete(network);
      if (!this.networks.has(network) || !this.live) await this.converge();
    });
  }

  /**
   * `recreate`: if the live gateway is not running, current and on exactly the app networks that exist (but
   * those of apps being destroyed), starts one that is and retires the others. Runs inside `changes`.
   */
  private async converge(): Promise<void> {
    const listed = await this.opts.docker.listNetworks({ filters: { label: [LABEL.app] } });
    const wanted = listed.map((n) => n.Name).filter((n) => !this.leaving.has(n));
    const live = this.live ? await this.stateOf(this.live) : undefined;
    const why = whyReplace(live, { image: this.imageId, spec: this.specDigest, networks: wanted });
    if (!why) {
      this.networks = new Set(wanted);
      return;
    }
    await this.roll(wanted.sort(), why);
  }

  /**
   * Starts a new gateway on `networks`, switches the router to it once it serves, retires the old one. The
   * start is one of the configuration changes (`reloads`): no reload of the old gateway can slip between
   * the new one reading its configuration and taking over.
   */
  private async roll(networks: string[], was: string): Promise<void> {
    const name = `${this.baseName}-${Date.now().toString(36)}`;
    const t0 = Date.now();
    this.starting = name;
    try {
      await this.reloads.run(async () => {
        mkdirSync(this.dirOf(name), { recursive: true, mode: 0o700 });
        const generation = this.write();
        await this.runner.start(this.spec(name, networks));
        await this.waitFor(join(this.dirOf(name), generationSocket(generation)), name);
        pointCurrentAt(this.socketDir, name);
        this.live = name;
        this.networks = new Set(networks);
      });
    } finally {
      // on failure, the gateway that served keeps serving and the half-started one goes
      this.starting = undefined;
      this.retireOthers();
    }
    this.log(
      `gateway: ${name} serves on ${networks.length} app network(s) (${Date.now() - t0} ms; was: ${was})`,
    );
  }

  /**
   * Stops (gracefully: SIGQUIT lets nginx finish its connections) and removes every gateway container but
   * the live one and one being started, with their socket directories, in the background (tearing down a
   * container on 50 networks takes Podman 4.3 about 10 s); `leave` waits for it.
   */
  private retireOthers(): void {
    const keep = () => new Set([CURRENT_GATEWAY, this.live, this.starting]);
    this.retiring = this.retiring
      .then(async () => {
        for (const name of await this.gatewayContainers()) {
          if (keep().has(name)) continue;
          // a `connect` gateway under systemd has a unit that would start it again
          if (name === this.baseName) await this.runner.remove(name);
          await removeContainer(this.opts.docker, name, RETIRE_GRACE_S);
        }
        for (const entry of readdirSync(this.socketDir)) {
          // not the link a roll is about to rename over `current` either
          if (keep().has(entry) || entry.startsWith(`${CURRENT_GATEWAY}.tmp-`)) continue;
          rmSync(this.dirOf(entry), { recursive: true, force: true });
        }
      })
      .catch((err) => this.log(`gateway: removing a replaced gateway failed: ${(err as Error).message}`));
  }

  /** Every container of the gateway's (by its role label), running or not. */
  private async gatewayContainers(): Promise<string[]> {
    const list = await this.opts.docker.listContainers({
      all: true,
      filters: { label: [`io.hop3.role=${ROLE}`] },
    });
    return list
      .flatMap((c) => c.Names.map((n) => n.replace(/^\//, "")))
      .filter((n) => n === this.baseName || n.startsWith(`${this.baseName}-`));
  }

  /** `connect`: (re)starts the one gateway container; apply() then brings its table up to date. */
  private async startConnected(): Promise<void> {
    ensureSubdir(this.socketDir, this.baseName, 0o700);
    this.write();
    await this.runner.start(this.spec(this.baseName));
  }

  private joinAppNetworks(): Promise<void> {
    return this.changes.run(() => this.healing(() => this.joinAppNetworksNow()));
  }

  private join(network: string): Promise<void> {
    return this.changes.run(() => this.healing(() => this.joinNow(network)));
  }

  /**
   * `connect`: runs a network change; if Podman lost the gateway's network state (LOST_NETWORK_STATE),
   * replaces the gateway container (it keeps no state of its own: configuration and sockets are on the
   * host), joins it to every app network again and retries once.
   */
  private async healing<T>(change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } catch (err) {
      if (!LOST_NETWORK_STATE.test((err as Error).message ?? "")) throw err;
      this.log(
        `gateway: Podman lost ${this.baseName}'s network state, replacing it: ${(err as Error).message}`,
      );
      await this.runner.remove(this.baseName);
      await this.startConnected();
      await this.joinAppNetworksNow();
      await this.reload();
      return await change();
    }
  }

  private async joinAppNetworksNow(): Promise<void> {
    const nets = await this.opts.docker.listNetworks({ filters: { label: [LABEL.app] } });
    for (const n of nets) await this.joinNow(n.Name);
  }

  private async leaveNow(network: string): Promise<void> {
    try {
      await this.opts.docker.getNetwork(network).disconnect({ Container: this.baseName, Force: true });
    } catch (err) {
      const s = statusOf(err);
      if (LOST_NETWORK_STATE.test((err as Error).message ?? "")) throw err;
      if (s !== 404 && s !== 500) throw err; // 500: Podman 4.3's "not connected"
    }
  }

  private async joinNow(network: string): Promise<void> {
    const info = await inspectContainer(this.opts.docker, this.baseName);
    if (!info) throw new Hop3Error(`the app gateway (${this.baseName}) is not running`);
    if (info.NetworkSettings.Networks?.[network]) return;
    try {
      await this.opts.docker.getNetwork(network).connect({ Container: this.baseName });
    } catch (err) {
      // joined meanwhile by another deploy (or by the unit's ExecStartPost)
      const again = await inspectContainer(this.opts.docker, this.baseName);
      if (!again?.NetworkSettings.Networks?.[network]) throw err;
    }
  }

  private write(): number {
    const generation = ++this.generation;
    writeFileAtomic(
      this.configPath,
      renderGatewayConfig({ generation, instances: [...this.instances.values()], apps: this.apps }),
    );
    return generation;
  }

  /** Writes the configuration and waits until nginx serves it. Serialised: generations only go up. */
  private async reload(): Promise<void> {
    try {
      await this.reloads.run(() => this.signalReload());
    } catch (err) {
      // `recreate`: a gateway that is gone or stopped (removed by hand, or between restarts by its restart
      // policy) is replaced by a running one, which starts from the whole table, rather than failing deploys
      if (this.membership !== "recreate") throw err;
      this.log(`gateway: ${this.containerName} did not reload (${(err as Error).message}); replacing it`);
      await this.changes.run(() => this.converge());
      await this.reloads.run(() => this.signalReload());
    }
  }

  private async signalReload(): Promise<void> {
    const live = this.containerName;
    const generation = this.write();
    await this.opts.docker.getContainer(live).kill({ signal: "HUP" });
    await this.waitFor(join(this.dirOf(live), generationSocket(generation)), live);
  }

  private async waitFor(socket: string, container: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (isSocket(socket)) return;
      await sleep(20);
    }
    const logs = (await tailLogs(this.opts.docker, container, 10).catch(() => [])).join("\n");
    throw new Hop3Error(
      `the app gateway did not load its new configuration within ${timeoutMs / 1000}s:\n${logs}`,
    );
  }

  private ensureImage(): Promise<string> {
    return ensurePlatformImage(this.opts.docker, {
      what: "gateway",
      tag: this.image,
      contextDir: join(this.opts.imagesDir, "gateway"),
      baseImage: this.opts.baseImage,
      log: this.log,
    });
  }
}

/** A gateway container as converge() sees it. */
export interface GatewayState {
  status: string;
  image: string;
  /** Its io.hop3.spec label. */
  spec: string | undefined;
  /** Every network it is on, its own included. */
  networks: string[];
}

/** The digest of what every gateway container shares (its name and socket directory aside): its spec label. */
function specDigestOf(parts: { shared: object; config: object }): string {
  return createHash("sha256")
    .update(JSON.stringify({ ...parts.shared, config: parts.config, sockets: "per-container" }))
    .digest("hex")
    .slice(0, 12);
}

/**
 * Why the live gateway must be replaced by a new one, or undefined when it serves as wanted: running, from
 * the wanted image and spec and, when `want.networks` is given (`recreate`), on exactly those app networks
 * (its own network aside).
 */
export function whyReplace(
  live: GatewayState | undefined,
  want: { image: string | undefined; spec: string | undefined; networks?: string[] },
): string | undefined {
  if (!live) return "none";
  if (live.status !== "running") return live.status;
  if (live.image !== want.image) return "another image";
  if (live.spec !== want.spec) return "another spec";
  // `connect`: networks are joined after the start, so they are no reason
  if (!want.networks) return undefined;
  const on = new Set(live.networks.filter((n) => n !== GATEWAY_NETWORK));
  const wanted = new Set(want.networks);
  const missing = [...wanted].filter((n) => !on.has(n)).length;
  const extra = [...on].filter((n) => !wanted.has(n)).length;
  if (missing || extra) return `on ${on.size} app network(s), ${missing} missing, ${extra} to leave`;
  return undefined;
}

/** What the gateway forwards to for an instance: its fixed address and port; none without them. */
function gatewayInstance(i: ReachableInstance): GatewayInstance | undefined {
  return i.ip && i.networkPort ? { name: i.name, app: i.app, ip: i.ip, port: i.networkPort } : undefined;
}

/**
 * Points sockets/current at a container's socket directory, atomically (a new link renamed over the old):
 * the router dials through it, so a connection goes to the old gateway or the new one, never to nothing.
 */
function pointCurrentAt(socketDir: string, container: string): void {
  const link = join(socketDir, CURRENT_GATEWAY);
  if (linkTarget(link) === container) return;
  const tmp = `${link}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(container, tmp); // relative: the same in the router's mount
  renameSync(tmp, link);
}

function linkTarget(link: string): string | undefined {
  try {
    return readlinkSync(link);
  } catch {
    return undefined;
  }
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}
