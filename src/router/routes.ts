import type { RunningInstance } from "../runtime/containers.js";

/** What the router needs to know about one app: the names it answers to and where its web processes listen. */
export interface AppRoute {
  app: string;
  /** Hostnames (lowercase DNS names, `*.example.com` wildcards, IPv4 literals, or `_` for every other host). */
  hosts: string[];
  upstreams: { host: string; port: number }[];
  /** The app's default hostname (APP.BASE_DOMAIN): its own, whatever else claims it (route-plan.ts). */
  defaultHost?: string;
}

export interface RouterSettings {
  httpPort: number;
  httpsPort: number;
  tls: "off" | "auto";
  acmeEmail?: string;
  /** ACME directory URL; Let's Encrypt when absent (tests point it at Pebble). */
  acmeCa?: string;
  /** Host path of a PEM bundle to trust when talking to `acmeCa` (a private or test CA such as Pebble). */
  acmeCaRootFile?: string;
  /**
   * Caddy only. `static`: upstreams are part of the configuration (every deploy reloads Caddy); `dns`: Caddy
   * looks them up in the router container's own responder, so deploys never reload it (src/router/upstream-dns.ts).
   */
  upstreams?: UpstreamsMode;
}

export type UpstreamsMode = "static" | "dns";

export type RouterKind = "caddy" | "traefik";

export interface RouterStatus {
  running: boolean;
  container?: string;
  detail?: string;
}

/** Hop3's HTTP(S) front door: one container, reconfigured without restarts. */
export interface Router {
  readonly kind: RouterKind;
  ensureRunning(): Promise<void>;
  /** `instances`: the containers the table was computed from, where the router needs more than upstreams. */
  apply(routes: AppRoute[], instances: RunningInstance[]): Promise<void>;
  status(): Promise<RouterStatus>;
  stop(): Promise<void>;
}

export const ROUTER_KINDS: readonly RouterKind[] = ["caddy", "traefik"];

export const DEFAULT_ROUTER_SETTINGS: RouterSettings = { httpPort: 80, httpsPort: 443, tls: "auto" };
