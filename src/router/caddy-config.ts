import { appSocket } from "./gateway-config.js";
import { wantsCertificate } from "./hostnames.js";
import { type HostGroup, planRoutes, upstreamAddress } from "./route-plan.js";
import type { AppRoute, RouterSettings } from "./routes.js";
import { isLoopbackUpstream, UPSTREAM_REFRESH_MS, upstreamName } from "./upstream-dns.js";

export interface CaddyRenderOptions {
  /** Path of the admin API's unix socket, as Caddy sees it (inside the container). */
  adminSocket: string;
  /** Directory where Caddy keeps certificates and ACME accounts, as Caddy sees it. */
  storageDir: string;
  /** PEM file, as Caddy sees it, to trust for the ACME directory (copied from settings.acmeCaRootFile). */
  acmeTrustedRootsFile?: string;
  /**
   * The upstream DNS responder ("ip:port", as Caddy sees it): apps whose upstreams are all on loopback get
   * SRV-based dynamic upstreams instead of a fixed list, so that changing them needs no reload.
   */
  upstreamDns?: string;
  /**
   * The app gateway's socket directory, as Caddy sees it: every app is then reached through its one socket
   * there (the gateway balances over the app's instances), and the upstream addresses in the table, which
   * Caddy cannot reach, stay out of the configuration (router/gateway-config.ts).
   */
  gatewaySocketDir?: string;
}

export const NO_APP_BODY = "no app is deployed at this hostname\n";
export const APP_DOWN_BODY = "this app has no running web process\n";

type Json = Record<string, unknown>;

/**
 * Caddy's JSON configuration for the route table. Two servers: plain HTTP for every host (redirecting the
 * certificate-bearing ones to HTTPS when tls is "auto"), and HTTPS for those hosts with Caddy's automatic
 * certificate management. The HTTPS server's own redirects are disabled because the HTTP server owns the port.
 */
export function renderCaddyConfig(
  routes: AppRoute[],
  settings: RouterSettings,
  opts: CaddyRenderOptions,
): Json {
  const groups = planRoutes(routes);
  const tlsOn = settings.tls === "auto";
  const tlsHostsOf = (g: HostGroup) => (tlsOn ? g.hosts.filter(wantsCertificate) : []);
  const certificateHosts = groups.flatMap(tlsHostsOf).sort();

  const httpRoutes: Json[] = [];
  if (certificateHosts.length > 0) {
    httpRoutes.push({ match: [{ host: certificateHosts }], handle: [redirectToHttps(settings.httpsPort)] });
  }
  for (const group of groups) {
    const plainHosts = group.hosts.filter((h) => !tlsHostsOf(group).includes(h));
    if (group.kind === "catch-all") httpRoutes.push(appRoute(group, undefined, opts));
    else if (plainHosts.length > 0) httpRoutes.push(appRoute(group, plainHosts, opts));
  }
  httpRoutes.push(notFoundRoute());

  const servers: Json = {
    http: {
      listen: [`:${settings.httpPort}`],
      routes: httpRoutes,
      // This server only speaks HTTP; certificate management is the HTTPS server's business.
      automatic_https: { disable: true },
    },
  };
  if (certificateHosts.length > 0) {
    const httpsRoutes = groups.flatMap((g) => {
      const hosts = tlsHostsOf(g);
      return hosts.length > 0 ? [appRoute(g, hosts, opts)] : [];
    });
    servers.https = {
      listen: [`:${settings.httpsPort}`],
      routes: [...httpsRoutes, notFoundRoute()],
      automatic_https: { disable_redirects: true },
    };
  }

  const config: Json = {
    // Caddy checks the Host header of admin requests; Hop3's client always sends "localhost".
    admin: { listen: `unix/${opts.adminSocket}`, origins: ["localhost"], config: { persist: false } },
    storage: { module: "file_system", root: opts.storageDir },
    logging: { logs: { default: { level: "INFO", writer: { output: "stderr" } } } },
    apps: {
      http: { http_port: settings.httpPort, https_port: settings.httpsPort, servers },
      ...(certificateHosts.length > 0 ? { tls: tlsApp(certificateHosts, settings, opts) } : {}),
    },
  };
  return config;
}

function appRoute(group: HostGroup, hosts: string[] | undefined, opts: CaddyRenderOptions): Json {
  const handle =
    group.upstreams.length === 0
      ? textResponse(503, APP_DOWN_BODY)
      : opts.gatewaySocketDir
        ? throughGateway(group, opts.gatewaySocketDir)
        : reverseProxy(group, opts.upstreamDns);
  return { ...(hosts ? { match: [{ host: hosts }] } : {}), handle: [handle], terminal: true };
}

function reverseProxy(group: HostGroup, upstreamDns: string | undefined): Json {
  // Dynamic only when the SRV target (loopback) can stand for every upstream. The ports are then absent from
  // the configuration, so a deploy leaves it byte-identical; only "has upstreams or not" remains in it.
  const dynamic = upstreamDns !== undefined && group.upstreams.every((u) => isLoopbackUpstream(u.host));
  return {
    handler: "reverse_proxy",
    ...(dynamic
      ? {
          dynamic_upstreams: {
            source: "srv",
            // Absolute, so that the resolver does not walk the host's search domains.
            name: `${upstreamName(group.app)}.`,
            refresh: `${UPSTREAM_REFRESH_MS}ms`,
            resolver: { addresses: [`udp/${upstreamDns}`] },
            dial_timeout: "1s",
          },
        }
      : { upstreams: group.upstreams.map((u) => ({ dial: upstreamAddress(u) })) }),
    load_balancing: {
      selection_policy: { policy: "round_robin" },
      // A refused dial is retried on another upstream within this window, so a replaced or dead
      // container does not surface as an error while a deploy swaps upstreams.
      try_duration: "5s",
      try_interval: "100ms",
    },
    health_checks: {
      // Passive: an upstream whose dials fail is skipped for a few seconds, without probe traffic. Short,
      // because with a single upstream "skipped" means "down"; try_duration outlasts it.
      passive: { fail_duration: "3s", max_fails: 2 },
    },
    transport: { protocol: "http", dial_timeout: "3s" },
  };
}

/**
 * One upstream, the app's gateway socket: its address never changes, so deploys leave Caddy's configuration
 * byte-identical. No passive health here: the gateway skips failing instances itself, and marking the only
 * upstream down would turn a blip into seconds of errors.
 *
 * No keep-alive: the socket path goes through the `current` symlink, which a new gateway generation takes
 * over (router/app-gateway.ts). A kept-alive connection would stay with the old generation, and a request
 * sent on it as that gateway closes it at its stop is lost (a POST is not retried: a 502). A new connection
 * per request follows the symlink; on a Unix socket it costs a connect, no handshake.
 */
function throughGateway(group: HostGroup, socketDir: string): Json {
  return {
    handler: "reverse_proxy",
    upstreams: [{ dial: `unix/${socketDir}/${appSocket(group.app)}` }],
    load_balancing: { try_duration: "5s", try_interval: "100ms" },
    transport: { protocol: "http", dial_timeout: "3s", keep_alive: { enabled: false } },
  };
}

function redirectToHttps(httpsPort: number): Json {
  const port = httpsPort === 443 ? "" : `:${httpsPort}`;
  return {
    handler: "static_response",
    status_code: 308,
    headers: { Location: [`https://{http.request.host}${port}{http.request.uri}`] },
  };
}

function notFoundRoute(): Json {
  return { handle: [textResponse(404, NO_APP_BODY)], terminal: true };
}

function textResponse(status: number, body: string): Json {
  return {
    handler: "static_response",
    status_code: status,
    headers: { "Content-Type": ["text/plain; charset=utf-8"] },
    body,
  };
}

function tlsApp(hosts: string[], settings: RouterSettings, opts: CaddyRenderOptions): Json {
  const issuer: Json = { module: "acme" };
  if (settings.acmeCa) issuer.ca = settings.acmeCa;
  if (settings.acmeEmail) issuer.email = settings.acmeEmail;
  if (opts.acmeTrustedRootsFile) issuer.trusted_roots_pem_files = [opts.acmeTrustedRootsFile];
  return { automation: { policies: [{ subjects: hosts, issuers: [issuer] }] } };
}
