import type Docker from "dockerode";
import { usageError } from "../util/errors.js";
import { CaddyRouter } from "./caddy-router.js";
import type { RouterRunner } from "./router-runner.js";
import type { Router, RouterKind, RouterSettings } from "./routes.js";
import { TraefikRouter } from "./traefik-router.js";

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
  /** Caddy only: host directory of the app gateway's sockets, when apps are reached through it. */
  gatewaySocketDir?: string;
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
