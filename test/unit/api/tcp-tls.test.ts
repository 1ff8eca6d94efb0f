/**
 * The TCP API over HTTPS: a real TLS listener in this process with a self-signed certificate made by openssl,
 * reached by the CLI's own client, which trusts it only when told to (HOP3_CA_CERT / config `ca`).
 */
import { execFileSync } from "node:child_process";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { getRequestListener } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, resolveEndpoint } from "../../../src/client/api-client.js";
import { planTcpListener, startTcpListener } from "../../../src/server/tcp-listener.js";
import { Hop3Error } from "../../../src/util/errors.js";
import { apiWithoutPodman } from "./api-without-podman.js";

const { dir, token, api, close } = apiWithoutPodman("hop3-tls-");
const cert = join(dir, "cert.pem");
const key = join(dir, "key.pem");
let server: Server;
let url = "";

beforeAll(async () => {
  // the same command install.sh runs for a HOP3_LISTEN off loopback
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=hop3-test",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { stdio: "ignore" },
  );
  // port 0: any free port (HOP3_LISTEN itself needs a real one)
  const plan = planTcpListener("127.0.0.1:8443", { cert, key });
  server = await startTcpListener(
    { ...plan, port: 0 },
    getRequestListener((req) => api.fetch(req, { transport: "tcp" })),
    () => {},
    { cert, key },
  );
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server?.close();
  close();
});

describe("the TCP API over HTTPS", () => {
  it("answers the CLI's client that trusts its certificate, with a token", async () => {
    const client = new ApiClient({ url, token, ca: cert });
    expect(await client.json("/api/v1/apps")).toMatchObject({ apps: [] });
  });

  it("refuses a client without the token, and one that does not trust the certificate", async () => {
    await expect(new ApiClient({ url, ca: cert }).json("/api/v1/apps")).rejects.toMatchObject({
      kind: "authentication",
    });
    await expect(new ApiClient({ url, token }).json("/api/v1/apps")).rejects.toThrow(Hop3Error);
  });

  it("takes the certificate to trust from HOP3_CA_CERT", () => {
    expect(resolveEndpoint({ HOP3_URL: url, HOP3_TOKEN: token, HOP3_CA_CERT: cert })).toEqual({
      url,
      token,
      ca: cert,
    });
  });
});

describe("planTcpListener", () => {
  it("serves plain HTTP on loopback only", () => {
    expect(planTcpListener("127.0.0.1:8000", {})).toEqual({ host: "127.0.0.1", port: 8000, scheme: "http" });
    expect(planTcpListener("[::1]:8000", {}).scheme).toBe("http");
    expect(() => planTcpListener("0.0.0.0:8000", {})).toThrow(/bearer tokens in clear/);
    expect(() => planTcpListener("192.0.2.1:8000", {})).toThrow(/bearer tokens in clear/);
    expect(planTcpListener("0.0.0.0:8443", { cert, key })).toEqual({
      host: "0.0.0.0",
      port: 8443,
      scheme: "https",
    });
  });

  it("needs the certificate and the key together", () => {
    expect(() => planTcpListener("0.0.0.0:8443", { cert })).toThrow(/together/);
  });
});
