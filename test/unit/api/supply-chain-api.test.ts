/**
 * Issue 13's API (docs/api.md) through Hono's request handling, on a real store and real SBOM/provenance files,
 * with a Podman double that only inspects images: a release's SBOM as CycloneDX and SPDX, the diff of two
 * releases, the server-side provenance check, and the audit without a database.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { afterAll, describe, expect, it } from "vitest";
import type { Deployer } from "../../../src/deploy/deployer.js";
import type { Lifecycle } from "../../../src/deploy/lifecycle.js";
import type { Platform } from "../../../src/deploy/platform.js";
import { recordReleaseProvenance } from "../../../src/sbom/provenance-service.js";
import { sbomPath, writeReleaseSbom } from "../../../src/sbom/store.js";
import { createApi } from "../../../src/server/api.js";
import { Store } from "../../../src/store/store.js";
import { validateSpdx } from "../../sbom-schemas.js";

const root = mkdtempSync(join(tmpdir(), "hop3-supply-api-"));
const store = Store.open(join(root, "hop3.db"), join(root, "secret.key"));
const imageId = (n: number) => `sha256:${String(n).repeat(64)}`;
const docker = {
  getImage: (ref: string) => ({
    inspect: async () => ({ Id: imageId(Number(/:r(\d+)$/.exec(ref)?.[1] ?? 0)), Config: { Labels: {} } }),
  }),
} as unknown as Docker;
const platform = { store, docker, settings: { root, baseDomain: "hop3.test" }, log: () => {} };
const api = createApi({
  platform: platform as unknown as Platform,
  deployer: {} as Deployer,
  lifecycle: {} as Lifecycle,
  version: "test",
  supervisor: "podman",
  uploadsDir: root,
  maxUpload: 1024,
  syncSshKeys: async () => {},
});
afterAll(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

const unix = { transport: "unix" as const };
const get = (path: string) => api.request(path, {}, unix);
const post = (path: string, body: unknown) =>
  api.request(
    path,
    { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } },
    unix,
  );

const bom = (
  release: number,
  libc6: string,
  extra: { name: string; version: string; purl: string }[] = [],
) => ({
  bomFormat: "CycloneDX",
  specVersion: "1.6",
  metadata: {
    timestamp: "2026-12-06T05:00:00.000Z",
    component: { type: "container", name: "web", version: `v${release}` },
    properties: [
      { name: "hop3:app", value: "web" },
      { name: "hop3:version", value: "test" },
      { name: "hop3:sbom:incomplete", value: "no /etc/os-release: the image's distribution is unknown" },
    ],
  },
  components: [
    {
      type: "library",
      name: "libc6",
      version: libc6,
      purl: `pkg:deb/debian/libc6@${libc6}?arch=amd64&distro=debian-12`,
    },
    ...extra.map((e) => ({ type: "library", ...e })),
  ],
});

store.createApp("web");
for (const n of [1, 2]) {
  const r = store.createRelease("web", { sourceKind: "containerfile" });
  store.activateRelease("web", r.id, { image: `localhost/hop3/web:r${n}`, imageId: imageId(n) });
}
await writeReleaseSbom(root, "web", 1, bom(1, "2.36-9+deb12u4"));
await writeReleaseSbom(
  root,
  "web",
  2,
  bom(2, "2.36-9+deb12u7", [{ name: "express", version: "4.19.2", purl: "pkg:npm/express@4.19.2" }]),
);
await recordReleaseProvenance({ store, docker, root, version: "test" }, "web", 2);

describe("GET /api/v1/apps/:app/sbom", () => {
  it("gives the active release's CycloneDX document and what could not be read", async () => {
    const res = await get("/api/v1/apps/web/sbom");
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      release: number;
      format: string;
      incomplete: string[];
      sbom: unknown;
    };
    expect(body).toMatchObject({ release: 2, format: "cyclonedx", sbom: { specVersion: "1.6" } });
    expect(body.incomplete).toEqual(["no /etc/os-release: the image's distribution is unknown"]);
  });

  it("converts a chosen release to schema-valid SPDX 2.3; refuses an unknown format or release", async () => {
    const res = await get("/api/v1/apps/web/sbom?release=v1&format=spdx");
    expect(res.status).toBe(200);
    const { sbom } = (await res.json()) as { sbom: { packages: { name: string; versionInfo?: string }[] } };
    expect(validateSpdx(sbom), JSON.stringify(validateSpdx.errors)).toBe(true);
    expect(sbom.packages.find((p) => p.name === "libc6")?.versionInfo).toBe("2.36-9+deb12u4");
    expect((await get("/api/v1/apps/web/sbom?format=xml")).status).toBe(400);
    expect((await get("/api/v1/apps/web/sbom?release=v9")).status).toBe(404);
  });
});

describe("GET /api/v1/apps/:app/sbom/diff", () => {
  it("says what was upgraded and added between two releases", async () => {
    const res = await get("/api/v1/apps/web/sbom/diff?from=v1&to=v2");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      from: 1,
      to: 2,
      changed: [{ name: "libc6", from: "2.36-9+deb12u4", to: "2.36-9+deb12u7" }],
      added: [{ name: "express", version: "4.19.2" }],
      removed: [],
    });
  });
});

describe("POST /api/v1/apps/:app/provenance/verify", () => {
  it("verifies the release's statement with the server's key, and fails with the reason once the SBOM changed", async () => {
    let res = await post("/api/v1/apps/web/provenance/verify", { release: 2 });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ app: "web", release: 2, ok: true });
    const path = sbomPath(root, "web", 2);
    writeFileSync(path, readFileSync(path, "utf8").replace("4.19.2", "4.20.0"));
    res = await post("/api/v1/apps/web/provenance/verify", { release: 2 });
    expect(await res.json()).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/SBOM's sha256 .* does not match the signed byproduct/),
    });
    // a release without a statement
    expect((await post("/api/v1/apps/web/provenance/verify", { release: 1 })).status).toBe(404);
  });
});

describe("GET /api/v1/audit", () => {
  it("without an imported database: 404 'no vulnerability database imported', not an empty report", async () => {
    const res = await get("/api/v1/audit");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { message: "no vulnerability database imported" } });
  });
});
