/**
 * The production supervisor: every process instance is a rootless quadlet of the hop3 user, so systemd
 * restarts it when it dies and starts it at boot (lingering). The container keeps its name and labels, so
 * listing, inspecting and logs work exactly as with the Podman supervisor. The unit's file name is the
 * container name: the mapping survives restarts of the server with nothing else to store.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import type { ContainerPlan } from "../deploy/plan.js";
import { writeFileIfChanged } from "../util/atomic-file.js";
import { Hop3Error } from "../util/errors.js";
import { allocateAppAddress } from "./app-ip.js";
import { ensureNetwork, inspectInstance, type RunningInstance, removeContainer } from "./containers.js";
import { LABEL } from "./labels.js";
import { freeLoopbackPort } from "./ports.js";
import {
  containerServiceName,
  containerUnitFile,
  envFileName,
  networkServiceName,
  networkUnitFile,
  renderContainerUnit,
  renderEnvFile,
  renderNetworkUnit,
  renderVolumeUnit,
  splitEnv,
  usesNetworkUnit,
  volumeServiceName,
  volumeUnitFile,
} from "./quadlet/render.js";
import type { Supervisor } from "./supervisor.js";
import { systemctlUser } from "./systemctl.js";
import { ensureMounts } from "./volumes.js";

export const defaultUnitDir = (home = process.env.HOME ?? homedir()) =>
  join(home, ".config", "containers", "systemd");

export interface QuadletSupervisorOptions {
  podmanVersion: string;
  /** systemd on the host: from 254 the units' restart delay grows (quadlet/render.ts restartPolicy). */
  systemdVersion?: number;
  reason: string;
  /** ~/.config/containers/systemd of the user running the server. */
  unitDir?: string;
  /** Upper bound for `systemctl --user start` (systemd's own TimeoutStartSec is below it). */
  startTimeoutMs?: number;
  log?: (msg: string) => void;
}

export class QuadletSupervisor implements Supervisor {
  readonly kind = "quadlet" as const;
  readonly reason: string;
  readonly unitDir: string;
  /** Podman on the host: decides which quadlet keys may be written. */
  readonly version: string;
  readonly systemdVersion: number | undefined;
  private readonly startTimeoutMs: number;
  private readonly log: (msg: string) => void;
  /** daemon-reload re-runs every generator: serialise them (parallel starts of several instances). */
  private reloading: Promise<unknown> = Promise.resolve();
  /** Ports handed out whose unit file may not be written yet (parallel starts). */
  private readonly promised = new Set<number>();

  constructor(
    private readonly docker: Docker,
    opts: QuadletSupervisorOptions,
  ) {
    this.version = opts.podmanVersion;
    this.systemdVersion = opts.systemdVersion;
    this.reason = opts.reason;
    this.unitDir = opts.unitDir ?? defaultUnitDir();
    this.startTimeoutMs = opts.startTimeoutMs ?? 180_000;
    this.log = opts.log ?? (() => {});
  }

  async start(plan: ContainerPlan): Promise<RunningInstance> {
    mkdirSync(this.unitDir, { recursive: true, mode: 0o700 });
    if (usesNetworkUnit(this.version)) {
      writeFileIfChanged(
        join(this.unitDir, networkUnitFile(plan.network)),
        renderNetworkUnit(plan.app, plan.network, this.version),
        0o600,
      );
    }
    for (const m of plan.mounts ?? []) {
      if (m.kind === "volume" && usesNetworkUnit(this.version)) {
        writeFileIfChanged(
          join(this.unitDir, volumeUnitFile(m.volume)),
          renderVolumeUnit({ app: plan.app, name: m.volume }, this.version),
          0o600,
        );
      }
    }
    // bind directories, and volumes carrying Hop3's labels even where no .volume unit can name them
    await ensureMounts(this.docker, plan.app, plan.mounts);
    const envPath = join(this.unitDir, envFileName(plan.name));
    // the app's variables (secrets included) live only in this 0600 file of the hop3 user (render.ts splitEnv)
    const hasFileEnv = Object.keys(splitEnv(plan.env, this.version).file).length > 0;
    if (hasFileEnv) writeFileIfChanged(envPath, renderEnvFile(plan.env, this.version), 0o600);
    const hostPort = plan.publishPort ? await this.allocatePort() : undefined;
    // app gateway mode: a fixed address on the app network, which must exist to have its subnet read
    if (plan.networkPort)
      await ensureNetwork(this.docker, plan.network, { [LABEL.managed]: "true", [LABEL.app]: plan.app });
    const address = plan.networkPort ? await allocateAppAddress(this.docker, plan.network) : undefined;
    const unit = renderContainerUnit(plan, {
      podmanVersion: this.version,
      ...(this.systemdVersion ? { systemdVersion: this.systemdVersion } : {}),
      ...(hasFileEnv ? { envFile: envPath } : {}),
      ...(hostPort ? { hostPort } : {}),
      ...(address ? { ip: address.ip } : {}),
    });
    // kept promised until its container carries the address (parallel starts of one app)
    if (address) setTimeout(address.release, 60_000).unref();
    writeFileIfChanged(join(this.unitDir, containerUnitFile(plan.name)), unit, 0o600);
    const service = containerServiceName(plan.name);
    try {
      await this.daemonReload();
      await this.systemctl(["start", service], this.startTimeoutMs);
      const inst = await inspectInstance(this.docker, plan.name);
      if (inst?.state !== "running" || !inst) {
        throw new Hop3Error(
          `${service} started but container ${plan.name} is ${inst?.state ?? "missing"}`,
          "deployFailed",
        );
      }
      return inst;
    } catch (err) {
      const why = await this.explainFailure(plan.name);
      await this.remove({ id: plan.name, name: plan.name }).catch(() => {});
      const message = err instanceof Error ? err.message : String(err);
      throw new Hop3Error(
        `could not start ${plan.process}.${plan.instance} of ${plan.app} under systemd: ${message}${why}`,
        "deployFailed",
        `inspect with: systemctl --user status ${service}; journalctl --user -u ${service}`,
      );
    }
  }

  async remove(instance: Pick<RunningInstance, "id" | "name">): Promise<void> {
    const name = instance.name;
    const unitPath = join(this.unitDir, containerUnitFile(name));
    if (existsSync(unitPath)) {
      const network = /^Network=(.+)$/m.exec(readFileSync(unitPath, "utf8"))?.[1];
      // The unit's ExecStop removes the container (quadlet runs it with --rm).
      await this.systemctl(["stop", containerServiceName(name)], 60_000).catch((err) =>
        this.log(`quadlet: stopping ${name}: ${(err as Error).message}`),
      );
      rmSync(unitPath, { force: true });
      rmSync(join(this.unitDir, envFileName(name)), { force: true });
      if (network?.endsWith(".network")) await this.dropNetworkUnitIfUnused(network);
      await this.daemonReload();
      // a stopped container unit ends "failed" (podman's exit status): forget it, or it lingers in list-units
      await this.systemctl(["reset-failed", containerServiceName(name)], 10_000).catch(() => {});
    }
    // Containers made before the switch to quadlets (or a unit that failed half-way) go the direct way.
    await removeContainer(this.docker, instance.id !== name ? instance.id : name);
  }

  /** Removes the `.volume` units of volumes about to be deleted (hop destroy). */
  async dropVolumes(names: string[]): Promise<void> {
    const present = names.filter((n) => existsSync(join(this.unitDir, volumeUnitFile(n))));
    if (present.length === 0) return;
    for (const n of present) {
      await this.systemctl(["stop", volumeServiceName(n)], 30_000).catch(() => {});
      rmSync(join(this.unitDir, volumeUnitFile(n)), { force: true });
    }
    await this.daemonReload();
  }

  /** Container unit names in the unit directory: what systemd will start at boot. */
  listUnits(): string[] {
    if (!existsSync(this.unitDir)) return [];
    return readdirSync(this.unitDir)
      .filter((f) => f.endsWith(".container") && f.startsWith("hop3-"))
      .map((f) => f.slice(0, -".container".length))
      .sort();
  }

  /** Host ports already promised to units (running or not: a stopped unit gets its port back at restart). */
  usedPorts(): Set<number> {
    const used = new Set<number>();
    for (const u of this.listUnits()) {
      const text = readFileSync(join(this.unitDir, containerUnitFile(u)), "utf8");
      for (const m of text.matchAll(/^PublishPort=127\.0\.0\.1:(\d+):/gm)) used.add(Number(m[1]));
    }
    return used;
  }

  /** A free 127.0.0.1 port that no unit has: the kernel picks, we skip ports other units own. */
  private async allocatePort(): Promise<number> {
    const used = this.usedPorts();
    for (let attempt = 0; attempt < 20; attempt++) {
      const port = await freeLoopbackPort();
      if (!used.has(port) && !this.promised.has(port)) {
        this.promised.add(port);
        setTimeout(() => this.promised.delete(port), 60_000).unref();
        return port;
      }
    }
    throw new Hop3Error("no free port on 127.0.0.1 for a web instance", "deployFailed");
  }

  /** Waits until the user's systemd has finished starting units (e.g. after a boot), so listing is complete. */
  async settle(timeoutMs = 120_000): Promise<string> {
    // execa is loaded at its first use: only systemd hosts run it, and it is ~8 MiB of an idle server
    const { execa } = await import("execa");
    const r = await execa("systemctl", ["--user", "is-system-running", "--wait"], {
      reject: false,
      timeout: timeoutMs,
    });
    return r.stdout.trim() || (r.timedOut ? "timeout" : "unknown");
  }

  private async dropNetworkUnitIfUnused(networkUnit: string): Promise<void> {
    const stillUsed = this.listUnits().some((u) =>
      readFileSync(join(this.unitDir, containerUnitFile(u)), "utf8").includes(`\nNetwork=${networkUnit}\n`),
    );
    if (stillUsed) return;
    // Stopping the network service leaves the network itself; Lifecycle.destroy removes that.
    const base = networkUnit.slice(0, -".network".length);
    await this.systemctl(["stop", networkServiceName(base)], 30_000).catch(() => {});
    rmSync(join(this.unitDir, networkUnit), { force: true });
  }

  /** daemon-reload, one at a time (addons' units share it: addons/runner.ts). */
  daemonReload(): Promise<void> {
    const next = this.reloading.then(() => this.systemctl(["daemon-reload"], 60_000));
    this.reloading = next.catch(() => {});
    return next;
  }

  private systemctl(args: string[], timeout: number): Promise<void> {
    return systemctlUser(args, timeout, "deployFailed");
  }

  /** The last journal lines of the unit, or quadlet's complaint when it refused to generate the unit. */
  private async explainFailure(name: string): Promise<string> {
    const service = containerServiceName(name);
    const { execa } = await import("execa");
    const journal = await execa(
      "journalctl",
      ["--user", "-u", service, "-n", "15", "--no-pager", "-o", "cat"],
      { reject: false, timeout: 10_000 },
    );
    const lines = journal.stdout.trim();
    if (lines && !/^-- No entries --$/m.test(lines)) return `\n${lines}`;
    const dry = await execa(quadletBinary(), ["-dryrun", "-user"], { reject: false, timeout: 20_000 });
    const complaints = dry.stderr
      .split("\n")
      .filter((l) => l.includes(name))
      .join("\n");
    return complaints ? `\nquadlet: ${complaints}` : "";
  }
}

/** Where distributions install the quadlet generator. */
export function quadletBinary(): string {
  for (const p of ["/usr/libexec/podman/quadlet", "/usr/lib/podman/quadlet"]) if (existsSync(p)) return p;
  return "/usr/libexec/podman/quadlet";
}
