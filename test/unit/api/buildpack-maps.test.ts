/**
 * `hop buildpacks:map` over the API, on a real store: mappings are keyed by the URL's canonical spelling, only an
 * admin changes them, and a target the server would not find is refused when the mapping is made.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BuildpackCatalog } from "../../../src/build/buildpacks-builder.js";
import { createApi } from "../../../src/server/api.js";
import { operatorBuildpackMaps } from "../../../src/store/buildpack-maps.js";
import { apiWithoutPodman } from "./api-without-podman.js";

const base = apiWithoutPodman("hop3-bpmaps-");
const { dir, store, token, close } = base;
afterAll(close);

const mine = join(dir, "operator-buildpacks", "mine");
mkdirSync(mine, { recursive: true });
writeFileSync(
  join(mine, "buildpack.toml"),
  'api = "0.10"\n[buildpack]\nid = "acme/mine"\nversion = "1.0.0"\n',
);
mkdirSync(join(dir, "elsewhere"), { recursive: true });

// the same API with a catalog of the server's buildpacks, as main.ts builds it
const apiWith = (buildpacks: BuildpackCatalog) =>
  createApi({
    platform: { store, settings: { root: dir }, log: () => {} } as never,
    deployer: {} as never,
    lifecycle: {} as never,
    version: "test",
    supervisor: "podman",
    uploadsDir: join(dir, "tmp"),
    maxUpload: 1024,
    syncSshKeys: async () => {},
    buildpacks,
  });
const api = apiWith({
  ids: () => ["hop3/nodejs", "hop3/python"],
  allowedRoots: [join(dir, "operator-buildpacks")],
});

const unix = { transport: "unix" as const };
const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});
const URL_A = "https://git.example.invalid/acme/buildpack-a.git";

describe("buildpack URL mappings over the API", () => {
  it("lists the built-in mappings when the operator has made none", async () => {
    const res = await api.request("/api/v1/buildpacks/maps", {}, unix);
    expect(res.status).toBe(200);
    const { maps } = (await res.json()) as { maps: { url: string; target: string; source: string }[] };
    expect(maps).toContainEqual({
      url: "https://github.com/heroku/heroku-buildpack-nodejs",
      target: "hop3/nodejs",
      source: "built-in",
    });
    expect(maps.every((m) => m.source === "built-in")).toBe(true);
  });

  it("maps a URL under its canonical spelling, and maps it again to replace it", async () => {
    let res = await api.request("/api/v1/buildpacks/maps", json({ url: URL_A, target: "hop3/nodejs" }), unix);
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({
      map: { url: "https://git.example.invalid/acme/buildpack-a", target: "hop3/nodejs", source: "operator" },
    });
    res = await api.request(
      "/api/v1/buildpacks/maps",
      json({ url: "git@git.example.invalid:acme/buildpack-a", target: "hop3/python" }),
      unix,
    );
    expect(await res.json()).toMatchObject({ previous: "hop3/nodejs", map: { target: "hop3/python" } });
    expect(operatorBuildpackMaps(store)).toEqual({
      "https://git.example.invalid/acme/buildpack-a": "hop3/python",
    });
  });

  it("an operator mapping of a built-in URL replaces it, and says what it replaces", async () => {
    const res = await api.request(
      "/api/v1/buildpacks/maps",
      json({ url: "heroku/nodejs", target: `${mine}/` }),
      unix,
    );
    expect(res.status).toBe(201);
    const list = (await (await api.request("/api/v1/buildpacks/maps", {}, unix)).json()) as {
      maps: { url: string; source: string; replaces?: string }[];
    };
    expect(list.maps.filter((m) => m.url === "heroku/nodejs")).toEqual([
      { url: "heroku/nodejs", target: `${mine}/`, source: "operator", replaces: "hop3/nodejs" },
    ]);
  });

  it.each([
    [{ url: URL_A, target: "hop3/nodjs" }, "this server has no buildpack hop3/nodjs"],
    [{ url: URL_A, target: join(dir, "elsewhere") }, "is not in a directory the server allows"],
    [{ url: URL_A, target: "/etc" }, "is not in a directory the server allows"],
    [{ url: URL_A, target: join(dir, "operator-buildpacks") }, "holds no buildpack.toml"],
    [{ url: "nodejs", target: "hop3/nodejs" }, "is not a buildpack URL"],
    [{ url: URL_A }, "the body must be JSON"],
    [{ url: URL_A, target: "hop3 nodejs" }, "is not a buildpack id"],
  ])("refuses %j (400, usage)", async (body, message) => {
    const res = await api.request("/api/v1/buildpacks/maps", json(body), unix);
    expect(res.status).toBe(400);
    const err = (await res.json()) as { error: { kind: string; message: string } };
    expect(err.error.kind).toBe("usage");
    expect(err.error.message).toContain(message);
  });

  it("unmaps by any spelling; a built-in mapping comes back; unmapping twice is not found", async () => {
    let res = await api.request(
      `/api/v1/buildpacks/maps?url=${encodeURIComponent(`${URL_A}#v1`)}`,
      { method: "DELETE" },
      unix,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ url: "https://git.example.invalid/acme/buildpack-a" });
    res = await api.request(
      `/api/v1/buildpacks/maps?url=${encodeURIComponent(URL_A)}`,
      { method: "DELETE" },
      unix,
    );
    expect(res.status).toBe(404);
    res = await api.request("/api/v1/buildpacks/maps?url=heroku/nodejs", { method: "DELETE" }, unix);
    expect(await res.json()).toEqual({ url: "heroku/nodejs", restored: "hop3/nodejs" });
  });

  it("refuses to unmap a built-in mapping, and says how to bypass it", async () => {
    const res = await api.request(
      `/api/v1/buildpacks/maps?url=${encodeURIComponent("https://github.com/heroku/heroku-buildpack-go")}`,
      { method: "DELETE" },
      unix,
    );
    expect(res.status).toBe(404);
    const err = (await res.json()) as { error: { message: string; hint: string } };
    expect(err.error.message).toContain("has a built-in mapping (to hop3/go)");
    expect(err.error.hint).toContain("map it to itself");
  });

  it("over TCP only an admin token changes mappings; any token reads them", async () => {
    const viewer = store.createToken("viewer", "viewer").token;
    const developer = store.createToken("dev", "developer").token;
    for (const t of [viewer, developer]) {
      const headers = { authorization: `Bearer ${t}`, "content-type": "application/json" };
      let res = await api.request(
        "/api/v1/buildpacks/maps",
        { method: "POST", headers, body: JSON.stringify({ url: URL_A, target: "hop3/nodejs" }) },
        { transport: "tcp" },
      );
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: { kind: "authorization" } });
      res = await api.request(
        `/api/v1/buildpacks/maps?url=${encodeURIComponent(URL_A)}`,
        { method: "DELETE", headers },
        { transport: "tcp" },
      );
      expect(res.status).toBe(403);
      res = await api.request("/api/v1/buildpacks/maps", { headers }, { transport: "tcp" });
      expect(res.status).toBe(200);
    }
    expect(operatorBuildpackMaps(store)).toEqual({});
    const res = await api.request(
      "/api/v1/buildpacks/maps",
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ url: URL_A, target: "hop3/nodejs" }),
      },
      { transport: "tcp" },
    );
    expect(res.status).toBe(201);
  });

  it("over TCP without a token, nothing (401)", async () => {
    const res = await api.request("/api/v1/buildpacks/maps", {}, { transport: "tcp" });
    expect(res.status).toBe(401);
  });
});

describe("hop buildpacks:prepare over the API", () => {
  const calls: string[] = [];
  const prepared = apiWith({
    ids: () => [],
    allowedRoots: [],
    async prepare(log) {
      calls.push("prepare");
      log("Building the build image localhost/hop3/cnb-build:x");
      return { build: "localhost/hop3/cnb-build:x", run: "localhost/hop3/cnb-run:x" };
    },
  });
  const events = async (res: Response) =>
    (await res.text())
      .trim()
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as { event: string; ok?: boolean; result?: Record<string, unknown>; line?: string },
      );

  it("streams the builds' lines and answers the images", async () => {
    const res = await prepared.request("/api/v1/buildpacks/prepare", { method: "POST" }, unix);
    expect(res.status).toBe(200);
    const evs = await events(res);
    const done = evs.at(-1)!;
    expect(done.event).toBe("done");
    expect(done.ok).toBe(true);
    expect(done.result).toMatchObject({
      build: "localhost/hop3/cnb-build:x",
      run: "localhost/hop3/cnb-run:x",
    });
    expect(JSON.stringify(evs)).toContain("Building the build image");
    expect(calls).toEqual(["prepare"]);
  });

  it("over TCP only an admin may start it: minutes of the host's CPU", async () => {
    const developer = store.createToken("dev2", "developer").token;
    const tcp = { transport: "tcp" as const };
    const refused = await prepared.request(
      "/api/v1/buildpacks/prepare",
      { method: "POST", headers: { authorization: `Bearer ${developer}` } },
      tcp,
    );
    expect(refused.status).toBe(403);
    expect(calls).toEqual(["prepare"]);
    const ok = await prepared.request(
      "/api/v1/buildpacks/prepare",
      { method: "POST", headers: { authorization: `Bearer ${token}` } },
      tcp,
    );
    expect(ok.status).toBe(200);
    expect((await events(ok)).at(-1)?.ok).toBe(true);
    expect(calls).toEqual(["prepare", "prepare"]);
  });

  it("says so on a server that has no buildpacks builder", async () => {
    const res = await api.request("/api/v1/buildpacks/prepare", { method: "POST" }, unix);
    expect(res.status).toBe(404);
  });
});
