/**
 * Thin adapter: an addon's container, volume and networks on the Podman API. The container is on a network
 * of its own (internal: no way out) and on the private network of each app it is attached to, with its name
 * as network alias; no port is published on the host unless the operator asks (`addons:expose`: 127.0.0.1 only,
 * for an SSH tunnel). Podman's restart policy and the watchdog
 * (runtime/container-watchdog.ts, through the `io.hop3.addon` label) keep it running.
 */
import type Docker from "dockerode";
import {
  demuxPayload,
  ensureAppNetwork,
  ensureNetwork,
  removeContainer,
  removeNetwork,
  statusOf,
  tailLogs,
} from "../runtime/containers.js";
import { appNetworkName, LABEL } from "../runtime/labels.js";
import { conflict, Hop3Error } from "../util/errors.js";

export const ADDON_LABEL = "io.hop3.addon";
export const ADDON_TYPE_LABEL = "io.hop3.addon-type";

export const addonContainerName = (name: string) => `hop3-addon-${name}`;
export const addonVolumeName = (name: string) => `hop3-addon-${name}-data`;
export const addonNetworkName = (name: string) => `hop3-addon-${name}`;

export const addonLabels = (name: string, type: string) => ({
  [LABEL.managed]: "true",
  [LABEL.role]: "addon",
  [ADDON_LABEL]: name,
  [ADDON_TYPE_LABEL]: type,
});

export interface AddonContainerSpec {
  name: string;
  type: string;
  image: string;
  env: Record<string, string>;
  cmd?: string[];
  /** 0: none (the host cannot enforce one). */
  memoryBytes: number;
  dataDir: string;
  /** The apps it is attached to (it joins their private networks). */
  apps: string[];
  /** `addons:expose`: the server's port published on the host's loopback only, at this port. */
  expose?: { hostPort: number; containerPort: number };
}

/**
 * The addon's data volume, created with its labels; an existing volume of that name is reused only when its
 * label says it is this addon's (never another's data under a coincidental name).
 */
export async function ensureAddonVolume(docker: Docker, name: string, type: string): Promise<string> {
  const volume = addonVolumeName(name);
  try {
    const info = (await docker.getVolume(volume).inspect()) as { Labels?: Record<string, string> | null };
    if (info.Labels?.[ADDON_LABEL] !== name) {
      throw conflict(
        `the volume ${volume} exists but does not belong to addon ${name}`,
        "it was not made by Hop3 for this addon: rename or remove it with podman, as the hop3 user",
      );
    }
    return volume;
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
  await docker.createVolume({ Name: volume, Labels: addonLabels(name, type) });
  return volume;
}

export async function removeAddonVolume(docker: Docker, name: string): Promise<boolean> {
  const volume = addonVolumeName(name);
  try {
    const info = (await docker.getVolume(volume).inspect()) as { Labels?: Record<string, string> | null };
    if (info.Labels?.[ADDON_LABEL] !== name) return false;
    await docker.getVolume(volume).remove();
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

export async function inspectAddonContainer(
  docker: Docker,
  name: string,
): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    const info = await docker.getContainer(addonContainerName(name)).inspect();
    return info.Config.Labels?.[ADDON_LABEL] === name ? info : undefined;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/** Creates and starts the addon's container (replacing a stopped leftover of the same addon). */
export async function startAddonContainer(docker: Docker, spec: AddonContainerSpec): Promise<string> {
  const name = addonContainerName(spec.name);
  const existing = await docker
    .getContainer(name)
    .inspect()
    .catch((err) => {
      if (statusOf(err) === 404) return undefined;
      throw err;
    });
  if (existing && existing.Config.Labels?.[ADDON_LABEL] !== spec.name) {
    throw conflict(`a container named ${name} exists and is not addon ${spec.name}'s`);
  }
  if (existing) {
    await removeAddonClients(docker, spec.name);
    await removeContainer(docker, existing.Id, 30);
  }
  const own = addonNetworkName(spec.name);
  // internal: the database needs no way out; apps reach it through their own networks
  await ensureNetwork(docker, own, addonLabels(spec.name, spec.type), { internal: true });
  const volume = await ensureAddonVolume(docker, spec.name, spec.type);
  const container = await docker.createContainer({
    name,
    Image: spec.image,
    ...(spec.cmd ? { Cmd: spec.cmd } : {}),
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: addonLabels(spec.name, spec.type),
    HostConfig: {
      NetworkMode: own,
      RestartPolicy: { Name: "always" },
      ...(spec.memoryBytes ? { Memory: spec.memoryBytes } : {}),
      Binds: [`${volume}:${spec.dataDir}`],
      ...(spec.expose
        ? {
            PortBindings: {
              [`${spec.expose.containerPort}/tcp`]: [
                { HostIp: "127.0.0.1", HostPort: String(spec.expose.hostPort) },
              ],
            },
          }
        : {}),
    },
    ...(spec.expose ? { ExposedPorts: { [`${spec.expose.containerPort}/tcp`]: {} } } : {}),
  });
  await container.start();
  for (const app of spec.apps) await connectAddon(docker, spec.name, app);
  return container.id;
}

/** Puts the addon on an app's network under its name (the hostname in the app's variables). */
export async function connectAddon(docker: Docker, name: string, app: string): Promise<void> {
  const network = appNetworkName(app);
  await ensureAppNetwork(docker, app);
  const info = await inspectAddonContainer(docker, name);
  if (!info)
    throw new Hop3Error(
      `the container of addon ${name} is missing`,
      "error",
      "the server starts it again at its next start; or run: hop addons:info NAME",
    );
  if (info.NetworkSettings.Networks?.[network]) return;
  await docker.getNetwork(network).connect({ Container: info.Id, EndpointConfig: { Aliases: [name] } });
}

export async function disconnectAddon(docker: Docker, name: string, app: string): Promise<void> {
  const network = appNetworkName(app);
  const info = await inspectAddonContainer(docker, name);
  if (!info?.NetworkSettings.Networks?.[network]) return;
  try {
    await docker.getNetwork(network).disconnect({ Container: info.Id, Force: true });
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
}

/** Removes the container and its own network (never the volume: see removeAddonVolume). */
export async function removeAddonContainer(docker: Docker, name: string): Promise<void> {
  await removeAddonClients(docker, name);
  const info = await inspectAddonContainer(docker, name);
  if (info) await removeContainer(docker, info.Id, 30);
  await removeNetwork(docker, addonNetworkName(name)).catch(() => {});
}

/**
 * The addon's client containers (`pg:psql`...): they share its network namespace, and Podman refuses to
 * remove a container others depend on, so they go first.
 */
export async function removeAddonClients(docker: Docker, name: string): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${ADDON_LABEL}=${name}`] } });
  for (const c of list) {
    if (c.Labels?.[LABEL.role] === "addon-client") await removeContainer(docker, c.Id, 1).catch(() => {});
  }
}

/** Runs a command inside the addon's container; answers its exit code and output (stdout and stderr). */
export async function execIn(
  docker: Docker,
  containerId: string,
  cmd: string[],
): Promise<{ exitCode: number; output: string }> {
  const exec = await docker
    .getContainer(containerId)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({ hijack: true, stdin: false })) as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve) => {
    stream.on("data", (d: Buffer) => chunks.push(d));
    stream.on("end", resolve);
    stream.on("close", resolve);
    stream.on("error", () => resolve());
  });
  const info = await exec.inspect();
  return { exitCode: info.ExitCode ?? 1, output: demuxPayload(Buffer.concat(chunks)).toString("utf8") };
}

/**
 * Waits until the addon answers its health check. A container that exits (a database that does not start)
 * or a timeout is an error with the container's last log lines.
 */
export async function waitAddonHealthy(
  docker: Docker,
  containerId: string,
  health: { cmd: string[]; expect?: string },
  what: string,
  timeoutMs = 120_000,
): Promise<void> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last = "";
  let restarts: number | undefined;
  while (Date.now() < deadline) {
    const info = await docker.getContainer(containerId).inspect();
    // The restart policy (always) brings a crashed server straight back, so "not running" is rarely seen
    // between two attempts: a restart count that grows says the same, at once instead of after the timeout.
    const count = (info as { RestartCount?: number }).RestartCount ?? 0;
    restarts ??= count;
    if ((!info.State.Running && !info.State.Restarting) || count > restarts) {
      const how = count > restarts ? "and was restarted" : `(code ${info.State.ExitCode})`;
      throw await notStarted(docker, containerId, `${what} exited ${how} before it was ready`);
    }
    if (info.State.Running) {
      const r = await execIn(docker, containerId, health.cmd).catch((err: Error) => ({
        exitCode: -1,
        output: err.message,
      }));
      if (r.exitCode === 0 && (!health.expect || r.output.includes(health.expect))) return;
      last = r.output.trim().split("\n").pop() ?? "";
    }
    // often at first, when a database is about to be ready (a restore waits for three), then less
    await new Promise((r) => setTimeout(r, Date.now() - started < 10_000 ? 200 : 500));
  }
  throw await notStarted(
    docker,
    containerId,
    `${what} did not become ready in ${timeoutMs / 1000} s${last ? ` (${last})` : ""}`,
  );
}

async function notStarted(docker: Docker, id: string, message: string): Promise<Hop3Error> {
  // a server that failed several times repeats the same lines: each line once, where it was last seen
  const lines = lastDistinct(await tailLogs(docker, id, 40).catch(() => []), 15);
  return new Hop3Error(
    lines.length ? `${message}; its last lines:\n${lines.map((l) => `  ${l}`).join("\n")}` : message,
    "error",
  );
}

/** Addon containers (all of them, or one addon's), as Podman lists them. */
export async function listAddonContainers(docker: Docker): Promise<Map<string, Docker.ContainerInfo>> {
  const list = await docker.listContainers({ all: true, filters: { label: [ADDON_LABEL] } });
  const out = new Map<string, Docker.ContainerInfo>();
  for (const c of list) {
    const name = c.Labels?.[ADDON_LABEL];
    if (name && c.Labels?.[LABEL.role] === "addon") out.set(name, c);
  }
  return out;
}

/** The last `max` distinct lines, each kept at its last position: repeated start failures read once. */
export function lastDistinct(lines: readonly string[], max: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = lines.length - 1; i >= 0 && out.length < max; i--) {
    const l = lines[i]!;
    if (seen.has(l)) continue;
    seen.add(l);
    out.push(l);
  }
  return out.reverse();
}
