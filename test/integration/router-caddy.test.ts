/**
 * A real Caddy router in the hop3 user's rootless Podman, on high ports, in front of two Node backends
 * running in this process (the router uses host networking, so 127.0.0.1 is shared).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import { type AddressInfo, connect, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO_APP_BODY } from "../../src/router/caddy-config.js";
import { CaddyRouter } from "../../src/router/caddy-router.js";
import type { AppRoute } from "../../src/router/routes.js";
import { tailLogs } from "../../src/runtime/containers.js";

const BASE_IMAGE = "localhost/hop3/base:bookworm";
const CONTAINER = `hop3-router-test-${process.pid}`;

function hop3Ids(): { uid: number; gid: number } {
  try {
    const uid = Number(execFileSync("id", ["-u", "hop3"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "hop3"], { encoding: "utf8" }).trim());
    return { uid, gid };
  } catch {
    throw new Error("router integration test: the `hop3` user does not exist (run the installer first)");
  }
}

function podmanSocket(uid: number): string {
  const path = process.env.HOP3_PODMAN_SOCKET ?? `/run/user/${uid}/podman/podman.sock`;
  if (!existsSync(path)) {
    throw new Error(
      `router integration test: no Podman API socket at ${path}; start it as hop3 with ` +
        "`podman system service --time=0 unix://" +
        path +
        "` (or set HOP3_PODMAN_SOCKET)",
    );
  }
  return path;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createTcpServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => res(port));
    });
  });
}

function backend(name: string): Promise<{ server: Server; port: number }> {
  return new Promise((res) => {
    const server = createServer((req, reply) => {
      reply.setHeader("content-type", "text/plain");
      reply.end(`${name} ${req.headers.host}`);
    });
    server.listen(0, "127.0.0.1", () => res({ server, port: (server.address() as AddressInfo).port }));
  });
}

function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = request({ host: "127.0.0.1", port, path: "/", headers: { host }, agent: false }, (r) => {
      let body = "";
      r.setEncoding("utf8");
      r.on("data", (c: string) => {
        body += c;
      });
      r.on("end", () => res({ status: r.statusCode ?? 0, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error("request timed out")));
    req.on("error", rej);
    req.end();
  });
}

describe("CaddyRouter (real Caddy in rootless Podman)", () => {
  const { uid, gid } = hop3Ids();
  const docker = new Docker({ socketPath: podmanSocket(uid) });
  let stateDir: string;
  let httpPort: number;
  let router: CaddyRouter;
  const backends: { server: Server; port: number }[] = [];
  const logLines: string[] = [];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "hop3-router-test-"));
    chownSync(stateDir, uid, gid);
    httpPort = await freePort();
    backends.push(await backend("alpha"), await backend("beta"), await backend("gamma"));
    router = new CaddyRouter({
      docker,
      stateDir,
      settings: { httpPort, httpsPort: await freePort(), tls: "off" },
      baseImage: BASE_IMAGE,
      imagesDir: resolve(import.meta.dirname, "../../images"),
      containerName: CONTAINER,
      log: (line) => logLines.push(line),
    });
    await router.ensureRunning();
  });

  afterAll(async () => {
    await router?.stop().catch(() => {});
    for (const b of backends) b.server.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  const routesWith = (alphaPorts: number[]): AppRoute[] => [
    {
      app: "alpha",
      hosts: ["alpha.example.test", "www.alpha.example.test"],
      upstreams: alphaPorts.map((port) => ({ host: "127.0.0.1", port })),
    },
    { app: "beta", hosts: ["beta.localhost"], upstreams: [{ host: "127.0.0.1", port: backends[1]!.port }] },
  ];

  it("runs a labelled container on the host network and reports it", async () => {
    const info = await docker.getContainer(CONTAINER).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.HostConfig.NetworkMode).toBe("host");
    expect(info.Config.Labels).toMatchObject({ "io.hop3.role": "router", "io.hop3.managed": "true" });
    expect(await router.status()).toMatchObject({ running: true, container: CONTAINER });
  });

  it("routes each hostname to its app and answers 404 for unknown hosts", async () => {
    await router.apply(routesWith([backends[0]!.port]));
    expect(await get(httpPort, "alpha.example.test")).toEqual({
      status: 200,
      body: "alpha alpha.example.test",
    });
    expect(await get(httpPort, "WWW.alpha.example.test")).toMatchObject({
      status: 200,
      body: expect.stringMatching(/^alpha /),
    });
    expect(await get(httpPort, "beta.localhost")).toEqual({ status: 200, body: "beta beta.localhost" });
    expect(await get(httpPort, "nobody.example.test")).toEqual({ status: 404, body: NO_APP_BODY });
  });

  it("balances over several upstreams and skips a dead one", async () => {
    const dead = await freePort(); // nothing listens there
    await router.apply(routesWith([backends[0]!.port, backends[2]!.port, dead]));
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const r = await get(httpPort, "alpha.example.test");
      expect(r.status).toBe(200);
      seen.add(r.body.split(" ")[0]!);
    }
    expect([...seen].sort()).toEqual(["alpha", "gamma"]);
  });

  it("static upstreams: no failed answer while routes are re-applied, only Caddy 2.6's rare reload resets", async () => {
    // The contract with the deployer: new upstreams are applied before old ones stop. An upstream that is
    // already dead when a reload happens can fail requests in flight on the outgoing configuration (Caddy
    // 2.6 does not retry once that configuration is being unloaded), so start from live upstreams only.
    await router.apply(routesWith([backends[0]!.port]));
    let stop = false;
    const results: number[] = [];
    const errors: string[] = [];
    const loop = async () => {
      const deadline = Date.now() + 20_000;
      while (!stop && Date.now() < deadline && results.length + errors.length < 2_000) {
        try {
          results.push((await get(httpPort, "alpha.example.test")).status);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    };
    const loops = [loop(), loop(), loop()];
    for (let i = 0; i < 6; i++) {
      const ports = i % 2 === 0 ? [backends[0]!.port] : [backends[0]!.port, backends[2]!.port];
      await router.apply(routesWith(ports));
      await new Promise((r) => setTimeout(r, 150));
    }
    stop = true;
    await Promise.all(loops);
    expect(results.length).toBeGreaterThan(100);
    // Every answered request is a success: no 502 while upstreams change.
    expect(results.filter((s) => s !== 200)).toEqual([]);
    // Known limit of Caddy 2.6 (docs/routing.md), and why dns upstreams are the default: a connection being
    // accepted at the very moment a configuration is swapped is occasionally reset (about 1 in 2,000 here,
    // with a new connection per request; seen as `read ECONNRESET` or, a little earlier in the handshake,
    // `connect ECONNRESET`, or `connect EPIPE` when the request was being written into the reset
    // connection), with nothing in Caddy's log. Nothing else may fail, and resets must stay that rare. The
    // dns-mode test below, where deploys do not reload Caddy, allows no error at all.
    expect(errors.filter((e) => !/^(read|connect) (ECONNRESET|EPIPE)\b/.test(e))).toEqual([]);
    expect(errors.length).toBeLessThanOrEqual(Math.ceil(results.length / 200));
  });

  it("leaves a healthy router alone on ensureRunning", async () => {
    const before = await docker.getContainer(CONTAINER).inspect();
    await router.ensureRunning();
    const after = await docker.getContainer(CONTAINER).inspect();
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    // The last applied routes survive: they are re-rendered from state, not forgotten.
    expect((await get(httpPort, "beta.localhost")).status).toBe(200);
  });

  it("comes back with its routes after the container is removed", async () => {
    await router.stop();
    expect((await router.status()).running).toBe(false);
    await router.apply(routesWith([backends[0]!.port]));
    expect((await router.status()).running).toBe(true);
    expect(await get(httpPort, "alpha.example.test")).toMatchObject({ status: 200 });
  });
});

function httpsGet(
  port: number,
  servername: string,
  ca: string,
): Promise<{ status: number; body: string; issuer: string }> {
  return new Promise((res, rej) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port, path: "/", servername, headers: { host: servername }, ca, agent: false },
      (r) => {
        let body = "";
        r.setEncoding("utf8");
        r.on("data", (c: string) => {
          body += c;
        });
        const cert = (r.socket as import("node:tls").TLSSocket).getPeerCertificate();
        r.on("end", () => res({ status: r.statusCode ?? 0, body, issuer: String(cert.issuer?.CN ?? "") }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error("request timed out")));
    req.on("error", rej);
    req.end();
  });
}

async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((res) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        res(true);
      });
      socket.once("error", () => res(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

function requireCommand(name: string): void {
  try {
    execFileSync("sh", ["-c", 'command -v "$1"', "sh", name], { stdio: "ignore" });
  } catch {
    throw new Error(`router TLS test: \`${name}\` is not installed (apt-get install pebble openssl)`);
  }
}

/**
 * Real ACME issuance, offline: Pebble (Let's Encrypt's test CA) and its fake DNS resolving every name to
 * 127.0.0.1, so HTTP-01 validation reaches the router's HTTP port on this host.
 */
describe("CaddyRouter with dynamic upstreams (HOP3_ROUTER_UPSTREAMS=dns)", () => {
  const { uid, gid } = hop3Ids();
  const docker = new Docker({ socketPath: podmanSocket(uid) });
  const name = `hop3-router-dns-test-${process.pid}`;
  let stateDir: string;
  let httpPort: number;
  let httpsPort: number;
  let router: CaddyRouter;
  const live: { server: Server; port: number }[] = [];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "hop3-router-dns-test-"));
    chownSync(stateDir, uid, gid);
    httpPort = await freePort();
    httpsPort = await freePort();
    router = new CaddyRouter({
      docker,
      stateDir,
      settings: { httpPort, httpsPort, tls: "off", upstreams: "dns" },
      baseImage: BASE_IMAGE,
      imagesDir: resolve(import.meta.dirname, "../../images"),
      containerName: name,
    });
    await router.ensureRunning();
  });

  afterAll(async () => {
    await router?.stop().catch(() => {});
    for (const b of live) b.server.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  const route = (ports: number[]): AppRoute[] => [
    {
      app: "alpha",
      hosts: ["alpha.localhost"],
      upstreams: ports.map((port) => ({ host: "127.0.0.1", port })),
    },
  ];
  const loads = async () => (await tailLogs(docker, name, 1000)).join("\n").split("load complete").length - 1;
  /** The count of loads once it has not changed for 0.5 s (a reload's log line can come after its answer). */
  const settledLoads = async () => {
    for (let n = await loads(); ; ) {
      await new Promise((r) => setTimeout(r, 500));
      const m = await loads();
      if (m === n) return n;
      n = m;
    }
  };

  it("replaces every upstream, old ones killed right after apply, with no reload and no failed request", async () => {
    live.push(await backend("v0"));
    await router.apply(route([live[0]!.port]));
    expect(await get(httpPort, "alpha.localhost")).toEqual({ status: 200, body: "v0 alpha.localhost" });
    const loadsBefore = await loads();

    let stop = false;
    const results: string[] = [];
    const errors: string[] = [];
    const loop = async () => {
      while (!stop && results.length + errors.length < 50_000) {
        try {
          const r = await get(httpPort, "alpha.localhost");
          results.push(r.status === 200 ? r.body.split(" ")[0]! : String(r.status));
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    };
    const loops = [loop(), loop(), loop(), loop()];
    for (let v = 1; v <= 4; v++) {
      // A deploy: the new instance is up, the table points at it, then the old one dies at once.
      const next = await backend(`v${v}`);
      live.push(next);
      await router.apply(route([next.port]));
      const old = live.shift()!;
      old.server.closeAllConnections();
      old.server.close();
    }
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(loops);

    expect(errors).toEqual([]);
    expect(results.filter((r) => !/^v\d$/.test(r))).toEqual([]);
    expect(results.length).toBeGreaterThan(200);
    expect(results.at(-1)).toBe("v4");
    expect(await loads()).toBe(loadsBefore);
  });

  it("reloads for a route change and keeps serving the app", async () => {
    const routes = route([live[0]!.port]);
    routes[0]!.hosts.push("alpha2.localhost");
    await router.apply(routes);
    expect(await get(httpPort, "alpha2.localhost")).toMatchObject({
      status: 200,
      body: "v4 alpha2.localhost",
    });
  });

  it("keeps the configuration on ensureRunning (a server restart reloads nothing)", async () => {
    // Caddy may log the last test's "load complete" just after answering its /load: count once it is stable
    const before = await settledLoads();
    const again = new CaddyRouter({
      docker,
      stateDir,
      settings: { httpPort, httpsPort, tls: "off", upstreams: "dns" },
      baseImage: BASE_IMAGE,
      imagesDir: resolve(import.meta.dirname, "../../images"),
      containerName: name,
    });
    // A new process's router object, as after a hop3-server restart: it must find Caddy up to date.
    await again.ensureRunning();
    expect(await settledLoads()).toBe(before);
  });
});

describe("CaddyRouter with automatic HTTPS against Pebble", () => {
  const { uid, gid } = hop3Ids();
  const docker = new Docker({ socketPath: podmanSocket(uid) });
  const children: ChildProcess[] = [];
  let workDir: string;
  let stateDir: string;
  let httpPort: number;
  let httpsPort: number;
  let listenCert: string;
  let router: CaddyRouter;
  let app: { server: Server; port: number };
  let managementPort: number;

  beforeAll(async () => {
    for (const cmd of ["pebble", "pebble-challtestsrv", "openssl"]) requireCommand(cmd);
    workDir = mkdtempSync(join(tmpdir(), "hop3-pebble-"));
    stateDir = mkdtempSync(join(tmpdir(), "hop3-router-tls-test-"));
    chownSync(stateDir, uid, gid);
    [httpPort, httpsPort, managementPort] = [await freePort(), await freePort(), await freePort()];
    const [dnsPort, challMgmtPort, acmePort] = [await freePort(), await freePort(), await freePort()];
    // Pebble's own HTTPS listener needs a certificate; Debian ships none.
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"],
        ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        ...["-keyout", join(workDir, "key.pem"), "-out", join(workDir, "cert.pem")],
      ],
      { stdio: "ignore" },
    );
    listenCert = join(workDir, "cert.pem");
    writeFileSync(
      join(workDir, "pebble.json"),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: listenCert,
          privateKey: join(workDir, "key.pem"),
          httpPort,
          tlsPort: httpsPort,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
        },
      }),
    );
    const start = (cmd: string, args: string[], env: Record<string, string> = {}) => {
      const child = spawn(cmd, args, { stdio: "ignore", env: { ...process.env, ...env } });
      children.push(child);
    };
    start("pebble-challtestsrv", [
      ...["-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", `127.0.0.1:${dnsPort}`],
      ...["-http01", "", "-https01", "", "-tlsalpn01", "", "-management", `127.0.0.1:${challMgmtPort}`],
    ]);
    start("pebble", ["-config", join(workDir, "pebble.json"), "-dnsserver", `127.0.0.1:${dnsPort}`], {
      PEBBLE_VA_NOSLEEP: "1",
      PEBBLE_WFE_NONCEREJECT: "0",
    });
    await waitForPort(challMgmtPort);
    await waitForPort(managementPort);
    await waitForPort(acmePort);
    app = await backend("secure-app");
    router = new CaddyRouter({
      docker,
      stateDir,
      settings: {
        httpPort,
        httpsPort,
        tls: "auto",
        acmeEmail: "ops@example.test",
        acmeCa: `https://127.0.0.1:${acmePort}/dir`,
        acmeCaRootFile: listenCert,
      },
      baseImage: BASE_IMAGE,
      imagesDir: resolve(import.meta.dirname, "../../images"),
      containerName: `${CONTAINER}-tls`,
    });
    await router.ensureRunning();
  });

  afterAll(async () => {
    await router?.stop().catch(() => {});
    for (const child of children) child.kill("SIGTERM");
    app?.server.close();
    for (const dir of [stateDir, workDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("obtains a certificate from the ACME CA, serves HTTPS and redirects HTTP", async () => {
    await router.apply([
      {
        app: "secure",
        hosts: ["app1.example.test", "app1.localhost"],
        upstreams: [{ host: "127.0.0.1", port: app.port }],
      },
    ]);
    // Pebble makes a new root at every start: fetch it from its management API.
    const root = await new Promise<string>((res, rej) => {
      const ca = execFileSync("cat", [listenCert], { encoding: "utf8" });
      const req = httpsRequest(
        { host: "127.0.0.1", port: managementPort, path: "/roots/0", ca, agent: false },
        (r) => {
          let body = "";
          r.setEncoding("utf8");
          r.on("data", (c: string) => {
            body += c;
          });
          r.on("end", () => res(body));
        },
      );
      req.on("error", rej);
      req.end();
    });
    expect(root).toContain("BEGIN CERTIFICATE");

    let last: unknown;
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      try {
        const r = await httpsGet(httpsPort, "app1.example.test", root);
        expect(r).toMatchObject({ status: 200, body: "secure-app app1.example.test" });
        expect(r.issuer).toMatch(/Pebble/i);
        last = undefined;
        break;
      } catch (err) {
        last = err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    if (last) console.log((await tailLogs(docker, `${CONTAINER}-tls`, 60)).join("\n"));
    expect(last).toBeUndefined();

    const redirect = await new Promise<{ status: number; location?: string }>((res, rej) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: httpPort,
          path: "/x?y=1",
          headers: { host: "app1.example.test" },
          agent: false,
        },
        (r) => {
          r.resume();
          res({ status: r.statusCode ?? 0, location: r.headers.location });
        },
      );
      req.on("error", rej);
      req.end();
    });
    expect(redirect).toEqual({ status: 308, location: `https://app1.example.test:${httpsPort}/x?y=1` });
    // .localhost names stay on plain HTTP.
    expect(await get(httpPort, "app1.localhost")).toEqual({ status: 200, body: "secure-app app1.localhost" });
  });
});
