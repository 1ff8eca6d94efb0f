import { describe, expect, it } from "vitest";
import { APP_DOWN_BODY, NO_APP_BODY, renderCaddyConfig } from "../../../src/router/caddy-config.js";
import { expectGolden, sampleRoutes, tlsAuto, tlsOff } from "./fixtures.js";

const opts = { adminSocket: "/run/hop3-router/admin.sock", storageDir: "/data" };

// biome-ignore lint/suspicious/noExplicitAny: walking untyped Caddy JSON
type AnyJson = any;

function server(config: AnyJson, name: string): AnyJson {
  return config.apps.http.servers[name];
}

/** The handler a request for `host` reaches on a server, evaluating host matchers like Caddy does. */
function handlerFor(srv: AnyJson, host: string): AnyJson {
  for (const route of srv.routes) {
    const hosts: string[] | undefined = route.match?.[0]?.host;
    const matches =
      !hosts ||
      hosts.some(
        (h) =>
          h === host ||
          (h.startsWith("*.") && host.endsWith(h.slice(1)) && !host.slice(0, -h.length + 1).includes(".")),
      );
    if (matches) return route.handle[0];
  }
  return undefined;
}

describe("renderCaddyConfig", () => {
  it("matches the reviewed golden files", () => {
    expectGolden(
      "caddy-tls-auto.json",
      `${JSON.stringify(renderCaddyConfig(sampleRoutes(), tlsAuto, opts), null, 2)}\n`,
    );
    expectGolden(
      "caddy-tls-off.json",
      `${JSON.stringify(renderCaddyConfig(sampleRoutes(), tlsOff, opts), null, 2)}\n`,
    );
  });

  it("is deterministic whatever the input order", () => {
    const shuffled = sampleRoutes().reverse();
    for (const r of shuffled) r.hosts.reverse();
    expect(JSON.stringify(renderCaddyConfig(shuffled, tlsAuto, opts))).toBe(
      JSON.stringify(renderCaddyConfig(sampleRoutes(), tlsAuto, opts)),
    );
  });

  it("puts the admin API on the unix socket and certificates in the storage dir", () => {
    const config = renderCaddyConfig([], tlsOff, opts) as AnyJson;
    expect(config.admin.listen).toBe("unix//run/hop3-router/admin.sock");
    expect(config.storage).toEqual({ module: "file_system", root: "/data" });
  });

  it("with tls off: one HTTP server routing every host, no TLS app", () => {
    const config = renderCaddyConfig(sampleRoutes(), tlsOff, opts) as AnyJson;
    expect(Object.keys(config.apps.http.servers)).toEqual(["http"]);
    expect(config.apps.tls).toBeUndefined();
    const http = server(config, "http");
    expect(http.listen).toEqual([":8080"]);
    expect(handlerFor(http, "blog.example.com").upstreams).toEqual([
      { dial: "127.0.0.1:8001" },
      { dial: "127.0.0.1:8002" },
    ]);
    expect(handlerFor(http, "x.blog.example.com").upstreams).toEqual([
      { dial: "127.0.0.1:8001" },
      { dial: "127.0.0.1:8002" },
    ]);
    expect(handlerFor(http, "api.example.com").upstreams).toEqual([{ dial: "127.0.0.1:9000" }]);
    // The catch-all app takes every unknown host.
    expect(handlerFor(http, "unknown.example.org").upstreams).toEqual([{ dial: "127.0.0.1:9100" }]);
    expect(handlerFor(http, "down.example.com")).toMatchObject({ status_code: 503, body: APP_DOWN_BODY });
  });

  it("load balances round robin, retries elsewhere and skips failing upstreams", () => {
    const proxy = handlerFor(
      server(renderCaddyConfig(sampleRoutes(), tlsOff, opts), "http"),
      "blog.localhost",
    );
    expect(proxy.handler).toBe("reverse_proxy");
    expect(proxy.load_balancing.selection_policy).toEqual({ policy: "round_robin" });
    expect(proxy.load_balancing.try_duration).toBe("5s");
    expect(proxy.health_checks.passive.max_fails).toBeGreaterThan(0);
    expect(proxy.transport.dial_timeout).toBe("3s");
  });

  it("answers unknown hosts with a plain 404 when no app is the catch-all", () => {
    const routes = sampleRoutes().filter((r) => r.app !== "fallback");
    const http = server(renderCaddyConfig(routes, tlsOff, opts), "http");
    expect(handlerFor(http, "nobody.example.org")).toEqual({
      handler: "static_response",
      status_code: 404,
      headers: { "Content-Type": ["text/plain; charset=utf-8"] },
      body: NO_APP_BODY,
    });
    expect(NO_APP_BODY).toBe("no app is deployed at this hostname\n");
  });

  it("with tls auto: HTTPS for public names only, HTTP redirects them, ACME settings pass through", () => {
    const config = renderCaddyConfig(sampleRoutes(), tlsAuto, opts) as AnyJson;
    const http = server(config, "http");
    const https = server(config, "https");
    expect(https.listen).toEqual([":443"]);
    expect(https.automatic_https).toEqual({ disable_redirects: true });
    expect(handlerFor(http, "blog.example.com")).toMatchObject({
      status_code: 308,
      headers: { Location: ["https://{http.request.host}{http.request.uri}"] },
    });
    // Never TLS for .localhost, IP literals and wildcards: they keep being proxied over HTTP.
    for (const host of ["blog.localhost", "10.0.0.1", "x.blog.example.com"]) {
      expect(handlerFor(http, host).handler).toBe("reverse_proxy");
      expect(handlerFor(https, host)).toMatchObject({ status_code: 404 });
    }
    expect(handlerFor(https, "www.example.com").upstreams).toEqual([
      { dial: "127.0.0.1:8001" },
      { dial: "127.0.0.1:8002" },
    ]);
    expect(config.apps.tls.automation.policies).toEqual([
      {
        subjects: ["api.example.com", "blog.example.com", "down.example.com", "www.example.com"],
        issuers: [{ module: "acme", ca: "https://127.0.0.1:14000/dir", email: "ops@example.com" }],
      },
    ]);
  });

  it("redirects to a non-default HTTPS port explicitly", () => {
    const config = renderCaddyConfig(sampleRoutes(), { ...tlsAuto, httpPort: 18080, httpsPort: 18443 }, opts);
    expect(handlerFor(server(config, "http"), "api.example.com").headers.Location).toEqual([
      "https://{http.request.host}:18443{http.request.uri}",
    ]);
    expect((config as AnyJson).apps.http).toMatchObject({ http_port: 18080, https_port: 18443 });
  });

  it("has no HTTPS server when no host can have a certificate", () => {
    const config = renderCaddyConfig(
      [{ app: "local", hosts: ["local.localhost"], upstreams: [{ host: "127.0.0.1", port: 1 }] }],
      tlsAuto,
      opts,
    ) as AnyJson;
    expect(Object.keys(config.apps.http.servers)).toEqual(["http"]);
    expect(config.apps.tls).toBeUndefined();
  });
});

describe("renderCaddyConfig with a private ACME CA", () => {
  it("trusts the given roots for the ACME directory", () => {
    const config = renderCaddyConfig(sampleRoutes(), tlsAuto, {
      ...opts,
      acmeTrustedRootsFile: "/etc/hop3-router/acme-ca-roots.pem",
    }) as AnyJson;
    expect(config.apps.tls.automation.policies[0].issuers[0].trusted_roots_pem_files).toEqual([
      "/etc/hop3-router/acme-ca-roots.pem",
    ]);
  });
});

describe("renderCaddyConfig with dynamic upstreams (HOP3_ROUTER_UPSTREAMS=dns)", () => {
  const dnsOpts = { ...opts, upstreamDns: "127.53.1.2:1053" };

  it("asks the responder for each app's SRV records instead of listing upstreams", () => {
    const config = renderCaddyConfig(sampleRoutes(), tlsOff, dnsOpts) as AnyJson;
    const blog = handlerFor(server(config, "http"), "blog.example.com");
    expect(blog.upstreams).toBeUndefined();
    expect(blog.dynamic_upstreams).toEqual({
      source: "srv",
      name: "web.blog.upstreams.hop3.internal.",
      refresh: "1000ms",
      resolver: { addresses: ["udp/127.53.1.2:1053"] },
      dial_timeout: "1s",
    });
    // Retries and passive health are unchanged: they also cover an upstream that just went away.
    expect(blog.load_balancing.try_duration).toBe("5s");
    expect(handlerFor(server(config, "http"), "down.example.com").status_code).toBe(503);
  });

  it("renders the same configuration whatever the upstream ports: a deploy needs no reload", () => {
    const moved = sampleRoutes().map((r) => ({
      ...r,
      upstreams: r.upstreams.map((u) => ({ ...u, port: u.port + 7 })),
    }));
    expect(JSON.stringify(renderCaddyConfig(moved, tlsAuto, dnsOpts))).toBe(
      JSON.stringify(renderCaddyConfig(sampleRoutes(), tlsAuto, dnsOpts)),
    );
    expect(JSON.stringify(renderCaddyConfig(moved, tlsAuto, opts))).not.toBe(
      JSON.stringify(renderCaddyConfig(sampleRoutes(), tlsAuto, opts)),
    );
  });

  it("keeps static upstreams for an app not on loopback", () => {
    const config = renderCaddyConfig(
      [{ app: "remote", hosts: ["remote.localhost"], upstreams: [{ host: "10.0.0.5", port: 80 }] }],
      tlsOff,
      dnsOpts,
    ) as AnyJson;
    const h = handlerFor(server(config, "http"), "remote.localhost");
    expect(h.upstreams).toEqual([{ dial: "10.0.0.5:80" }]);
    expect(h.dynamic_upstreams).toBeUndefined();
  });
});
