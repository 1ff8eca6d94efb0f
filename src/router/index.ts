import type Docker from "dockerode";
import { usageError } from "../util/errors.js";
import { CaddyRouter } from "./caddy-router.js";
import type { RouterRunner } from "./router-runner.js";
import type { Router, RouterKind, RouterSettings } from "./routes.js";
import { TraefikRouter } from "./traefik-router.js";
import { upstreamsModeFromEnv } from "./upstream-dns.js";

export { CaddyRouter } from "./caddy-router.js";
export { PodmanRouterRunner, QuadletRouterRunner, type RouterRunner } from "./router-runner.js";
export type { AppRoute, Router, RouterKind, RouterSettings, RouterStatus, UpstreamsMode } from "./routes.js";
export { TraefikRouter } from "./traefik-router.js";

export interface RouterDeps {
  docker: Docker;
  stateDir: string;
  settings: RouterSettings;
  /** Caddy only: the image its router image is built FROM. */
  baseImage: string;
  /** Caddy only: the repository's images/ directory. */
  imagesDir: string;
  containerName?: string;
  /** Podman's restart policy (default) or a quadlet under systemd: follows the app supervisor. */
  runner?: RouterRunner;
  log?: (line: string) => void;
}

export function createRouter(kind: RouterKind, deps: RouterDeps): Router {
  switch (kind) {
    case "caddy":
      // Until the server's settings carry it, the mode comes from the environment (/etc/hop3/hop3.env).
      return new CaddyRouter({
        ...deps,
        settings: { ...deps.settings, upstreams: deps.settings.upstreams ?? upstreamsModeFromEnv() },
      });
    case "traefik":
      return new TraefikRouter(deps);
    default:
      throw usageError(`unknown router ${JSON.stringify(kind)}`, "HOP3_ROUTER is `caddy` or `traefik`");
  }
}

/** The router named by HOP3_ROUTER; Caddy by default, because it can be built without a registry. */
export function routerKindFromEnv(env: NodeJS.ProcessEnv = process.env): RouterKind {
  const value = (env.HOP3_ROUTER ?? "caddy").trim().toLowerCase();
  if (value === "caddy" || value === "traefik") return value;
  throw usageError(
    `HOP3_ROUTER=${JSON.stringify(env.HOP3_ROUTER)} is not a router Hop3 knows`,
    "use `caddy` or `traefik`",
  );
}

/** Router settings from the server's environment (/etc/hop3/hop3.env; docs/install.md lists the variables). */
export function routerSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RouterSettings {
  const tls = (env.HOP3_TLS ?? "auto").trim().toLowerCase();
  if (tls !== "auto" && tls !== "off") {
    throw usageError(`HOP3_TLS=${JSON.stringify(env.HOP3_TLS)} is not a TLS mode`, "use `auto` or `off`");
  }
  const settings: RouterSettings = {
    httpPort: port(env, "HOP3_HTTP_PORT", 80),
    httpsPort: port(env, "HOP3_HTTPS_PORT", 443),
    tls,
  };
  if (env.HOP3_ACME_EMAIL) settings.acmeEmail = env.HOP3_ACME_EMAIL;
  if (env.HOP3_ACME_CA) settings.acmeCa = env.HOP3_ACME_CA;
  if (env.HOP3_ACME_CA_ROOT) settings.acmeCaRootFile = env.HOP3_ACME_CA_ROOT;
  if (env.HOP3_ROUTER_UPSTREAMS) settings.upstreams = upstreamsModeFromEnv(env);
  if (settings.httpPort === settings.httpsPort) {
    throw usageError(`HOP3_HTTP_PORT and HOP3_HTTPS_PORT are both ${settings.httpPort}`);
  }
  return settings;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw usageError(`${name}=${JSON.stringify(raw)} is not a port number`);
  }
  return value;
}
