/**
 * Who keeps an addon's server running: Podman alone (restart policy and the server's watchdog), or systemd, as
 * a quadlet of the hop3 user like the apps' processes (quadlets under systemd, the Podman supervisor elsewhere:
 * the choice the server made for apps, runtime/supervisor-select.ts). The AddonService says what it wants
 * (start this spec, attach, detach, remove) and never which of the two does it.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import { ensureAppNetwork, ensureNetwork } from "../runtime/containers.js";
import { appNetworkName } from "../runtime/labels.js";
import {
  containerServiceName,
  containerUnitFile,
  envFileName,
  renderAddonUnit,
  renderEnvFile,
} from "../runtime/quadlet/render.js";
import type { QuadletSupervisor } from "../runtime/quadlet-supervisor.js";
import { systemctlUser } from "../runtime/systemctl.js";
import { writeFileIfChanged } from "../util/atomic-file.js";
import { Hop3Error } from "../util/errors.js";
import {
  type AddonContainerSpec,
  addonContainerName,
  addonLabels,
  addonNetworkName,
  addonVolumeName,
  connectAddon,
  disconnectAddon,
  ensureAddonVolume,
  inspectAddonContainer,
  removeAddonClients,
  removeAddonContainer,
  startAddonContainer,
} from "./containers.js";

export interface AddonRunner {
  readonly kind: "podman" | "quadlet";
  /** Creates (or makes again) the addon's container from the spec and starts it; answers its id. */
  start(spec: AddonContainerSpec): Promise<string>;
  /** Puts a running addon on an app's network now, and for good (`spec.apps` includes the app). */
  attach(spec: AddonContainerSpec, app: string): Promise<void>;
  /** Takes it off an app's network (`spec.apps` no longer includes the app). */
  detach(spec: AddonContainerSpec, app: string): Promise<void>;
  /** Stops and removes the container and its own network; never the data volume. */
  remove(name: string): Promise<void>;
  /** Whether systemd starts it at boot (its unit is written); false: the server starts it at its own start. */
  startsAtBoot(name: string): boolean;
}

/** Podman alone: the restart policy, and the server's watchdog for what the policy misses. */
export class PodmanAddonRunner implements AddonRunner {
  readonly kind = "podman" as const;
  constructor(private readonly docker: Docker) {}
  start(spec: AddonContainerSpec): Promise<string> {
    return startAddonContainer(this.docker, spec);
  }
  attach(spec: AddonContainerSpec, app: string): Promise<void> {
    return connectAddon(this.docker, spec.name, app);
  }
  detach(spec: AddonContainerSpec, app: string): Promise<void> {
    return disconnectAddon(this.docker, spec.name, app);
  }
  remove(name: string): Promise<void> {
    return removeAddonContainer(this.docker, name);
  }
  startsAtBoot(): boolean {
    return false;
  }
}

/**
 * systemd: `hop3-addon-NAME.container` in the hop3 user's quadlet directory, its credentials in a 0600 env file
 * beside it. systemd restarts it when it dies (with the apps' back-off) and starts it at boot; the server
 * writes the unit and asks systemd, and connects a running addon to a newly attached app live (a database is
 * never restarted for an attach) while the unit keeps the list for the next start.
 */
export class QuadletAddonRunner implements AddonRunner {
  readonly kind = "quadlet" as const;
  constructor(
    private readonly docker: Docker,
    private readonly supervisor: Pick<
      QuadletSupervisor,
      "unitDir" | "version" | "systemdVersion" | "daemonReload"
    >,
    private readonly startTimeoutMs = 360_000,
  ) {}

  private unitPath(name: string): string {
    return join(this.supervisor.unitDir, containerUnitFile(addonContainerName(name)));
  }

  /** Writes the unit and its env file; true when the unit changed. */
  private async writeUnit(spec: AddonContainerSpec): Promise<boolean> {
    const cname = addonContainerName(spec.name);
    mkdirSync(this.supervisor.unitDir, { recursive: true, mode: 0o700 });
    const envFile = join(this.supervisor.unitDir, envFileName(cname));
    writeFileIfChanged(envFile, renderEnvFile(spec.env, this.supervisor.version), 0o600);
    const unit = renderAddonUnit(
      {
        name: cname,
        addon: spec.name,
        image: spec.image,
        ...(spec.cmd ? { cmd: spec.cmd } : {}),
        labels: addonLabels(spec.name, spec.type),
        ownNetwork: addonNetworkName(spec.name),
        appNetworks: spec.apps.map(appNetworkName),
        volume: { name: addonVolumeName(spec.name), target: spec.dataDir },
        ...(spec.memoryBytes ? { memoryBytes: spec.memoryBytes } : {}),
        ...(spec.expose ? { publish: spec.expose } : {}),
        envFile,
        description: `Hop3 addon ${spec.name} (${spec.type})`,
      },
      this.supervisor.version,
      this.supervisor.systemdVersion,
    );
    return writeFileIfChanged(this.unitPath(spec.name), unit, 0o600);
  }

  async start(spec: AddonContainerSpec): Promise<string> {
    const cname = addonContainerName(spec.name);
    // a container the server made before the host had quadlets (or by the Podman supervisor) gives way
    if (!existsSync(this.unitPath(spec.name))) await removeAddonContainer(this.docker, spec.name);
    // what the unit refers to by name must exist first: its networks and its labelled volume
    await ensureNetwork(this.docker, addonNetworkName(spec.name), addonLabels(spec.name, spec.type), {
      internal: true,
    });
    for (const app of spec.apps) {
      await ensureAppNetwork(this.docker, app);
    }
    await ensureAddonVolume(this.docker, spec.name, spec.type);
    await this.writeUnit(spec);
    const service = containerServiceName(cname);
    try {
      await this.supervisor.daemonReload();
      // client containers (`pg:psql`) share its network namespace: Podman cannot replace it while they exist
      await removeAddonClients(this.docker, spec.name);
      await systemctlUser(["restart", service], this.startTimeoutMs, "error");
    } catch (err) {
      throw new Hop3Error(
        `could not start addon ${spec.name} under systemd: ${(err as Error).message}`,
        "error",
        `inspect with: systemctl --user status ${service}; journalctl --user -u ${service}`,
      );
    }
    const info = await inspectAddonContainer(this.docker, spec.name);
    if (!info?.State.Running) {
      throw new Hop3Error(
        `${service} started but the container of addon ${spec.name} is ${info?.State.Status ?? "missing"}`,
        "error",
        `see: journalctl --user -u ${service}`,
      );
    }
    return info.Id;
  }

  async attach(spec: AddonContainerSpec, app: string): Promise<void> {
    await this.keepNetworks(spec);
    await connectAddon(this.docker, spec.name, app);
  }

  async detach(spec: AddonContainerSpec, app: string): Promise<void> {
    await this.keepNetworks(spec);
    await disconnectAddon(this.docker, spec.name, app);
  }

  /** The unit's networks follow `spec.apps` for the next start; the running container is left as it is. */
  private async keepNetworks(spec: AddonContainerSpec): Promise<void> {
    if (await this.writeUnit(spec)) await this.supervisor.daemonReload();
  }

  async remove(name: string): Promise<void> {
    const cname = addonContainerName(name);
    if (existsSync(this.unitPath(name))) {
      await removeAddonClients(this.docker, name);
      // quadlet runs the container with --rm: stopping the unit removes it
      await systemctlUser(["stop", containerServiceName(cname)], 120_000).catch(() => {});
      rmSync(this.unitPath(name), { force: true });
      rmSync(join(this.supervisor.unitDir, envFileName(cname)), { force: true });
      await this.supervisor.daemonReload();
      await systemctlUser(["reset-failed", containerServiceName(cname)], 10_000).catch(() => {});
    }
    await removeAddonContainer(this.docker, name);
  }

  startsAtBoot(name: string): boolean {
    return existsSync(this.unitPath(name));
  }
}
