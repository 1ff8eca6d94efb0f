import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { httpGet, RUNNING_CHECK_MS, tcpOpen, waitHealthy } from "../../../src/runtime/health.js";

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

async function serve(handler: http.RequestListener, port = 0): Promise<number> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on (just released by the kernel). */
async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const running = async () => true;
const fast = { interval: 0.02, timeout: 0.5 };

describe("tcpOpen", () => {
  it("answers true for a listening port and false for a closed one", async () => {
    const port = await serve((_req, res) => res.end());
    expect(await tcpOpen("127.0.0.1", port)).toBe(true);
    expect(await tcpOpen("127.0.0.1", await freePort())).toBe(false);
  });
});

describe("httpGet", () => {
  it("answers status and body, and sends the Host header asked for", async () => {
    const port = await serve((req, res) => {
      res.statusCode = 201;
      res.end(`host=${req.headers.host} path=${req.url}`);
    });
    expect(await httpGet(port, "/x?y=1", "shop.example.com")).toEqual({
      status: 201,
      body: "host=shop.example.com path=/x?y=1",
    });
    expect((await httpGet(port, "/", undefined)).body).toBe(`host=127.0.0.1:${port} path=/`);
  });

  it("rejects when the server does not answer in time", async () => {
    const port = await serve(() => {
      /* never answers */
    });
    await expect(httpGet(port, "/", undefined, 100)).rejects.toThrow("no answer within 100 ms");
  });
});

describe("waitHealthy", () => {
  it("is healthy at once when the process answers HTTP and no path is asked (any status)", async () => {
    const port = await serve((_req, res) => res.end());
    expect(await waitHealthy(port, fast, running)).toEqual({ ok: true, attempts: 1 });
    const failing = await serve((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    expect(await waitHealthy(failing, fast, running)).toMatchObject({ ok: true });
  });

  it("is not healthy when the port accepts connections but nothing answers HTTP (rootless port forwarding)", async () => {
    // like rootlessport with no process listening inside: accept, then close at once
    const tcp = net.createServer((sock) => sock.destroy());
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    try {
      const result = await waitHealthy((tcp.address() as AddressInfo).port, fast, running);
      expect(result.ok).toBe(false);
      expect(result.ok === false && result.reason).toMatch(/nothing answered HTTP on the port/);
    } finally {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    }
  });

  it("is healthy when the path answers 2xx/3xx with the expected content", async () => {
    const port = await serve((req, res) => {
      if (req.url === "/moved") {
        res.writeHead(302, { location: "/health" }).end();
        return;
      }
      res.end(req.url === "/health" ? "status: ready" : "nope");
    });
    expect(await waitHealthy(port, { ...fast, path: "/health", contains: "ready" }, running)).toEqual({
      ok: true,
      attempts: 1,
    });
    expect(await waitHealthy(port, { ...fast, path: "/moved" }, running)).toEqual({ ok: true, attempts: 1 });
  });

  it("waits for a server that starts listening late", async () => {
    const port = await freePort();
    const started = new Promise<void>((resolve) =>
      setTimeout(() => {
        void serve((_req, res) => res.end("ok"), port).then(() => resolve());
      }, 150),
    );
    const result = await waitHealthy(port, { ...fast, timeout: 3, path: "/" }, running);
    await started;
    expect(result.ok).toBe(true);
    expect(result.attempts).toBeGreaterThan(1);
  });

  it("waits for a server that answers 503 before it is ready", async () => {
    let calls = 0;
    const port = await serve((_req, res) => {
      calls++;
      res.statusCode = calls < 3 ? 503 : 200;
      res.end();
    });
    expect(await waitHealthy(port, { ...fast, path: "/" }, running)).toEqual({ ok: true, attempts: 3 });
  });

  it("polls fast but asks whether the process runs at most every RUNNING_CHECK_MS, and fails soon after it exits", async () => {
    const port = await freePort(); // nothing listens: every attempt fails at once
    let asked = 0;
    let exited = false;
    setTimeout(() => {
      exited = true;
    }, 600);
    const started = Date.now();
    const result = await waitHealthy(port, { interval: 0.01, timeout: 5 }, async () => {
      asked++;
      return !exited;
    });
    const took = Date.now() - started;
    expect(result).toMatchObject({ ok: false, reason: "the process exited" });
    expect(result.attempts).toBeGreaterThan(asked); // several attempts per question to Podman
    expect(asked).toBeLessThanOrEqual(Math.ceil(took / RUNNING_CHECK_MS) + 1);
  });

  it("fails on a wrong status, saying which", async () => {
    const port = await serve((_req, res) => {
      res.statusCode = 500;
      res.end("boom");
    });
    const result = await waitHealthy(port, { interval: 0.02, timeout: 0.2, path: "/health" }, running);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe("GET /health answered HTTP 500 (after 0.2s)");
    expect(result.attempts).toBeGreaterThan(1);
  });

  it("fails when the body lacks the expected content", async () => {
    const port = await serve((_req, res) => res.end("starting"));
    const result = await waitHealthy(
      port,
      { interval: 0.02, timeout: 0.2, path: "/", contains: "ready" },
      running,
    );
    expect(result).toMatchObject({ ok: false, reason: 'GET / did not contain "ready" (after 0.2s)' });
  });

  it("needs `retries` consecutive successes, starting over after a failure", async () => {
    const statuses = [200, 500, 200, 200, 200];
    let calls = 0;
    const port = await serve((_req, res) => {
      res.statusCode = statuses[calls++] ?? 200;
      res.end();
    });
    expect(await waitHealthy(port, { ...fast, path: "/", retries: 3 }, running)).toEqual({
      ok: true,
      attempts: 5,
    });
  });

  it("fails at once when the process exits", async () => {
    const port = await freePort();
    const started = Date.now();
    const result = await waitHealthy(port, { interval: 0.02, timeout: 5 }, async () => false);
    expect(result).toEqual({ ok: false, reason: "the process exited", attempts: 1 });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("notices a process that exits while it is being waited for", async () => {
    const port = await freePort();
    let checks = 0;
    const result = await waitHealthy(port, { interval: 0.01, timeout: 5 }, async () => ++checks < 3);
    expect(result).toMatchObject({ ok: false, reason: "the process exited" });
    expect(checks).toBe(3);
  });

  it("times out when the port never opens", async () => {
    const port = await freePort();
    const started = Date.now();
    const result = await waitHealthy(port, { interval: 0.02, timeout: 0.2 }, running);
    expect(result).toMatchObject({ ok: false, reason: "the port never accepted a connection (after 0.2s)" });
    expect(result.attempts).toBeGreaterThan(1);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("reports a request that fails outright", async () => {
    const port = await serve((req) => req.socket.destroy());
    const result = await waitHealthy(port, { interval: 0.02, timeout: 0.2, path: "/" }, running);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toMatch(/^GET \/ failed: socket hang up \(after 0\.2s\)$/);
  });
});

describe("waitHealthy deadline", () => {
  it("does not wait past its timeout for an app that accepts but never answers", async () => {
    const port = await serve(() => {
      /* never answers */
    });
    const started = Date.now();
    const result = await waitHealthy(port, { interval: 0.02, timeout: 0.3, path: "/" }, running);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toMatch(/^GET \/ failed: no answer within \d+ ms \(after 0\.3s\)$/);
  });
});
