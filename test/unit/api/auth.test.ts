/**
 * The API's authentication: the Unix socket is trusted (its directory's permissions are the gate), TCP needs a
 * valid bearer token. Exercised through Hono's request handling with a real store; no Podman is reached.
 */
import { afterAll, describe, expect, it } from "vitest";
import { apiWithoutPodman } from "./api-without-podman.js";

const { store, token, api, close } = apiWithoutPodman("hop3-auth-");

afterAll(close);

describe("API authentication", () => {
  it("over TCP refuses a request without a token (401, kind authentication)", async () => {
    const res = await api.request("/api/v1/apps", {}, { transport: "tcp" });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { kind: "authentication" } });
  });

  it("over TCP refuses a wrong or revoked token", async () => {
    const res = await api.request(
      "/api/v1/apps",
      { headers: { authorization: "Bearer hop3_nope" } },
      { transport: "tcp" },
    );
    expect(res.status).toBe(401);
  });

  it("over TCP accepts a valid bearer token", async () => {
    const res = await api.request(
      "/api/v1/apps",
      { headers: { authorization: `Bearer ${token}` } },
      { transport: "tcp" },
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ apps: [] });
  });

  it("over the Unix socket needs no token", async () => {
    const res = await api.request("/api/v1/apps", {}, { transport: "unix" });
    expect(res.status).toBe(200);
  });

  it("validates app names before anything else (400, usage)", async () => {
    const res = await api.request(
      "/api/v1/apps",
      {
        method: "POST",
        body: JSON.stringify({ name: "../../etc" }),
        headers: { "content-type": "application/json" },
      },
      { transport: "unix" },
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { kind: "usage" } });
  });

  it("answers 404 with kind notFound for an unknown app", async () => {
    const res = await api.request("/api/v1/apps/ghost/config", {}, { transport: "unix" });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { kind: "notFound" } });
  });

  it("refuses an upload over the size limit before touching the app", async () => {
    store.createApp("big");
    const res = await api.request(
      "/api/v1/apps/big/deploy",
      { method: "POST", body: new Uint8Array(4096), headers: { "content-type": "application/gzip" } },
      { transport: "unix" },
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /larger than the limit/,
    );
    expect(store.listReleases("big")).toEqual([]);
  });
});
