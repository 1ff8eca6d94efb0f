/**
 * The rootless Podman API socket of the hop3 user. Where systemd socket activation provides it we only
 * connect; where it does not (hosts without systemd), Hop3 starts `podman system service` itself and
 * restarts it if it dies, so the platform never depends on a session being open.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import type DockerT from "dockerode";
import { Hop3Error } from "../util/errors.js";
import Docker from "./docker-client.js";
import { systemctlUser } from "./systemctl.js";

export function defaultPodmanSocket(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HOP3_PODMAN_SOCKET) return env.HOP3_PODMAN_SOCKET;
  const runtimeDir = env.XDG_RUNTIME_DIR ?? `/run/user/${process.getuid?.() ?? 0}`;
  return `${runtimeDir}/podman/podman.sock`;
}

/** Whether the user's systemd provides the API socket (podman.socket active): it then starts the service itself. */
export async function podmanSocketActivated(): Promise<boolean> {
  return systemctlUser(["is-active", "--quiet", "podman.socket"], 10_000).then(
    () => true,
    () => false,
  );
}

export class PodmanService {
  private child?: ChildProcess;
  private stopping = false;
  private watchdog?: NodeJS.Timeout;
  readonly docker: DockerT;

  constructor(
    readonly socketPath: string,
    private readonly log: (msg: string) => void = () => {},
    /** Where the service's own output goes (it outlives the server, so not to our stdout). */
    readonly logPath = `${dirname(socketPath)}/podman-service.log`,
  ) {
    this.docker = new Docker({ socketPath });
  }

  async ping(): Promise<boolean> {
    try {
      await this.docker.ping();
      return true;
    } catch {
      return false;
    }
  }

  /** Connects to the socket, starting our own `podman system service` when nothing answers. */
  async ensure(timeoutMs = 30_000): Promise<DockerT> {
    if (await this.ping()) return this.docker;
    this.start();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.ping()) return this.docker;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Hop3Error(
      `the Podman API did not answer on ${this.socketPath} within ${timeoutMs / 1000}s`,
      "error",
      "check that `podman info` works for the hop3 user",
    );
  }

  private start(): void {
    if (this.child && this.child.exitCode === null) return;
    mkdirSync(dirname(this.socketPath), { recursive: true, mode: 0o700 });
    this.log(`starting podman system service on ${this.socketPath}`);
    // Detached, in its own session, writing to a file rather than a pipe: it must outlive a crash of this
    // server (a broken stderr pipe would kill it on its next log line, and every app operation with it).
    const logFd = openSync(this.logPath, "a", 0o600);
    const child = spawn("podman", ["system", "service", "--time=0", `unix://${this.socketPath}`], {
      stdio: ["ignore", logFd, logFd],
      detached: true,
    });
    closeSync(logFd);
    child.unref();
    child.on("exit", (code, signal) => {
      if (this.stopping) return;
      this.log(`podman system service exited (${signal ?? code}); the watchdog starts it again`);
    });
    this.child = child;
  }

  /**
   * Keeps the socket answering: whoever started the service we found (another process, a user session)
   * may go away, so we check now and then and start our own when nothing answers.
   */
  watch(intervalMs = 5000): void {
    let checking = false;
    this.watchdog = setInterval(async () => {
      if (checking || this.stopping) return;
      checking = true;
      try {
        if (!(await this.ping())) {
          this.log(`the Podman API on ${this.socketPath} stopped answering; starting it`);
          this.start();
        }
      } finally {
        checking = false;
      }
    }, intervalMs);
    this.watchdog.unref();
  }

  /** Stops watching. The service itself keeps running: apps do not depend on this server being up. */
  stop(): void {
    this.stopping = true;
    if (this.watchdog) clearInterval(this.watchdog);
  }
}
