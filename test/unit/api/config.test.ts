/**
 * The config endpoints as a careless or hostile client uses them: half-valid changes, control characters,
 * names of Object.prototype. Through Hono's request handling with a real store; no Podman is reached (the
 * tests stop before a release would be made, or the app has no release and none is made).
 */
import { afterAll, describe, expect, it } from "vitest";
import type { Deployer } from "../../../src/deploy/deployer.js";
import type { Lifecycle } from "../../../src/deploy/lifecycle.js";
import type { Platform } from "../../../src/deploy/platform.js";
import { createApi } from "../../../src/server/api.js";
import { apiWithoutPodman } from "./api-without-podman.js";

const { store, dir, close } = apiWithoutPodman("hop3-config-");
afterAll(close);

// The same API with a deployer that records re-releases instead of rolling them out.
const rereleases: string[] = [];
const api = createApi({
  platform: { store, settings: { root: dir, baseDomain: "hop3.test" }, log: () => {} } as unknown as Platform,
  deployer: {
    rerelease: async (app: string) => {
      rereleases.push(app);
      return undefined;
    },
  } as unknown as Deployer,
  lifecycle: {} as Lifecycle,
  version: "test",
  supervisor: "podman",
  uploadsDir: dir,
  maxUpload: 1024,
  syncSshKeys: async () => {},
});

const unix = { transport: "unix" as const };
const patch = (app: string, body: unknown) =>
  api.request(
    `/api/v1/apps/${app}/config`,
    { method: "PATCH", body: JSON.stringify(body), headers: { "content-type": "application/json" } },
    unix,
  );

store.createApp("shop");

describe("PATCH /apps/:app/config", () => {
  it("is all or nothing: valid sets with an invalid unset change nothing and answer 400", async () => {
    store.setConfig("shop", { KEEP: "1" });
    const res = await patch("shop", { set: { NEW: "2" }, unset: ["KEEP", "NOT-A-NAME"] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: { kind: "usage", message: expect.stringContaining('"NOT-A-NAME"') },
    });
    expect(store.getConfig("shop")).toEqual({ KEEP: "1" });
  });

  it("is all or nothing: an invalid value among valid ones changes nothing", async () => {
    const res = await patch("shop", { set: { A: "fine", B: "bad\u0000value" }, unset: ["KEEP"] });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/the value of B contains a NUL byte \(U\+0000\) at character 4/);
    expect(store.getConfig("shop")).toEqual({ KEEP: "1" });
  });

  it("refuses line feeds and other control characters with the key and the character", async () => {
    for (const [value, what] of [
      ["a\nb", "line feed (U+000A)"],
      ["a\rb", "carriage return (U+000D)"],
      ["\u0007", "control character (U+0007)"],
    ]) {
      const res = await patch("shop", { set: { CTRL: value } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        `CTRL contains a ${what}`,
      );
    }
    expect(store.getConfig("shop")).toEqual({ KEEP: "1" });
  });

  it("applies a valid change in one go and stores values byte for byte", async () => {
    const values = { DOLLAR: "$HOME", BS: "a\\b", LEAD: "  lead", QUOTED: '"q"', PCT: "%h", TAB: "a\tb" };
    const res = await patch("shop", { set: values, unset: ["KEEP"] });
    expect(res.status).toBe(200);
    await res.text();
    expect(store.getConfig("shop")).toEqual(values);
    expect(rereleases).toEqual(["shop"]);
  });

  it("treats __proto__ as an ordinary name (JSON bodies make it an own key)", async () => {
    const res = await api.request(
      "/api/v1/apps/shop/config",
      {
        method: "PATCH",
        body: '{"set": {"__proto__": "x"}}',
        headers: { "content-type": "application/json" },
      },
      unix,
    );
    expect(res.status).toBe(200);
    await res.text();
    expect(Object.hasOwn(store.getConfig("shop"), "__proto__")).toBe(true);
  });
});

describe("GET /apps/:app/config/:key", () => {
  it("answers 404 for names of Object.prototype that are not set", async () => {
    for (const key of ["toString", "constructor", "hasOwnProperty", "valueOf"]) {
      const res = await api.request(`/api/v1/apps/shop/config/${key}`, {}, unix);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { kind: "notFound" } });
    }
  });

  it("answers a variable that is set, whatever its name", async () => {
    store.setConfig("shop", { toString: "mine" });
    const res = await api.request("/api/v1/apps/shop/config/toString", {}, unix);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ key: "toString", value: "mine" });
  });
});
