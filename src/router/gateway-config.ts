/**
 * The app gateway's configuration (issue 9: no published ports). Apps publish no port on the host: their web
 * processes listen on their own app network only, inside the hop3 user's rootless network namespace. The
 * gateway is one nginx (stream module) container joined to every app network; it listens on Unix sockets
 * only, in a directory of the hop3 user's that no other local user can enter, and forwards each connection
 * to the container addresses on that app's network:
 *
 *     a/APP.sock       what the router dials for APP: its routed web instances, round robin
 *     i/CONTAINER.sock one web instance, whether routed or not: the health gate checks it before it is routed
 *     gen/N.sock       answers "N": the configuration of generation N is loaded (how a reload is awaited)
 *
 * Pure: a table in, nginx.conf text out; the adapter (app-gateway.ts) writes it and signals nginx.
 */
import { usageError } from "../util/errors.js";

/**
 * Paths inside the gateway container (images/gateway/). The router mounts the directory of every gateway
 * container's socket directory there, and dials through `current`, the link to the one that serves
 * (app-gateway.ts).
 */
export const GATEWAY_SOCKET_DIR = "/run/hop3-gateway";
export const CURRENT_GATEWAY = "current";

export interface GatewayInstance {
  /** Container name: names its socket. */
  name: string;
  app: string;
  ip: string;
  port: number;
}

export interface GatewayTable {
  /** Increases with every configuration: its socket tells that nginx loaded this one. */
  generation: number;
  instances: GatewayInstance[];
  /** App -> the instance addresses its socket forwards to (the routed ones). */
  apps: Record<string, { ip: string; port: number }[]>;
}

/**
 * Connections one nginx worker holds at most: each forwarded connection takes two (the router's, the
 * instance's), so 8,192 at once for all apps together (the container's open-file limit is raised to its hard
 * limit first, images/gateway/entrypoint.sh).
 */
export const GATEWAY_WORKER_CONNECTIONS = 16384;
/**
 * Connections one app's socket takes at most: a quarter of what the gateway holds, so that a flood of slow
 * requests to one app (its own clients, or an app that never answers) cannot take the others' share. Past it,
 * nginx closes the new connection at once: that app's clients get 502 from the router, no other app notices.
 */
export const APP_CONNECTION_LIMIT = 2048;

const NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;

/** Socket paths relative to the socket directory (the same on the host and in both containers). */
export const appSocket = (app: string) => `a/${app}.sock`;
export const instanceSocket = (container: string) => `i/${container}.sock`;
export const generationSocket = (generation: number) => `gen/${generation}.sock`;

function checkName(what: string, name: string): string {
  if (!NAME.test(name)) throw usageError(`gateway: invalid ${what} ${JSON.stringify(name)}`);
  return name;
}

function address(ip: string, port: number): string {
  if (!IPV4.test(ip)) throw usageError(`gateway: invalid address ${JSON.stringify(ip)}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw usageError(`gateway: invalid port ${JSON.stringify(port)}`);
  }
  return `${ip}:${port}`;
}

/**
 * nginx.conf for a table. Everything in it comes from validated names, IPv4 literals and port numbers, so
 * nothing an app chose can add a directive. Sorted, so the same table always gives the same bytes.
 */
export function renderGatewayConfig(table: GatewayTable): string {
  const dir = GATEWAY_SOCKET_DIR;
  const out = [
    "# Hop3's app gateway (src/router/gateway-config.ts): rewritten by hop3-server, reloaded by SIGHUP.",
    "load_module /usr/lib/nginx/modules/ngx_stream_module.so;",
    "worker_processes 1;",
    "pid /run/nginx.pid;",
    "error_log stderr warn;",
    "events {",
    `  worker_connections ${GATEWAY_WORKER_CONNECTIONS};`,
    "}",
    "stream {",
    // one counter per listening socket: $server_addr is the socket's path (unix:/run/hop3-gateway/a/APP.sock)
    "  limit_conn_zone $server_addr zone=per_app:1m;",
    // a refused connection is not worth a line each: a flood would fill the gateway's log
    "  limit_conn_log_level info;",
    // an instance that refuses is skipped for the next one within the same connection attempt
    "  proxy_connect_timeout 3s;",
    "  proxy_next_upstream on;",
    "  proxy_next_upstream_tries 3;",
    // no idle timeout shorter than a long poll or a WebSocket: the router's own timeouts apply
    "  proxy_timeout 1h;",
    `  server {`,
    `    listen unix:${dir}/${generationSocket(checkGeneration(table.generation))};`,
    `    return "${table.generation}\\n";`,
    "  }",
  ];
  const instances = [...table.instances].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const inst of instances) {
    checkName("app", inst.app);
    out.push(
      "  server {",
      `    listen unix:${dir}/${instanceSocket(checkName("container", inst.name))};`,
      `    proxy_pass ${address(inst.ip, inst.port)};`,
      "  }",
    );
  }
  for (const app of Object.keys(table.apps).sort()) {
    const ups = [...new Set(table.apps[app]!.map((u) => address(u.ip, u.port)))].sort();
    if (ups.length === 0) continue;
    const id = `app_${checkName("app", app).replace(/[^a-z0-9]/g, "_")}_${hash(app)}`;
    out.push(`  upstream ${id} {`);
    for (const u of ups) out.push(`    server ${u} max_fails=1 fail_timeout=5s;`);
    out.push(
      "  }",
      "  server {",
      `    listen unix:${dir}/${appSocket(app)};`,
      `    limit_conn per_app ${APP_CONNECTION_LIMIT};`,
      `    proxy_pass ${id};`,
      "  }",
    );
  }
  out.push("}", "");
  return out.join("\n");
}

function checkGeneration(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw usageError(`gateway: invalid generation ${n}`);
  return n;
}

/** Distinguishes apps whose names differ only in characters an upstream name cannot hold (a-b and a_b). */
function hash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36);
}
