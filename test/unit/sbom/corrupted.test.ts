/**
 * Bad files on the server's disk (issue 13, "a corrupted SBOM file or a wrong signature: sbom:verify fails with
 * the reason"): a release's SBOM and provenance written by the real code (a real store and files, a Podman
 * double), then damaged as a disk fault or an intruder would. `hop sbom` names the corrupted file; the
 * materials `hop sbom:verify` fetches (provenanceMaterials) fail its checks (verifyMaterials) with the reason.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { afterEach, describe, expect, it } from "vitest";
import { loadReleaseSbom } from "../../../src/sbom/lookup.js";
import {
  provenanceMaterials,
  recordReleaseProvenance,
  serverPublicKey,
  verifyMaterials,
} from "../../../src/sbom/provenance-service.js";
import { parsePublicKeyPem } from "../../../src/sbom/signing-key.js";
import { releaseDocPath, sbomPath, writeReleaseSbom } from "../../../src/sbom/store.js";
import { Store } from "../../../src/store/store.js";

const IMAGE_ID = `sha256:${"ab".repeat(32)}`;

describe("a corrupted SBOM or provenance file on the server", () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });

  async function released() {
    const root = mkdtempSync(join(tmpdir(), "sbom-corrupt-"));
    roots.push(root);
    const store = Store.open(join(root, "hop3.db"), join(root, "secret.key"));
    store.createApp("web");
    const r = store.createRelease("web", { sourceKind: "containerfile" });
    store.activateRelease("web", r.id, { image: "localhost/hop3/web:r1", imageId: IMAGE_ID });
    const docker = {
      getImage: () => ({ inspect: async () => ({ Id: IMAGE_ID, Config: { Labels: {} } }) }),
    } as unknown as Docker;
    const ctx = { store, docker, root, version: "0.0.0-test", log: () => {} };
    await writeReleaseSbom(root, "web", 1, {
      bomFormat: "CycloneDX",
      specVersion: "1.6",
      components: [{ type: "library", name: "libc6", version: "2.36-9+deb12u7" }],
    });
    expect((await recordReleaseProvenance(ctx, "web", 1)).path).toBeDefined();
    const key = parsePublicKeyPem(serverPublicKey(root).pem, "the server's key");
    const verify = async () => verifyMaterials(await provenanceMaterials(ctx, "web", 1), key);
    return { root, store, ctx, verify };
  }

  it("as written, it verifies", async () => {
    const { verify } = await released();
    expect(await verify()).toMatchObject({ ok: true });
  });

  it("an SBOM changed by one byte: sbom:verify fails naming both digests", async () => {
    const { root, verify } = await released();
    const path = sbomPath(root, "web", 1);
    writeFileSync(path, readFileSync(path, "utf8").replace("deb12u7", "deb12u8"));
    expect(await verify()).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        /^the SBOM's sha256 [0-9a-f]{64} does not match the signed byproduct sbom \([0-9a-f]{64}\)/,
      ),
    });
  });

  it("a truncated SBOM: hop sbom says it is corrupted, naming the file; sbom:verify fails", async () => {
    const { root, store, verify } = await released();
    const path = sbomPath(root, "web", 1);
    writeFileSync(path, readFileSync(path, "utf8").slice(0, 40));
    await expect(loadReleaseSbom(store, root, "web", 1)).rejects.toThrow(
      `the SBOM of web v1 (${path}) is corrupted`,
    );
    expect((await verify()).ok).toBe(false);
  });

  it("a statement whose signature was changed fails; one that is not JSON says so", async () => {
    const { root, ctx, verify } = await released();
    const path = releaseDocPath(root, "web", 1, "intoto");
    const env = JSON.parse(readFileSync(path, "utf8")) as { signatures: { sig: string }[] };
    const sig = Buffer.from(env.signatures[0]!.sig, "base64");
    sig[10] = sig[10]! ^ 0x01;
    env.signatures[0]!.sig = sig.toString("base64");
    writeFileSync(path, JSON.stringify(env));
    expect(await verify()).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^the signature does not verify with the key/),
    });
    writeFileSync(path, "{ not json");
    await expect(provenanceMaterials(ctx, "web", 1)).rejects.toThrow(
      /^provenance of web v1: the intoto document of web v1 \(.*v1\.intoto\.json\) is corrupted/,
    );
  });
});
