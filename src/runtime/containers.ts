/** Thin adapter: runs ContainerPlans on the Podman API and finds Hop3's containers again by label. */
import type Docker from "dockerode";
import type { ContainerPlan } from "../deploy/plan.js";
import { hostConfigMounts } from "../deploy/volumes.js";
import { Hop3Error } from "../util/errors.js";
import { MAX_LINE, truncationMarker } from "../util/line-splitter.js";
import { allocateAppAddress, appAddressOf, macFor, withAddressLabel } from "./app-ip.js";
import { appNetworkName, LABEL } from "./labels.js";
import { hostConfigLimits } from "./limits.js";
import { ensureNetworkIsolation } from "./network-isolation.js";
import { podmanCall } from "./podman-deadline.js";
import { freeLoopbackPort } from "./ports.js";
import { ensureMounts } from "./volumes.js";

export interface RunningInstance {
  id: string;
  name: string;
  app: string;
  release: number;
  process: string;
  instance: number;
  state: string;
  status: string;
  createdAt: string;
  /** Host port on 127.0.0.1 for web instances (published ports mode). */
  hostPort?: number;
  /** Fixed address on the app network and the web port there (app gateway mode: nothing is published). */
  ip?: string;
  networkPort?: number;
}

/**
 * A bridge network of Hop3's, created once. `internal`: no route out (an addon's own network). Never netavark's
 * `isolate` option: the platform's own rules isolate networks (network-isolation.ts).
 */
export async function ensureNetwork(
  docker: Docker,
  name: string,
  labels: Record<string, string>,
  opts: { internal?: boolean } = {},
): Promise<void> {
  const existing = await docker.listNetworks({ filters: { name: [name] } });
  if (!existing.some((n) => n.Name === name)) {
    try {
      await docker.createNetwork({
        Name: name,
        Driver: "bridge",
        Labels: labels,
        ...(opts.internal ? { Internal: true } : {}),
      });
    } catch (err) {
      // another deploy may have created it in between
      const again = await docker.listNetworks({ filters: { name: [name] } });
      if (!again.some((n) => n.Name === name)) throw err;
    }
  }
  // before anything starts on it: no container may come up able to reach another app (network-isolation.ts)
  await ensureNetworkIsolation();
}

/** An app's private network `hop3-APP`, labelled as the app's: its instances, one-offs and addons join it. */
export function ensureAppNetwork(docker: Docker, app: string): Promise<void> {
  return ensureNetwork(docker, appNetworkName(app), { [LABEL.managed]: "true", [LABEL.app]: app });
}

export async function removeNetwork(docker: Docker, name: string): Promise<void> {
  try {
    await docker.getNetwork(name).remove();
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
}

export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

/** Creates and starts one container; answers the instance as Podman sees it after start. */
export async function startContainer(docker: Docker, plan: ContainerPlan): Promise<RunningInstance> {
  // A leftover with the same name (a crash between create and record) is replaced, never reused blindly.
  await removeContainer(docker, plan.name);
  await ensureMounts(docker, plan.app, plan.mounts);
  // a fixed host port survives a restart of the container (a random one would change under the router)
  const hostPort = plan.publishPort ? await freeLoopbackPort() : undefined;
  // or a fixed address on its app network, which the gateway forwards to (app-ip.ts)
  const address = plan.networkPort ? await allocateAppAddress(docker, plan.network) : undefined;
  try {
    return await createAndStart(docker, plan, hostPort, address?.ip);
  } finally {
    address?.release();
  }
}

async function createAndStart(
  docker: Docker,
  plan: ContainerPlan,
  hostPort: number | undefined,
  ip: string | undefined,
): Promise<RunningInstance> {
  const exposed = plan.publishPort ? { [`${plan.publishPort}/tcp`]: {} } : undefined;
  const container = await podmanCall(
    docker.createContainer({
      name: plan.name,
      Image: plan.image,
      ...(plan.cmd ? { Cmd: plan.cmd } : {}),
      ...(plan.entrypoint ? { Entrypoint: plan.entrypoint } : {}),
      Env: Object.entries(plan.env).map(([k, v]) => `${k}=${v}`),
      Labels: withAddressLabel(plan.labels, ip),
      ...(exposed ? { ExposedPorts: exposed } : {}),
      ...(ip
        ? {
            NetworkingConfig: {
              EndpointsConfig: {
                [plan.network]: { IPAMConfig: { IPv4Address: ip }, MacAddress: macFor(ip) },
              },
            },
          }
        : {}),
      HostConfig: {
        NetworkMode: plan.network,
        RestartPolicy: { Name: "always" },
        // catatonit as PID 1: reaps zombies and forwards signals for apps that do not.
        Init: true,
        ...hostConfigMounts(plan.mounts ?? []),
        // [limits] and the platform's defaults (ignored by Podman where cgroups cannot enforce them)
        ...hostConfigLimits(plan.limits),
        ...(plan.publishPort
          ? {
              PortBindings: {
                [`${plan.publishPort}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: String(hostPort) }],
              },
            }
          : {}),
      },
    }),
    `create ${plan.name}`,
  );
  await podmanCall(container.start(), `start ${plan.name}`);
  const info = await podmanCall(container.inspect(), `inspect ${plan.name}`);
  return toInstance(info);
}

export async function removeContainer(docker: Docker, nameOrId: string, stopTimeoutS = 10): Promise<void> {
  const c = docker.getContainer(nameOrId);
  try {
    await podmanCall(c.stop({ t: stopTimeoutS }), `stop ${nameOrId}`);
  } catch (err) {
    const s = statusOf(err);
    if (s === 404) return;
    if (s !== 304) throw err; // 304: already stopped
  }
  try {
    await podmanCall(c.remove({ force: true }), `remove ${nameOrId}`);
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
}

export async function stopContainer(docker: Docker, nameOrId: string, stopTimeoutS = 10): Promise<void> {
  try {
    await docker.getContainer(nameOrId).stop({ t: stopTimeoutS });
  } catch (err) {
    const s = statusOf(err);
    if (s !== 304 && s !== 404) throw err;
  }
}

/**
 * A Podman call that reads every image, retried: Podman 4.3 fails the whole of such a call ("image not
 * known") when an image is removed meanwhile (another app's destroy or prune), and the next call no longer
 * meets the removed image. `retryable` says which failures are worth another try (default: that one).
 */
export async function retryWhileImagesGo<T>(
  call: () => Promise<T>,
  tries = 4,
  retryable: (err: Error) => boolean = (err) => /image not known/.test(err.message ?? ""),
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= tries || !retryable(err as Error)) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

/** Images matching `reference` (e.g. `localhost/hop3/shop:*`), retried while images go (retryWhileImagesGo). */
export function listImagesByReference(
  docker: Pick<Docker, "listImages">,
  reference: string,
  tries = 4,
): Promise<Docker.ImageInfo[]> {
  return retryWhileImagesGo(() => docker.listImages({ filters: { reference: [reference] } }), tries);
}

export async function listInstances(docker: Docker, app?: string): Promise<RunningInstance[]> {
  const filters = { label: [app ? `${LABEL.app}=${app}` : `${LABEL.managed}=true`] };
  const list = await docker.listContainers({ all: true, filters });
  const out: RunningInstance[] = [];
  for (const c of list) {
    const labels = c.Labels ?? {};
    if (labels[LABEL.managed] !== "true" || !labels[LABEL.app] || !labels[LABEL.process]) continue;
    // one-off containers (release phase, `hop run`, cron) are never process instances
    if (labels[LABEL.role]) continue;
    const port = (c.Ports ?? []).find((p) => p.PublicPort);
    out.push({
      id: c.Id,
      name: (c.Names?.[0] ?? "").replace(/^\//, ""),
      app: labels[LABEL.app]!,
      release: Number(labels[LABEL.release]),
      process: labels[LABEL.process]!,
      instance: Number(labels[LABEL.instance] ?? 1),
      state: c.State,
      status: c.Status,
      createdAt: new Date(c.Created * 1000).toISOString(),
      ...(port?.PublicPort ? { hostPort: port.PublicPort } : (appAddressOf(labels) ?? {})),
    });
  }
  return out.sort(
    (a, b) => a.process.localeCompare(b.process) || a.instance - b.instance || a.release - b.release,
  );
}

/** A one-off container (`hop run`, cron run) as `hop logs`, `cron:list` and the pruning see it. */
export interface OneOffContainer {
  id: string;
  name: string;
  app: string;
  role: string;
  /** Prefix of its lines in `hop logs`: `cron.NAME`, `run.N`. */
  source: string;
  cron?: string;
  state: string;
  createdAt: string;
}

/** One-off containers of an app (or of every app), oldest first; `role` narrows to one kind. */
export async function listOneOffs(docker: Docker, app?: string, role?: string): Promise<OneOffContainer[]> {
  const label = [app ? `${LABEL.app}=${app}` : LABEL.app, role ? `${LABEL.role}=${role}` : LABEL.role];
  const list = await docker.listContainers({ all: true, filters: { label } });
  return list
    .filter((c) => c.Labels?.[LABEL.app] && c.Labels?.[LABEL.role])
    .map((c) => {
      const labels = c.Labels;
      return {
        id: c.Id,
        name: (c.Names?.[0] ?? "").replace(/^\//, ""),
        app: labels[LABEL.app]!,
        role: labels[LABEL.role]!,
        source: labels[LABEL.source] ?? labels[LABEL.role]!,
        ...(labels[LABEL.cron] ? { cron: labels[LABEL.cron] } : {}),
        state: c.State,
        createdAt: new Date(c.Created * 1000).toISOString(),
      };
    })
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
}

export function toInstance(info: Docker.ContainerInspectInfo): RunningInstance {
  const labels = info.Config.Labels ?? {};
  let hostPort: number | undefined;
  for (const bindings of Object.values(info.NetworkSettings.Ports ?? {})) {
    const b = bindings?.find((x) => x.HostPort);
    if (b) hostPort = Number(b.HostPort);
  }
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ""),
    app: labels[LABEL.app] ?? "",
    release: Number(labels[LABEL.release]),
    process: labels[LABEL.process] ?? "",
    instance: Number(labels[LABEL.instance] ?? 1),
    state: info.State.Status,
    status: info.State.Status,
    createdAt: info.Created,
    ...(hostPort ? { hostPort } : (appAddressOf(labels) ?? {})),
  };
}

export async function inspectInstance(
  docker: Docker,
  nameOrId: string,
): Promise<RunningInstance | undefined> {
  try {
    return toInstance(await docker.getContainer(nameOrId).inspect());
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/** The last lines a container printed, to explain why it did not become healthy. */
export async function tailLogs(docker: Docker, nameOrId: string, lines = 20): Promise<string[]> {
  try {
    const buf = (await docker
      .getContainer(nameOrId)
      .logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    return demuxBuffer(buf);
  } catch (err) {
    if (statusOf(err) === 404) return [];
    throw new Hop3Error(`cannot read logs of ${nameOrId}: ${(err as Error).message}`);
  }
}

/** Non-TTY logs come multiplexed: 8-byte frame headers (stream, 0, 0, 0, size32). */
export function demuxBuffer(buf: Buffer): string[] {
  // the end of what was printed is what explains a failure: a 700 MB line must not become one string
  const payload = demuxPayload(buf);
  const tail = payload.length > MAX_TAIL_BYTES ? payload.subarray(payload.length - MAX_TAIL_BYTES) : payload;
  return tail
    .toString("utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) =>
      l.length > MAX_LINE ? `${l.slice(0, MAX_LINE)}${truncationMarker(l.length - MAX_LINE)}` : l,
    );
}

const MAX_TAIL_BYTES = 1024 * 1024;

/** The bytes a container wrote, without the frame headers (unframed TTY output is returned as is). */
export function demuxPayload(buf: Buffer): Buffer {
  const framed = buf.length >= 8 && (buf[0] === 1 || buf[0] === 2) && buf[1] === 0 && buf[2] === 0;
  if (!framed) return buf;
  const chunks: Buffer[] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const size = buf.readUInt32BE(off + 4);
    chunks.push(buf.subarray(off + 8, off + 8 + size));
    off += 8 + size;
  }
  return Buffer.concat(chunks);
}
