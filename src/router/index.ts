import type Docker from "dockerode";
import { usageError } from "../util/errors.js";
import { CaddyRouter } from "./caddy-router.js";
import type { Router, RouterKind, RouterSettings } from "./routes.js";
import { TraefikRouter } from "./traefik-router.js";

export { CaddyRouter } from "./caddy-router.js";
export type { AppRoute, Router, RouterKind, RouterSettings, RouterStatus } from "./routes.js";
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
  log?: (line: string) => void;
}

export function createRouter(kind: RouterKind, deps: RouterDeps): Router {
  switch (kind) {
    case "caddy":
      return new CaddyRouter(deps);
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
