/**
 * How the router's container is kept alive: by Podman's restart policy (hosts without systemd), or as a
 * quadlet of the hop3 user (systemd restarts it when it dies and starts it at boot, before and without the
 * Hop3 server). Caddy and Traefik describe their container once (RouterContainerSpec); a runner makes it
 * real. Waiting for the router to answer is shared too.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import { removeContainer, tailLogs } from "../runtime/containers.js";
import { renderRouterUnit } from "../runtime/quadlet/render.js";
import { systemctlUser } from "../runtime/systemctl.js";
import { writeFileIfChanged } from "../util/atomic-file.js";
import { Hop3Error } from "../util/errors.js";
import { inspectContainer, ROUTER_LABELS, sleep } from "./container-ops.js";

export interface RouterBind {
  host: string;
  container: string;
  readOnly?: boolean;
}

/** The router's container (host network) or the app gateway's (its own network), whichever runner starts it. */
export interface RouterContainerSpec {
  name: string;
  image: string;
  cmd?: string[];
  env: Record<string, string>;
  binds: RouterBind[];
  /** host name → address, written to the container's /etc/hosts. */
  extraHosts: Record<string, string>;
  /** For the unit's Description=. */
  description: string;
  /** io.hop3.role; `router` when absent. */
  role?: string;
  /** The network it starts on; the host's when absent. */
  network?: string;
  /** More networks it is created on (the app gateway under Podman 4.3, which is never connected later). */
  networks?: string[];
  /** Networks with this label are joined after every start (see renderRouterUnit). */
  joinNetworksLabelled?: string;
  /** Namespaced sysctls of its network namespace (the gateway: net.ipv4.ip_forward=0). */
  sysctls?: Record<string, string>;
  /** Labels beside the role and the managed mark (the gateway: a digest of its spec, see app-gateway.ts). */
  labels?: Record<string, string>;
}

export interface RouterRunner {
  readonly kind: "podman" | "quadlet";
  /** Whether the running router was started from exactly this spec (beyond image and env, which the router checks). */
  isCurrent(spec: RouterContainerSpec): boolean;
  /** Starts the container from the spec, replacing whatever has its name. */
  start(spec: RouterContainerSpec): Promise<void>;
  remove(name: string): Promise<void>;
}

/** For status lines: what restarts the router when it dies. */
export const supervisedBy = (runner: RouterRunner, name: string) =>
  runner.kind === "quadlet" ? ` (systemd: ${name}.service)` : " (podman restart policy)";

const bindString = (b: RouterBind) => `${b.host}:${b.container}${b.readOnly ? ":ro" : ""}`;

/** Podman alone: restart policy `always` (hosts without systemd; the server ensures it at start). */
export class PodmanRouterRunner implements RouterRunner {
  readonly kind = "podman" as const;
  constructor(private readonly docker: Docker) {}

  isCurrent(): boolean {
    return true;
  }

  async start(spec: RouterContainerSpec): Promise<void> {
    await removeContainer(this.docker, spec.name);
    const container = await this.docker.createContainer({
      name: spec.name,
      Image: spec.image,
      ...(spec.cmd ? { Cmd: spec.cmd } : {}),
      Labels: { ...ROUTER_LABELS, ...(spec.role ? { "io.hop3.role": spec.role } : {}), ...spec.labels },
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      HostConfig: {
        // a restarted container keeps the networks it was joined to: joinNetworksLabelled is the caller's
        NetworkMode: spec.network ?? "host",
        RestartPolicy: { Name: "always" },
        ExtraHosts: Object.entries(spec.extraHosts).map(([h, a]) => `${h}:${a}`),
        Binds: spec.binds.map(bindString),
        ...(spec.sysctls ? { Sysctls: spec.sysctls } : {}),
      },
      ...(spec.network && spec.networks?.length
        ? {
            NetworkingConfig: {
              EndpointsConfig: Object.fromEntries([spec.network, ...spec.networks].map((n) => [n, {}])),
            },
          }
        : {}),
    });
    await container.start();
  }

  remove(name: string): Promise<void> {
    return removeContainer(this.docker, name);
  }
}

export interface QuadletRouterRunnerOptions {
  podmanVersion: string;
  /** systemd on the host: decides the unit's restart back-off (quadlet/render.ts restartPolicy). */
  systemdVersion?: number;
  /** ~/.config/containers/systemd of the hop3 user. */
  unitDir: string;
  /** systemctl --user, as an argument array (the adapter's one side effect besides files). */
  systemctl?: (args: string[], timeoutMs: number) => Promise<void>;
}

/**
 * The router as `hop3-router.container` in the hop3 user's quadlet directory, enabled for boot: the whole
 * platform (router, apps, and the server's own unit) comes back after a reboot with nothing typed.
 */
export class QuadletRouterRunner implements RouterRunner {
  readonly kind = "quadlet" as const;
  private readonly systemctl: (args: string[], timeoutMs: number) => Promise<void>;

  constructor(
    private readonly docker: Docker,
    private readonly opts: QuadletRouterRunnerOptions,
  ) {
    this.systemctl = opts.systemctl ?? systemctlUser;
  }

  private unitPath(name: string): string {
    return join(this.opts.unitDir, `${name}.container`);
  }

  isCurrent(spec: RouterContainerSpec): boolean {
    const path = this.unitPath(spec.name);
    return (
      existsSync(path) &&
      readFileSync(path, "utf8") === renderRouterUnit(spec, this.opts.podmanVersion, this.opts.systemdVersion)
    );
  }

  async start(spec: RouterContainerSpec): Promise<void> {
    mkdirSync(this.opts.unitDir, { recursive: true, mode: 0o700 });
    writeFileIfChanged(
      this.unitPath(spec.name),
      renderRouterUnit(spec, this.opts.podmanVersion, this.opts.systemdVersion),
      0o600,
    );
    // A container of the same name made by the Podman runner (before systemd was there) has a restart
    // policy of its own: quadlet's --replace would remove it, but not before it fights the new one.
    const info = await inspectContainer(this.docker, spec.name);
    if (info && !info.Config.Labels?.PODMAN_SYSTEMD_UNIT) await removeContainer(this.docker, spec.name);
    await this.systemctl(["daemon-reload"], 60_000);
    // restart, not start: a changed unit (new image, new mounts) must replace the running container
    await this.systemctl(["restart", `${spec.name}.service`], 180_000);
  }

  async remove(name: string): Promise<void> {
    const path = this.unitPath(name);
    if (existsSync(path)) {
      await this.systemctl(["stop", `${name}.service`], 60_000).catch(() => {});
      rmSync(path, { force: true });
      await this.systemctl(["daemon-reload"], 60_000);
      await this.systemctl(["reset-failed", `${name}.service`], 10_000).catch(() => {});
    }
    await removeContainer(this.docker, name);
  }
}

/**
 * Waits until `answers` says the router serves, failing early (with its last log lines) when the container
 * stopped instead. A quadlet's container may not exist yet for a moment after `systemctl start`.
 */
export async function waitForRouter(
  docker: Docker,
  name: string,
  answers: () => Promise<boolean>,
  opts: { timeoutMs: number; what: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (await answers()) return;
    const info = await inspectContainer(docker, name);
    if (
      info &&
      !info.State.Running &&
      !["created", "initialized", "configured"].includes(info.State.Status)
    ) {
      const logs = await lastLines(docker, name);
      throw new Hop3Error(`the router container stopped (${info.State.Status}) while starting:\n${logs}`);
    }
    await sleep(200);
  }
  const logs = await lastLines(docker, name);
  throw new Hop3Error(`${opts.what} within ${opts.timeoutMs / 1000}s:\n${logs}`);
}

/** The router's last output lines for an error message; none rather than a second error. */
const lastLines = async (docker: Docker, name: string) =>
  (await tailLogs(docker, name).catch(() => [])).join("\n");
