/**
 * Thin adapter for the app gateway (gateway-config.ts says what it is and why): builds its image, keeps its
 * container running and joined to every app network, writes its configuration and has nginx reload it.
 *
 * Reloads are graceful (nginx keeps the listening sockets and lets old workers finish their connections),
 * and each one is awaited: the configuration of generation N also listens on gen/N.sock, so once that socket
 * exists nginx runs N. A configuration nginx refuses never replaces the running one (nginx keeps the old
 * workers); the wait then fails with nginx's own message.
 */
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import type { RunningInstance } from "../runtime/containers.js";
import { ensureNetwork, statusOf, tailLogs } from "../runtime/containers.js";
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

/**
 * What Podman 4.3 answers about a container whose network state it lost: connects and disconnects that
 * overlap leave it with more network records than networks, and every later inspect, connect or disconnect
 * of that container fails so. Seen when two deploys and a destroy changed the gateway's networks at once.
 */
const LOST_NETWORK_STATE = /network inspection mismatch/;

const SPEC_LABEL = "io.hop3.spec";

export interface AppGatewayOptions {
  docker: Docker;
  /** Host directory of the hop3 user's: config/ (nginx.conf) and sockets/ (mounted into the router too). */
  stateDir: string;
  baseImage: string;
  imagesDir: string;
  containerName?: string;
  runner?: RouterRunner;
  log?: (line: string) => void;
}

/** Web instances reached through the gateway carry their address on their app network (containers.ts). */
export type ReachableInstance = Pick<RunningInstance, "name" | "app"> & { ip?: string; networkPort?: number };

export class AppGateway {
  readonly containerName: string;
  readonly runner: RouterRunner;
  private readonly log: (line: string) => void;
  private generation = Date.now();
  /** Instances known to the gateway, routed or not (the health gate checks them through their socket). */
  private readonly instances = new Map<string, GatewayInstance>();
  private apps: Record<string, { ip: string; port: number }[]> = {};
  /** One configuration change at a time: each waits for its own generation. */
  private readonly reloads = new Serial();
  /** One network join or leave at a time: overlapping ones corrupt Podman 4.3's state (LOST_NETWORK_STATE). */
  private readonly membership = new Serial();

  constructor(private readonly opts: AppGatewayOptions) {
    this.containerName = opts.containerName ?? DEFAULT_GATEWAY_CONTAINER;
    this.runner = opts.runner ?? new PodmanRouterRunner(opts.docker);
    this.log = opts.log ?? (() => {});
  }

  /** Host directory of the sockets (the router mounts it at GATEWAY_SOCKET_DIR). */
  get socketDir(): string {
    return join(this.opts.stateDir, "sockets");
  }

  private get configPath(): string {
    return join(this.opts.stateDir, "config", "nginx.conf");
  }

  private get image(): string {
    return `${GATEWAY_IMAGE_REPO}:1-${contextDigest(join(this.opts.imagesDir, "gateway"))}`;
  }

  /** Host path of an instance's socket. */
  instanceSocketPath(container: string): string {
    return join(this.socketDir, instanceSocket(container));
  }

  /**
   * What the gateway container is started from, labelled with a digest of itself: a gateway started from an
   * older spec (another sysctl, mount or network) is replaced even where the image did not change.
   */
  spec(): RouterContainerSpec {
    const spec: RouterContainerSpec = {
      name: this.containerName,
      image: this.image,
      description: "Hop3 app gateway (nginx)",
      role: "gateway",
      network: GATEWAY_NETWORK,
      joinNetworksLabelled: LABEL.app,
      // it forwards connections, never packets: no app can use it as a router into another app's network
      sysctls: { "net.ipv4.ip_forward": "0" },
      env: {},
      extraHosts: {},
      binds: [
        { host: join(this.opts.stateDir, "config"), container: "/etc/hop3-gateway", readOnly: true },
        { host: this.socketDir, container: GATEWAY_SOCKET_DIR },
      ],
    };
    const digest = createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 12);
    return { ...spec, labels: { [SPEC_LABEL]: digest } };
  }

  /** Starts the gateway unless it runs, current; joins it to every app network either way. */
  async ensureRunning(): Promise<void> {
    ensureSubdir(this.opts.stateDir, "config");
    ensureSubdir(this.opts.stateDir, "sockets", 0o700);
    const wanted = await this.ensureImage();
    const info = await inspectContainer(this.opts.docker, this.containerName);
    const spec = this.spec();
    const current =
      info?.State.Running &&
      normalizeId(info.Image) === wanted &&
      info.Config.Labels?.[SPEC_LABEL] === spec.labels?.[SPEC_LABEL] &&
      this.runner.isCurrent(spec);
    if (!current) {
      await ensureNetwork(this.opts.docker, GATEWAY_NETWORK, { [LABEL.managed]: "true" }, { internal: true });
      // the last table (or an empty one) is what a new container starts with; apply() brings it up to date
      this.write();
      if (info) this.log(`gateway: replacing container ${this.containerName} (${info.State.Status})`);
      await this.runner.start(spec);
    }
    await this.joinAppNetworks();
    await this.reload();
  }

  /**
   * Makes `inst` reachable through its own socket and answers the socket's host path. The instance's app
   * network is joined first: a new app's network is created when its first instance starts.
   */
  async reach(inst: ReachableInstance): Promise<string> {
    const known = gatewayInstance(inst);
    if (!known) throw new Hop3Error(`${inst.name} has no address on its app network`, "deployFailed");
    await this.join(appNetworkName(inst.app));
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
    for (const app of Object.keys(this.apps)) await this.join(appNetworkName(app));
    await this.reload();
  }

  /** Leaves an app's network (before it is removed: Podman refuses to remove a network still in use). */
  leave(app: string): Promise<void> {
    return this.membership.run(() => this.healing(() => this.leaveNow(appNetworkName(app))));
  }

  async status(): Promise<RouterStatus> {
    const info = await inspectContainer(this.opts.docker, this.containerName);
    if (!info) return { running: false, detail: "no gateway container" };
    const networks = Object.keys(info.NetworkSettings.Networks ?? {}).filter(
      (n) => n !== GATEWAY_NETWORK,
    ).length;
    return {
      running: info.State.Running,
      container: this.containerName,
      detail: `${info.State.Running ? `on ${networks} app network(s)` : `container ${info.State.Status}`}${supervisedBy(this.runner, this.containerName)}`,
    };
  }

  async stop(): Promise<void> {
    await this.runner.remove(this.containerName);
  }

  /**
   * Removes a gateway left from when the gateway was on (its container, and its unit under systemd, which
   * would start it again); answers whether a container was there.
   */
  async retire(): Promise<boolean> {
    const had = !!(await inspectContainer(this.opts.docker, this.containerName));
    await this.stop();
    return had;
  }

  private joinAppNetworks(): Promise<void> {
    return this.membership.run(() => this.healing(() => this.joinAppNetworksNow()));
  }

  private join(network: string): Promise<void> {
    return this.membership.run(() => this.healing(() => this.joinNow(network)));
  }

  /**
   * Runs a network change; if Podman lost the gateway's network state (LOST_NETWORK_STATE), replaces the
   * gateway container (it keeps no state of its own: configuration and sockets are on the host), joins it
   * to every app network again and retries once. Apps are unreachable for the second or so that takes,
   * instead of every later deploy and destroy failing.
   */
  private async healing<T>(change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } catch (err) {
      if (!LOST_NETWORK_STATE.test((err as Error).message ?? "")) throw err;
      this.log(
        `gateway: Podman lost ${this.containerName}'s network state, replacing it: ${(err as Error).message}`,
      );
      await this.runner.remove(this.containerName);
      this.write();
      await this.runner.start(this.spec());
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
      await this.opts.docker.getNetwork(network).disconnect({ Container: this.containerName, Force: true });
    } catch (err) {
      const s = statusOf(err);
      if (LOST_NETWORK_STATE.test((err as Error).message ?? "")) throw err;
      if (s !== 404 && s !== 500) throw err; // 500: Podman 4.3's "not connected"
    }
  }

  private async joinNow(network: string): Promise<void> {
    const info = await inspectContainer(this.opts.docker, this.containerName);
    if (!info) throw new Hop3Error(`the app gateway (${this.containerName}) is not running`);
    if (info.NetworkSettings.Networks?.[network]) return;
    try {
      await this.opts.docker.getNetwork(network).connect({ Container: this.containerName });
    } catch (err) {
      // joined meanwhile by another deploy (or by the unit's ExecStartPost)
      const again = await inspectContainer(this.opts.docker, this.containerName);
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
  private reload(): Promise<void> {
    return this.reloads.run(async () => {
      const generation = this.write();
      await this.opts.docker.getContainer(this.containerName).kill({ signal: "HUP" });
      await this.waitFor(join(this.socketDir, generationSocket(generation)));
    });
  }

  private async waitFor(socket: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (isSocket(socket)) return;
      await sleep(20);
    }
    const logs = (await tailLogs(this.opts.docker, this.containerName, 10).catch(() => [])).join("\n");
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

/** What the gateway forwards to for an instance: its fixed address and port; none without them. */
function gatewayInstance(i: ReachableInstance): GatewayInstance | undefined {
  return i.ip && i.networkPort ? { name: i.name, app: i.app, ip: i.ip, port: i.networkPort } : undefined;
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}
