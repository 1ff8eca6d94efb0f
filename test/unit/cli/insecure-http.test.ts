/**
 * The CLI never sends its token (or config values) over plain http:// to another machine unless the user
 * insists with HOP3_INSECURE_HTTP=1. A local HTTP server stands in for the API: it records whether anything
 * reached it.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/run.js";
import {
  ApiClient,
  checkTransport,
  isLoopbackHost,
  resolveEndpoint,
} from "../../../src/client/api-client.js";
import { fakeIo } from "./fake-io.js";

let server: Server;
let port = 0;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers.authorization ?? "");
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ apps: [] }));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

describe("plain http:// to another host", () => {
  it("is refused before connecting, naming the setting that allows it", async () => {
    // the API answers on 127.0.0.1, reached through a name that is not loopback: nothing may arrive
    const io = fakeIo({ env: { HOP3_URL: `http://hop3.example.test:${port}`, HOP3_TOKEN: "hop3_secret" } });
    const code = await run(["apps"], io);
    expect(code).toBe(2);
    expect(io.stderrText()).toMatch(/refusing to talk to hop3\.example\.test:\d+ over plain http:\/\//);
    expect(io.stderrText()).toContain("HOP3_INSECURE_HTTP=1");
    await expect(
      new ApiClient({ url: "http://192.0.2.10:8000", token: "t" }).json("/api/v1/apps"),
    ).rejects.toMatchObject({
      kind: "usage",
    });
    expect(seen).toEqual([]);
  });

  it("is allowed to loopback addresses, and over https or the Unix socket", async () => {
    const client = new ApiClient({ url: `http://127.0.0.1:${port}`, token: "hop3_local" });
    expect(await client.json("/api/v1/apps")).toEqual({ apps: [] });
    expect(seen).toEqual(["Bearer hop3_local"]);
    for (const url of [
      "http://localhost:8000",
      "http://[::1]:8000",
      "http://127.0.0.2",
      "https://hop3.example.org",
      "unix:/x.sock",
    ]) {
      expect(() => checkTransport({ url, token: "t" })).not.toThrow();
    }
    expect(isLoopbackHost("10.0.0.1")).toBe(false);
    expect(isLoopbackHost("localhost.example.org")).toBe(false);
  });

  it("is allowed when the user insists with HOP3_INSECURE_HTTP=1 (or insecureHttp in the config file)", () => {
    const endpoint = resolveEndpoint({
      HOP3_URL: "http://10.1.2.3:8000",
      HOP3_TOKEN: "t",
      HOP3_INSECURE_HTTP: "1",
    });
    expect(endpoint.insecureHttp).toBe(true);
    expect(() => checkTransport(endpoint)).not.toThrow();
    const strict = resolveEndpoint({
      HOP3_URL: "http://10.1.2.3:8000",
      HOP3_TOKEN: "t",
      HOP3_INSECURE_HTTP: "0",
    });
    expect(() => checkTransport(strict)).toThrow(/HOP3_INSECURE_HTTP=1/);
  });
});
