import { quoteForMessage, validateAppName } from "../app/name.js";
import { conflict, usageError } from "../util/errors.js";
import { CATCH_ALL_HOST, isWildcardHost, normalizeHostname } from "./hostnames.js";
import type { AppRoute } from "./routes.js";

export interface Upstream {
  host: string;
  port: number;
}

/** One group of hostnames of one app, in the order a router must try them. */
export interface HostGroup {
  app: string;
  /** "exact" names first, then "wildcard" (most labels first), then the single "catch-all". */
  kind: "exact" | "wildcard" | "catch-all";
  hosts: string[];
  upstreams: Upstream[];
}

/**
 * Validates and orders routes for both renderers: every hostname checked, each claimed by one app only,
 * upstreams deduplicated, everything sorted so the rendered configuration is byte-stable.
 */
export function planRoutes(routes: AppRoute[]): HostGroup[] {
  const owner = new Map<string, string>();
  const apps = new Set<string>();
  const groups: HostGroup[] = [];
  for (const route of [...routes].sort((a, b) => compare(a.app, b.app))) {
    const app = validateAppName(route.app);
    if (apps.has(app)) throw conflict(`app ${quoteForMessage(app)} appears twice in the route table`);
    apps.add(app);
    const hosts = [...new Set(route.hosts.map(normalizeHostname))].sort(compare);
    if (hosts.includes(CATCH_ALL_HOST) && hosts.length > 1) {
      throw usageError(`app ${quoteForMessage(app)}: the catch-all host "_" must be the app's only hostname`);
    }
    for (const host of hosts) {
      const other = owner.get(host);
      if (other !== undefined) {
        throw conflict(
          `hostname ${quoteForMessage(host)} is claimed by both ${quoteForMessage(other)} and ${quoteForMessage(app)}`,
          "remove the hostname from one of the apps",
        );
      }
      owner.set(host, app);
    }
    const upstreams = normalizeUpstreams(app, route.upstreams);
    const exact = hosts.filter((h) => h !== CATCH_ALL_HOST && !isWildcardHost(h));
    const wildcards = hosts.filter(isWildcardHost);
    if (exact.length > 0) groups.push({ app, kind: "exact", hosts: exact, upstreams });
    // One group per wildcard so that deeper wildcards can be ordered before shallower ones across apps.
    for (const w of wildcards) groups.push({ app, kind: "wildcard", hosts: [w], upstreams });
    if (hosts.includes(CATCH_ALL_HOST)) groups.push({ app, kind: "catch-all", hosts: [], upstreams });
  }
  const rank = { exact: 0, wildcard: 1, "catch-all": 2 } as const;
  const depth = (g: HostGroup) => (g.kind === "wildcard" ? g.hosts[0]!.split(".").length : 0);
  return groups.sort(
    (a, b) =>
      rank[a.kind] - rank[b.kind] ||
      depth(b) - depth(a) ||
      compare(a.hosts[0] ?? "", b.hosts[0] ?? "") ||
      compare(a.app, b.app),
  );
}

function normalizeUpstreams(app: string, upstreams: Upstream[]): Upstream[] {
  const seen = new Map<string, Upstream>();
  for (const u of upstreams) {
    if (!Number.isInteger(u.port) || u.port < 1 || u.port > 65535) {
      throw usageError(`app ${quoteForMessage(app)}: invalid upstream port ${quoteForMessage(u.port)}`);
    }
    const host = normalizeHostname(u.host);
    if (host === CATCH_ALL_HOST || isWildcardHost(host)) {
      throw usageError(`app ${quoteForMessage(app)}: invalid upstream host ${quoteForMessage(u.host)}`);
    }
    seen.set(`${host}:${u.port}`, { host, port: u.port });
  }
  return [...seen.values()].sort((a, b) => compare(a.host, b.host) || a.port - b.port);
}

export function upstreamAddress(u: Upstream): string {
  return `${u.host}:${u.port}`;
}

/** Locale-independent ordering: golden files must not depend on the machine. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
