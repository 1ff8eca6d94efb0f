/**
 * Fixed addresses for web instances on their app network (app gateway mode, router/gateway-config.ts).
 * The gateway forwards to an address, so an instance must keep its own across restarts: a container started
 * again by its restart policy, or re-created by systemd from its unit, would otherwise get a new one from
 * Podman while the gateway still points at the old. Addresses are taken from the top of the subnet down,
 * away from the ones Podman hands out itself (from the bottom up: addons, one-off runs, the gateway).
 */
import type Docker from "dockerode";
import { Hop3Error } from "../util/errors.js";
import { LABEL } from "./labels.js";

export const IP_LABEL = "io.hop3.ip";

/** Promised addresses whose container may not exist yet (parallel starts), per network. */
const promised = new Map<string, Set<string>>();

const toInt = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

/** The highest address of `subnet` (IPv4 CIDR) not in `used`, skipping network, broadcast and gateway. */
export function pickAddress(subnet: string, used: ReadonlySet<string>, gateway?: string): string | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(subnet);
  if (!m) return undefined;
  const bits = Number(m[2]);
  if (bits > 29) return undefined;
  const size = 2 ** (32 - bits);
  const base = Math.floor(toInt(m[1]!) / size) * size;
  // the upper half only: the lower one is Podman's to hand out
  for (let n = base + size - 2; n > base + size / 2; n--) {
    const ip = toIp(n);
    if (ip !== gateway && !used.has(ip)) return ip;
  }
  return undefined;
}

/**
 * The MAC address that goes with a fixed address: locally administered (02:), then "H" (0x48), then the four
 * octets. A re-created container (systemd replaces a killed one) comes back with its MAC too, so the
 * gateway's ARP entry stays right; with a new random MAC it pointed at the old one for ~5-10 s (seen on the
 * quadlet host: an app answered 7-15 s after its container was back).
 */
export function macFor(ip: string): string {
  const octets = ip.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255))
    throw new Hop3Error(`not an IPv4 address: ${ip}`);
  return ["02", "48", ...octets.map((o) => o.toString(16).padStart(2, "0"))].join(":");
}

/** Reserves an address on `network` for a new web instance; `release()` once its container exists or failed. */
export async function allocateAppAddress(
  docker: Docker,
  network: string,
): Promise<{ ip: string; release: () => void }> {
  const info = (await docker.getNetwork(network).inspect()) as {
    IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] };
    Containers?: Record<string, { IPv4Address?: string }>;
  };
  const cfg = info.IPAM?.Config?.find((c) => c.Subnet && /^\d+\.\d+\.\d+\.\d+\//.test(c.Subnet));
  if (!cfg?.Subnet) throw new Hop3Error(`network ${network} has no IPv4 subnet`, "deployFailed");
  const used = new Set<string>();
  for (const c of Object.values(info.Containers ?? {}))
    if (c.IPv4Address) used.add(c.IPv4Address.split("/")[0]!);
  // stopped containers keep their fixed address (they come back with it): read from their label
  const all = await docker.listContainers({ all: true, filters: { label: [IP_LABEL] } });
  for (const c of all) {
    const ip = c.Labels?.[IP_LABEL];
    if (ip) used.add(ip);
  }
  const mine = promised.get(network) ?? new Set<string>();
  promised.set(network, mine);
  for (const ip of mine) used.add(ip);
  const ip = pickAddress(cfg.Subnet, used, cfg.Gateway);
  if (!ip)
    throw new Hop3Error(`no free address left on network ${network} for a web instance`, "deployFailed");
  mine.add(ip);
  return { ip, release: () => mine.delete(ip) };
}

/** The labels of an instance created at a fixed address (appAddressOf reads it back); unchanged without one. */
export function withAddressLabel(
  labels: Record<string, string>,
  ip: string | undefined,
): Record<string, string> {
  return ip ? { ...labels, [IP_LABEL]: ip } : labels;
}

/** An instance's fixed address and port, from the labels it was created with. */
export function appAddressOf(
  labels: Record<string, string> | undefined,
): { ip: string; networkPort: number } | undefined {
  const ip = labels?.[IP_LABEL];
  const port = Number(labels?.[LABEL.port]);
  return ip && Number.isInteger(port) && port > 0 ? { ip, networkPort: port } : undefined;
}
