import { createRequire } from "node:module";
import { wantsCertificate } from "./hostnames.js";
import { type HostGroup, planRoutes, upstreamAddress } from "./route-plan.js";
import type { AppRoute, RouterSettings } from "./routes.js";

// yaml is loaded when a Traefik file is first rendered: a Caddy host (the default) never needs it, and it is
// ~3 MiB of an idle server. Synchronous, so the renderers stay plain functions.
const require = createRequire(import.meta.url);
function stringify(
  value: unknown,
  options: import("yaml").ToStringOptions & import("yaml").DocumentOptions & import("yaml").SchemaOptions,
): string {
  return (require("yaml") as typeof import("yaml")).stringify(value, options);
}

export const TRAEFIK_ENTRYPOINT_HTTP = "web";
export const TRAEFIK_ENTRYPOINT_HTTPS = "websecure";
export const TRAEFIK_CERT_RESOLVER = "hop3";
const REDIRECT_MIDDLEWARE = "hop3-redirect-https";
const RETRY_MIDDLEWARE = "hop3-retry";

export interface TraefikPaths {
  /** Directory the file provider watches (as Traefik sees it). */
  dynamicDir: string;
  /** ACME account and certificate store (as Traefik sees it). */
  acmeStorage: string;
}

export interface TraefikStaticOptions {
  /** Where Traefik answers /ping, so Hop3 can tell it is up; loopback only. */
  pingAddress?: string;
  /** PEM files, as Traefik sees them, to trust for the ACME directory. */
  acmeCaCertificates?: string[];
}

type Json = Record<string, unknown>;

/**
 * Traefik's dynamic configuration (file provider) for the route table. Hostnames were validated by
 * planRoutes, so they cannot contain a backtick or `{{` (the file provider renders files as Go templates).
 */
export function renderTraefikDynamic(routes: AppRoute[], settings: RouterSettings): string {
  const groups = planRoutes(routes);
  const tlsOn = settings.tls === "auto";
  const routers: Json = {};
  const services: Json = {};
  const middlewares: Json = {
    [RETRY_MIDDLEWARE]: { retry: { attempts: 3, initialInterval: "100ms" } },
  };
  let redirects = false;

  const wildcardCount = new Map<string, number>();
  for (const group of groups) {
    if (group.upstreams.length === 0) continue; // no service without servers: the host answers 404
    const service = group.app;
    services[service] = {
      loadBalancer: {
        servers: group.upstreams.map((u) => ({ url: `http://${upstreamAddress(u)}` })),
        passHostHeader: true,
      },
    };
    let base = group.app;
    // "_" cannot occur in app names, so these suffixes never collide with another app's router.
    if (group.kind === "catch-all") base = `${group.app}_catch-all`;
    if (group.kind === "wildcard") {
      const n = wildcardCount.get(group.app) ?? 0;
      wildcardCount.set(group.app, n + 1);
      base = `${group.app}_wildcard-${n}`;
    }
    const secureHosts = tlsOn ? group.hosts.filter(wantsCertificate) : [];
    const plainHosts = group.hosts.filter((h) => !secureHosts.includes(h));
    const priority = priorityOf(group);
    if (group.kind === "catch-all" || plainHosts.length > 0) {
      routers[base] = {
        entryPoints: [TRAEFIK_ENTRYPOINT_HTTP],
        rule: ruleFor(group, plainHosts),
        priority,
        middlewares: [RETRY_MIDDLEWARE],
        service,
      };
    }
    if (secureHosts.length > 0) {
      redirects = true;
      routers[`${base}_redirect`] = {
        entryPoints: [TRAEFIK_ENTRYPOINT_HTTP],
        rule: ruleFor(group, secureHosts),
        priority,
        middlewares: [REDIRECT_MIDDLEWARE],
        service,
      };
      routers[`${base}_secure`] = {
        entryPoints: [TRAEFIK_ENTRYPOINT_HTTPS],
        rule: ruleFor(group, secureHosts),
        priority,
        middlewares: [RETRY_MIDDLEWARE],
        service,
        tls: { certResolver: TRAEFIK_CERT_RESOLVER },
      };
    }
  }
  if (redirects) {
    middlewares[REDIRECT_MIDDLEWARE] = {
      redirectScheme: { scheme: "https", port: String(settings.httpsPort), permanent: true },
    };
  }
  const http: Json = {
    routers: sortKeys(routers),
    services: sortKeys(services),
    middlewares: sortKeys(middlewares),
  };
  return stringify({ http }, { sortMapEntries: false, lineWidth: 0 });
}

/** Traefik's static configuration: entry points, the watched file provider, and the ACME resolver. */
export function renderTraefikStatic(
  settings: RouterSettings,
  paths: TraefikPaths,
  opts: TraefikStaticOptions = {},
): string {
  const entryPoints: Json = {
    [TRAEFIK_ENTRYPOINT_HTTP]: { address: `:${settings.httpPort}` },
  };
  if (settings.tls === "auto") entryPoints[TRAEFIK_ENTRYPOINT_HTTPS] = { address: `:${settings.httpsPort}` };
  const pingAddress = opts.pingAddress ?? "127.0.0.1:8082";
  entryPoints.ping = { address: pingAddress };

  const config: Json = {
    global: { checkNewVersion: false, sendAnonymousUsage: false },
    log: { level: "INFO" },
    entryPoints,
    ping: { entryPoint: "ping" },
    providers: { file: { directory: paths.dynamicDir, watch: true } },
  };
  if (settings.tls === "auto") {
    const acme: Json = {
      storage: paths.acmeStorage,
      httpChallenge: { entryPoint: TRAEFIK_ENTRYPOINT_HTTP },
    };
    if (settings.acmeEmail) acme.email = settings.acmeEmail;
    if (settings.acmeCa) acme.caServer = settings.acmeCa;
    if (opts.acmeCaCertificates?.length) acme.caCertificates = opts.acmeCaCertificates;
    config.certificatesResolvers = { [TRAEFIK_CERT_RESOLVER]: { acme } };
  }
  return stringify(config, { lineWidth: 0 });
}

function ruleFor(group: HostGroup, hosts: string[]): string {
  if (group.kind === "catch-all") return "PathPrefix(`/`)";
  return hosts
    .map((h) =>
      h.startsWith("*.")
        ? `HostRegexp(\`^[a-z0-9-]+\\.${h.slice(2).replaceAll(".", "\\.")}$\`)`
        : `Host(\`${h}\`)`,
    )
    .join(" || ");
}

/**
 * Traefik orders routers by rule length unless told otherwise; explicit priorities keep the Caddy order:
 * exact names, then deeper wildcards, then the catch-all (priority 1, below every other router).
 */
function priorityOf(group: HostGroup): number {
  if (group.kind === "exact") return 1000;
  if (group.kind === "wildcard") return 100 + group.hosts[0]!.split(".").length;
  return 1;
}

function sortKeys(obj: Json): Json {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
