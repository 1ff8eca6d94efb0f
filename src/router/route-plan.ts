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

/** An entry of the route table left out because it is invalid or claimed by another app, and why. */
export interface DroppedRoute {
  app: string;
  /** The hostname or upstream dropped; absent when the whole entry of the app was dropped. */
  what?: string;
  kind: "conflict" | "usage";
  reason: string;
}

/**
 * The route table cleaned of whatever cannot be served, entry by entry: an invalid hostname or upstream, a
 * hostname already claimed, a second entry for the same app. What remains is valid as a whole, so one app's
 * bad route never stops the others from being routed. Claims: an app's default hostname (`defaultHost`) is
 * its own whatever else claims it; other hostnames go to the first app by name.
 */
export function resolveRoutes(routes: AppRoute[]): { routes: AppRoute[]; dropped: DroppedRoute[] } {
  const dropped: DroppedRoute[] = [];
  const kept: AppRoute[] = [];
  const apps = new Set<string>();
  for (const route of [...routes].sort((a, b) => compare(String(a.app), String(b.app)))) {
    let app: string;
    try {
      app = validateAppName(route.app);
    } catch (err) {
      dropped.push({ app: String(route.app), kind: "usage", reason: (err as Error).message });
      continue;
    }
    if (apps.has(app)) {
      dropped.push({
        app,
        kind: "conflict",
        reason: `app ${quoteForMessage(app)} appears twice in the route table`,
      });
      continue;
    }
    apps.add(app);
    const hosts: string[] = [];
    for (const h of route.hosts) {
      try {
        hosts.push(normalizeHostname(h));
      } catch (err) {
        dropped.push({
          app,
          what: String(h),
          kind: "usage",
          reason: `app ${quoteForMessage(app)}: ${(err as Error).message}`,
        });
      }
    }
    const upstreams: Upstream[] = [];
    for (const u of route.upstreams) {
      try {
        upstreams.push(...normalizeUpstreams(app, [u]));
      } catch (err) {
        dropped.push({ app, what: `${u.host}:${u.port}`, kind: "usage", reason: (err as Error).message });
      }
    }
    const defaultHost = route.defaultHost?.toLowerCase();
    kept.push({
      app,
      hosts: [...new Set(hosts)],
      upstreams: normalizeUpstreams(app, upstreams), // already valid: deduplicated and sorted
      ...(defaultHost ? { defaultHost } : {}),
    });
  }
  // Default hostnames first: they belong to their app by its name, whatever order the apps come in.
  const owner = new Map<string, string>();
  for (const r of kept) if (r.defaultHost && r.hosts.includes(r.defaultHost)) owner.set(r.defaultHost, r.app);
  const out: AppRoute[] = [];
  for (const r of kept) {
    const hosts = r.hosts.filter((host) => {
      const other = owner.get(host);
      if (other === undefined) {
        owner.set(host, r.app);
        return true;
      }
      if (other === r.app) return true;
      dropped.push({
        app: r.app,
        what: host,
        kind: "conflict",
        reason: `hostname ${quoteForMessage(host)} is claimed by both ${quoteForMessage(other)} and ${quoteForMessage(r.app)}`,
      });
      return false;
    });
    out.push({ ...r, hosts });
  }
  return { routes: out, dropped };
}

/**
 * Validates and orders routes for both renderers: every hostname checked, each claimed by one app only,
 * upstreams deduplicated, everything sorted so the rendered configuration is byte-stable. Strict: anything
 * resolveRoutes would drop is an error here (the platform resolves its table before it reaches a router).
 */
export function planRoutes(routes: AppRoute[]): HostGroup[] {
  const resolved = resolveRoutes(routes);
  const first = resolved.dropped[0];
  if (first) {
    throw first.kind === "conflict"
      ? conflict(first.reason, "remove the hostname from one of the apps")
      : usageError(first.reason);
  }
  const groups: HostGroup[] = [];
  for (const route of resolved.routes) {
    const { app, upstreams } = route;
    const hosts = [...route.hosts].sort(compare);
    const exact = hosts.filter((h) => h !== CATCH_ALL_HOST && !isWildcardHost(h));
    const wildcards = hosts.filter(isWildcardHost);
    if (exact.length > 0) groups.push({ app, kind: "exact", hosts: exact, upstreams });
    // One group per wildcard so that deeper wildcards can be ordered before shallower ones across apps.
    for (const w of wildcards) groups.push({ app, kind: "wildcard", hosts: [w], upstreams });
    // The catch-all beside names: the app answers its names and every hostname no other app claims.
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
