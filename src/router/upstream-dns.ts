/**
 * Dynamic upstreams for Caddy (HOP3_ROUTER_UPSTREAMS=dns). Caddy 2.6 reloads its whole configuration for
 * any change, and each reload resets a few client connections (measured: about one per reload with four
 * keep-alive clients; PATCH and `grace_period` do not help). So in this mode an app's upstreams are not in
 * Caddy's configuration: Caddy asks a DNS responder for `web.<app>.upstreams.hop3.internal` SRV records
 * every second, and a deploy only rewrites the zone file the responder serves.
 *
 * The responder is gdnsd (Debian's, a small C server; images/caddy/entrypoint.sh) inside the router
 * container, so it is up exactly when Caddy is: a hop3-server restart never makes lookups fail (Caddy 2.6
 * answers 502 when they do). A watcher there has gdnsd reload the zone whenever the host renames a new file
 * into place; gdnsd swaps zone data atomically and keeps the last good zone when a new one does not parse.
 * (It replaced a responder written in Node, which cost the router a second runtime: 49 MiB against ~7.)
 *
 * SRV targets are not IP literals (DNS does not allow that); they name `loopback.hop3.internal`, which the
 * container's /etc/hosts maps to 127.0.0.1. The name has dots on purpose: Go 1.19 (Debian's Caddy) matches
 * an absolute name such as "localhost." against /etc/hosts only when the entry itself has dots.
 */
import { createHash } from "node:crypto";
import { planRoutes } from "./route-plan.js";
import type { AppRoute } from "./routes.js";

export const UPSTREAM_ZONE = "upstreams.hop3.internal";
export const LOOPBACK_NAME = "loopback.hop3.internal";
/** The responder's UDP port; each router container gets its own loopback address (upstreamDnsAddress). */
export const UPSTREAM_DNS_PORT = 1053;
/** How often Caddy asks again; also how long a deploy waits before the old upstreams may go away. */
export const UPSTREAM_REFRESH_MS = 1_000;

/** The SRV name Caddy looks up for an app's web upstreams. */
export const upstreamName = (app: string) => `web.${app}.${UPSTREAM_ZONE}`;

/** Hosts the SRV target can stand for; anything else keeps its static upstreams in Caddy's configuration. */
export function isLoopbackUpstream(host: string): boolean {
  return host === "127.0.0.1" || host === "localhost";
}

/** The zone file the responder serves, in the router's configuration directory. */
export const UPSTREAM_ZONE_FILE = "upstreams.zone";

export interface UpstreamRecords {
  names: Record<string, { target: string; port: number }[]>;
}

/** The records file for a route table: every app whose upstreams are all on loopback, sorted. */
export function renderUpstreamRecords(routes: AppRoute[]): UpstreamRecords {
  const names: UpstreamRecords["names"] = {};
  for (const group of planRoutes(routes)) {
    if (group.upstreams.length === 0 || !group.upstreams.every((u) => isLoopbackUpstream(u.host))) continue;
    names[upstreamName(group.app)] = group.upstreams.map((u) => ({ target: LOOPBACK_NAME, port: u.port }));
  }
  return { names };
}

/**
 * The zone file for a route table (RFC 1035 master file, as gdnsd reads it; its origin is UPSTREAM_ZONE, the
 * file's name inside the container): SOA and NS for the zone itself, then one SRV record per upstream. Names
 * and targets come from renderUpstreamRecords, so they are validated app names and ports only.
 */
export function renderUpstreamZone(routes: AppRoute[]): string {
  const lines = [
    "; Hop3's upstreams for Caddy's dynamic upstreams (src/router/upstream-dns.ts); rewritten at each route change",
    "$TTL 1",
    "@ SOA ns1 hostmaster 1 3600 600 86400 1",
    // two name servers: gdnsd warns at every reload about a zone with one
    "@ NS ns1",
    "@ NS ns2",
    "ns1 A 127.0.0.1",
    "ns2 A 127.0.0.1",
  ];
  for (const [name, targets] of Object.entries(renderUpstreamRecords(routes).names)) {
    for (const t of targets) lines.push(`${name}. SRV 10 10 ${t.port} ${t.target}.`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * A loopback address of its own for each router container (127.53.x.y), so that a second router on the
 * same host (tests, a development server) never answers for this one.
 */
export function upstreamDnsAddress(containerName: string): string {
  const h = createHash("sha256").update(containerName).digest();
  return `127.53.${h[0]}.${(h[1]! % 254) + 1}:${UPSTREAM_DNS_PORT}`;
}

/** Apps whose set of upstreams lost a member between two tables: their old instances must stay up a little. */
export function appsLosingUpstreams(before: AppRoute[], after: AppRoute[]): string[] {
  const now = new Map(after.map((r) => [r.app, new Set(r.upstreams.map((u) => `${u.host}:${u.port}`))]));
  return before
    .filter((r) => r.upstreams.some((u) => !now.get(r.app)?.has(`${u.host}:${u.port}`)))
    .map((r) => r.app);
}
