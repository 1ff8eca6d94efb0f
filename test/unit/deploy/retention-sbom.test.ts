/**
 * Release retention and the SBOMs (issue 13: an SBOM is "removed with the release"): when pruneImages removes a
 * release's image, that release's SBOM and provenance go with it; an image Podman refuses to remove (still in
 * use) keeps its documents, and no other release's documents are touched. A real store and real files, a
 * Podman double.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { afterEach, describe, expect, it } from "vitest";
import type { Platform } from "../../../src/deploy/platform.js";
import { silentProgress } from "../../../src/deploy/platform.js";
import { pruneImages } from "../../../src/deploy/retention.js";
import { sbomDir, writeReleaseDoc } from "../../../src/sbom/store.js";
import { Store } from "../../../src/store/store.js";

describe("pruneImages and release SBOMs", () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });

  it("removes a pruned release's SBOM and provenance with its image, and nothing else", async () => {
    const root = mkdtempSync(join(tmpdir(), "retention-sbom-"));
    roots.push(root);
    const store = Store.open(join(root, "hop3.db"), join(root, "secret.key"));
    store.createApp("web");
    for (let n = 1; n <= 4; n++) {
      const r = store.createRelease("web", { sourceKind: "containerfile" });
      store.activateRelease("web", r.id, { image: `localhost/hop3/web:r${n}`, imageId: `sha256:${n}` });
      await writeReleaseDoc(root, "web", n, "cdx", { bomFormat: "CycloneDX", specVersion: "1.6" });
      await writeReleaseDoc(root, "web", n, "intoto", { payloadType: "application/vnd.in-toto+json" });
    }
    // not a release of this store: v1's removal must not take it (v1. is not v10.)
    await writeReleaseDoc(root, "web", 10, "cdx", { bomFormat: "CycloneDX", specVersion: "1.6" });
    const removed: string[] = [];
    const docker = {
      getImage: (ref: string) => ({
        remove: async () => {
          // r2 is still used by a container: Podman refuses, retention tries again after the next deploy
          if (ref.endsWith(":r2")) throw Object.assign(new Error("image in use"), { statusCode: 409 });
          removed.push(ref);
        },
      }),
    } as unknown as Docker;
    const p = { store, docker, settings: { root, retention: 2 } } as unknown as Platform;

    await pruneImages(p, "web", silentProgress);

    expect(removed).toEqual(["localhost/hop3/web:r1"]);
    expect(readdirSync(sbomDir(root, "web")).sort()).toEqual([
      "v10.cdx.json",
      "v2.cdx.json",
      "v2.intoto.json",
      "v3.cdx.json",
      "v3.intoto.json",
      "v4.cdx.json",
      "v4.intoto.json",
    ]);
    expect(existsSync(join(sbomDir(root, "web"), "v1.cdx.json"))).toBe(false);
  });
});
