import { existsSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import type Docker from "dockerode";
import { writeFileAtomic } from "../util/atomic-file.js";
import { Hop3Error } from "../util/errors.js";
import { ensureSubdir, followStream, imageId, inspectContainer, normalizeId } from "./container-ops.js";
import {
  PodmanRouterRunner,
  type RouterContainerSpec,
  type RouterRunner,
  supervisedBy,
  waitForRouter,
} from "./router-runner.js";
import type { AppRoute, Router, RouterSettings, RouterStatus } from "./routes.js";
import { renderTraefikDynamic, renderTraefikStatic } from "./traefik-config.js";

export const TRAEFIK_IMAGE = "docker.io/library/traefik:v3.3";

// Paths inside the container.
// Separate mounts: files are replaced by rename, which a single-file bind mount would not see.
const IN_STATIC_DIR = "/etc/hop3-router";
const IN_DYNAMIC_DIR = "/etc/hop3-router-dynamic";
const IN_DATA_DIR = "/data";
const STATIC_FILE = "traefik.yml";
const DYNAMIC_FILE = "routes.yml";
const ACME_ROOTS_FILE = "acme-ca-roots.pem";

export interface TraefikRouterOptions {
  docker: Docker;
  /** Host directory owned by the user whose Podman runs the router; holds static/, dynamic/ and data/. */
  stateDir: string;
  settings: RouterSettings;
  containerName?: string;
  image?: string;
  /** Loopback address of Traefik's /ping entry point (must not clash with app ports). */
  pingAddress?: string;
  startTimeoutMs?: number;
  /** What keeps the container alive: Podman's restart policy (default) or a quadlet under systemd. */
  runner?: RouterRunner;
  log?: (line: string) => void;
}

/**
 * Traefik in a rootless container on the host network. Its file provider watches dynamic/, so applying
 * routes is an atomic file replacement: Traefik swaps the configuration without dropping connections.
 */
export class TraefikRouter implements Router {
  readonly kind = "traefik" as const;
  readonly containerName: string;
  private readonly image: string;
  private readonly pingAddress: string;
  private readonly log: (line: string) => void;
  readonly runner: RouterRunner;

  constructor(private readonly opts: TraefikRouterOptions) {
    this.containerName = opts.containerName ?? "hop3-router";
    this.image = opts.image ?? TRAEFIK_IMAGE;
    this.pingAddress = opts.pingAddress ?? "127.0.0.1:8082";
    this.log = opts.log ?? (() => {});
    this.runner = opts.runner ?? new PodmanRouterRunner(opts.docker);
  }

  async ensureRunning(): Promise<void> {
    const staticChanged = this.writeStatic();
    const wantedImage = await this.ensureImage();
    const info = await inspectContainer(this.opts.docker, this.containerName);
    const spec = this.containerSpec();
    const current =
      info?.State.Running && normalizeId(info.Image) === wantedImage && this.runner.isCurrent(spec);
    // Entry points and resolvers are static in Traefik: only a changed static file justifies a restart.
    if (current && !staticChanged && (await this.pingAnswers(5_000))) return;
    if (info) this.log(`router: replacing container ${this.containerName} (${info.State.Status})`);
    await this.runner.start(spec);
    await waitForRouter(this.opts.docker, this.containerName, () => this.pingAnswers(2_000), {
      timeoutMs: this.opts.startTimeoutMs ?? 30_000,
      what: `Traefik did not answer /ping on ${this.pingAddress}`,
    });
  }

  async apply(routes: AppRoute[]): Promise<void> {
    const dynamicDir = ensureSubdir(this.opts.stateDir, "dynamic");
    writeFileAtomic(join(dynamicDir, DYNAMIC_FILE), renderTraefikDynamic(routes, this.opts.settings));
    if (!(await this.pingAnswers(2_000))) await this.ensureRunning();
  }

  async status(): Promise<RouterStatus> {
    const info = await inspectContainer(this.opts.docker, this.containerName);
    if (!info) return { running: false, detail: "no router container" };
    const running = info.State.Running && (await this.pingAnswers(2_000));
    return {
      running,
      container: this.containerName,
      detail: `${running ? "traefik answers /ping" : `container ${info.State.Status}`}${supervisedBy(this.runner, this.containerName)}`,
    };
  }

  async stop(): Promise<void> {
    await this.runner.remove(this.containerName);
  }

  /** Writes traefik.yml; returns whether its content changed. */
  private writeStatic(): boolean {
    const staticDir = ensureSubdir(this.opts.stateDir, "static");
    ensureSubdir(this.opts.stateDir, "dynamic");
    ensureSubdir(this.opts.stateDir, "data", 0o700);
    const rootFile = this.opts.settings.acmeCaRootFile;
    if (rootFile) writeFileAtomic(join(staticDir, ACME_ROOTS_FILE), readFileSync(rootFile, "utf8"));
    const text = renderTraefikStatic(
      this.opts.settings,
      { dynamicDir: IN_DYNAMIC_DIR, acmeStorage: `${IN_DATA_DIR}/acme.json` },
      {
        pingAddress: this.pingAddress,
        ...(rootFile ? { acmeCaCertificates: [`${IN_STATIC_DIR}/${ACME_ROOTS_FILE}`] } : {}),
      },
    );
    const file = join(staticDir, STATIC_FILE);
    const before = existsSync(file) ? readFileSync(file, "utf8") : undefined;
    if (before === text) return false;
    writeFileAtomic(file, text);
    return before !== undefined;
  }

  private async ensureImage(): Promise<string> {
    const { docker } = this.opts;
    const existing = await imageId(docker, this.image);
    if (existing) return existing;
    this.log(`router: pulling ${this.image}`);
    try {
      await followStream(docker, await docker.pull(this.image), (line) => this.log(`router pull: ${line}`));
    } catch (err) {
      throw new Hop3Error(
        `the Traefik router needs the image ${this.image}, which is not here and could not be pulled: ` +
          (err as Error).message,
        "error",
        "give the host access to a container registry, or copy the image in with `podman load -i traefik.tar` " +
          "as the hop3 user, or use the Caddy router (HOP3_ROUTER=caddy), which is built from Debian packages",
      );
    }
    const pulled = await imageId(docker, this.image);
    if (!pulled) throw new Hop3Error(`pulling ${this.image} reported success but the image is missing`);
    return pulled;
  }

  containerSpec(): RouterContainerSpec {
    const { stateDir } = this.opts;
    return {
      name: this.containerName,
      image: this.image,
      cmd: [`--configFile=${IN_STATIC_DIR}/${STATIC_FILE}`],
      description: "Hop3 router (Traefik)",
      env: {},
      extraHosts: {},
      binds: [
        { host: join(stateDir, "static"), container: IN_STATIC_DIR, readOnly: true },
        { host: join(stateDir, "dynamic"), container: IN_DYNAMIC_DIR, readOnly: true },
        { host: join(stateDir, "data"), container: IN_DATA_DIR },
      ],
    };
  }

  private pingAnswers(timeoutMs: number): Promise<boolean> {
    const [host, port] = splitAddress(this.pingAddress);
    return new Promise((resolve) => {
      const req = request({ host, port, path: "/ping", timeout: timeoutMs, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
      req.end();
    });
  }
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i) || "127.0.0.1", Number(address.slice(i + 1))];
}
