import { describe, expect, it } from "vitest";
import { APP_DOWN_BODY, renderCaddyConfig } from "../../../src/router/caddy-config.js";
import {
  APP_CONNECTION_LIMIT,
  appSocket,
  GATEWAY_SOCKET_DIR,
  GATEWAY_WORKER_CONNECTIONS,
  type GatewayTable,
  renderGatewayConfig,
} from "../../../src/router/gateway-config.js";
import { expectGolden, sampleRoutes, tlsOff } from "./fixtures.js";

const table = (): GatewayTable => ({
  generation: 42,
  instances: [
    { name: "hop3-blog-web-2-b", app: "blog", ip: "10.89.3.253", port: 5000 },
    { name: "hop3-blog-web-1-a", app: "blog", ip: "10.89.3.254", port: 5000 },
    { name: "hop3-api-web-1-a", app: "api", ip: "10.89.4.254", port: 8080 },
  ],
  apps: {
    blog: [
      { ip: "10.89.3.254", port: 5000 },
      { ip: "10.89.3.253", port: 5000 },
    ],
    api: [{ ip: "10.89.4.254", port: 8080 }],
    down: [],
  },
});

describe("renderGatewayConfig", () => {
  it("matches the reviewed golden file", () => {
    expectGolden("gateway-nginx.conf", renderGatewayConfig(table()));
  });

  it("is deterministic whatever the input order", () => {
    const t = table();
    t.instances.reverse();
    t.apps.blog!.reverse();
    t.apps = Object.fromEntries(Object.entries(t.apps).reverse());
    expect(renderGatewayConfig(t)).toBe(renderGatewayConfig(table()));
  });

  it("listens on the generation socket and answers its number, so a reload can be awaited", () => {
    const conf = renderGatewayConfig(table());
    expect(conf).toContain(`listen unix:${GATEWAY_SOCKET_DIR}/gen/42.sock;`);
    expect(conf).toContain('return "42\\n";');
  });

  it("gives an app with no routed instance no socket: the router answers 'app down' itself", () => {
    const conf = renderGatewayConfig(table());
    expect(conf).not.toContain(appSocket("down"));
    expect(conf).toContain(`listen unix:${GATEWAY_SOCKET_DIR}/${appSocket("blog")};`);
  });

  it("keeps apps apart whose names only differ in characters an upstream name cannot hold", () => {
    const conf = renderGatewayConfig({
      generation: 1,
      instances: [],
      apps: { "a-b": [{ ip: "10.89.1.254", port: 1 }], "a.b": [{ ip: "10.89.2.254", port: 1 }] },
    });
    const names = [...conf.matchAll(/upstream (\S+) \{/g)].map((m) => m[1]);
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
  });

  it("caps each app's socket on its own (a flood to one app cannot take the others' connections)", () => {
    const conf = renderGatewayConfig(table());
    // one counter per listening socket
    expect(conf).toContain("limit_conn_zone $server_addr zone=per_app:1m;");
    const servers = conf.split("  server {").slice(1);
    const appServers = servers.filter((b) => b.includes("/a/"));
    expect(appServers).toHaveLength(2);
    for (const b of appServers) expect(b).toContain(`limit_conn per_app ${APP_CONNECTION_LIMIT};`);
    // the health gate's instance sockets and the reload marker are the server's own: not capped
    for (const b of servers.filter((b) => !b.includes("/a/"))) expect(b).not.toContain("limit_conn");
    // the cap leaves room for the other apps: at most a quarter of the sessions the worker holds
    expect(APP_CONNECTION_LIMIT * 2 * 4).toBeLessThanOrEqual(GATEWAY_WORKER_CONNECTIONS);
    expect(conf).toContain(`worker_connections ${GATEWAY_WORKER_CONNECTIONS};`);
  });

  it("refuses anything that could add a directive: names, addresses, ports, generations", () => {
    const bad: GatewayTable[] = [
      {
        generation: 1,
        instances: [{ name: "x; include /etc/passwd", app: "a", ip: "10.0.0.1", port: 1 }],
        apps: {},
      },
      { generation: 1, instances: [{ name: "x", app: "../a", ip: "10.0.0.1", port: 1 }], apps: {} },
      { generation: 1, instances: [{ name: "x", app: "a", ip: "10.0.0.1;", port: 1 }], apps: {} },
      { generation: 1, instances: [{ name: "x", app: "a", ip: "evil.example", port: 1 }], apps: {} },
      { generation: 1, instances: [{ name: "x", app: "a", ip: "10.0.0.1", port: 70000 }], apps: {} },
      { generation: 1, instances: [], apps: { "a}": [{ ip: "10.0.0.1", port: 1 }] } },
      { generation: -1, instances: [], apps: {} },
      { generation: 1.5, instances: [], apps: {} },
    ];
    for (const t of bad) expect(() => renderGatewayConfig(t), JSON.stringify(t)).toThrow(/gateway: invalid/);
  });
});

describe("renderCaddyConfig through the gateway", () => {
  it("dials each app's gateway socket, one upstream, and still answers 'app down' for an app without instances", () => {
    const config = renderCaddyConfig(sampleRoutes(), tlsOff, {
      adminSocket: "/run/hop3-router/admin.sock",
      storageDir: "/data",
      gatewaySocketDir: GATEWAY_SOCKET_DIR,
    }) as {
      apps: {
        http: {
          servers: Record<
            string,
            { routes: { match?: { host: string[] }[]; handle: Record<string, unknown>[] }[] }
          >;
        };
      };
    };
    const routes = config.apps.http.servers.http!.routes;
    const of = (host: string) => routes.find((r) => r.match?.[0]?.host.includes(host))?.handle[0];
    expect(of("blog.example.com")).toMatchObject({
      handler: "reverse_proxy",
      upstreams: [{ dial: `unix/${GATEWAY_SOCKET_DIR}/${appSocket("blog")}` }],
      // A kept-alive connection would stay with a replaced gateway generation (app-gateway.ts).
      transport: { keep_alive: { enabled: false } },
    });
    expect(JSON.stringify(config)).not.toContain("127.0.0.1:800");
    expect(JSON.stringify(of("down.example.com"))).toContain(JSON.stringify(APP_DOWN_BODY));
  });
});
