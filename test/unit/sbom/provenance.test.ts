import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  buildStatement,
  type Envelope,
  openEnvelope,
  type ProvenanceInput,
  pae,
  sha256Hex,
  signStatement,
  verifyProvenance,
} from "../../../src/sbom/provenance.js";
import { type ProvenanceMaterials, verifyMaterials } from "../../../src/sbom/provenance-service.js";
import {
  keyIdOf,
  loadOrCreateSigningKey,
  parsePublicKeyPem,
  publicKeyPem,
} from "../../../src/sbom/signing-key.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "hop3-prov-"));
  dirs.push(d);
  return d;
}

const IMAGE_DIGEST = `sha256:${"ab".repeat(32)}`;
const SBOM_SHA = "cd".repeat(32);
const input: ProvenanceInput = {
  app: "shop",
  release: 3,
  sourceKind: "buildpacks",
  image: "localhost/hop3/shop:v3",
  imageDigest: IMAGE_DIGEST,
  hop3Version: "0.1.0",
  revision: "0123456789abcdef0123456789abcdef01234567",
  sourceDigest: `sha256:${"ef".repeat(32)}`,
  baseImage: { name: "docker.io/library/debian:12-slim", digest: `sha256:${"12".repeat(32)}` },
  buildpacks: [{ id: "hop3/nodejs", version: "0.3.0" }],
  sbomSha256: SBOM_SHA,
};

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, publicKey, keyid: keyIdOf(publicKey) };
}

function flip(b64: string, index: number): string {
  const bytes = Buffer.from(b64, "base64");
  bytes[index] = bytes[index]! ^ 0x01;
  return bytes.toString("base64");
}

describe("provenance statement", () => {
  it("is an in-toto v1 statement with a SLSA v1 predicate naming builder, inputs and outputs", () => {
    const st = buildStatement(input);
    expect(st._type).toBe("https://in-toto.io/Statement/v1");
    expect(st.predicateType).toBe("https://slsa.dev/provenance/v1");
    expect(st.subject).toEqual([{ name: "localhost/hop3/shop:v3", digest: { sha256: "ab".repeat(32) } }]);
    const def = st.predicate.buildDefinition;
    expect(def.buildType).toContain("buildpacks");
    expect(def.externalParameters).toMatchObject({ app: "shop", release: 3, revision: input.revision });
    expect(def.resolvedDependencies.map((d) => d.name)).toEqual(["source", "base-image", "buildpack"]);
    expect(def.resolvedDependencies[1]).toMatchObject({ digest: { sha256: "12".repeat(32) } });
    expect(def.resolvedDependencies[2]!.uri).toBe("hop3/nodejs@0.3.0");
    expect(st.predicate.runDetails.builder).toEqual({ id: "urn:hop3:server", version: { hop3: "0.1.0" } });
    expect(st.predicate.runDetails.byproducts[0]).toMatchObject({
      name: "sbom",
      digest: { sha256: SBOM_SHA },
    });
  });

  it("PAE is DSSE v1's encoding", () => {
    // the example from the DSSE protocol document
    expect(pae("http://example.com/HelloWorld", Buffer.from("hello world")).toString()).toBe(
      "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
    );
  });
});

describe("DSSE envelope", () => {
  it("sign then verify: ok, with what was checked", () => {
    const k = keyPair();
    const env = signStatement(buildStatement(input), k.privateKey, k.keyid);
    expect(env.payloadType).toBe("application/vnd.in-toto+json");
    expect(env.signatures[0]!.keyid).toBe(k.keyid);
    const report = verifyProvenance(env, k.publicKey, {
      sbomSha256: SBOM_SHA,
      imageDigest: IMAGE_DIGEST,
      app: "shop",
      release: 3,
    });
    expect(report.reason).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.checked).toHaveLength(3);
    expect(report.checked.join("\n")).toMatch(
      /signature.*\n.*SBOM sha256.*\n.*image localhost\/hop3\/shop:v3/,
    );
  });

  it("a flipped byte in the payload fails: the signature does not verify", () => {
    const k = keyPair();
    const env = signStatement(buildStatement(input), k.privateKey, k.keyid);
    for (const i of [0, 40, 200]) {
      const bad: Envelope = { ...env, payload: flip(env.payload, i) };
      const r = verifyProvenance(bad, k.publicKey, {});
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(/signature does not verify/);
    }
  });

  it("a flipped byte in the signature fails", () => {
    const k = keyPair();
    const env = signStatement(buildStatement(input), k.privateKey, k.keyid);
    const bad: Envelope = { ...env, signatures: [{ keyid: k.keyid, sig: flip(env.signatures[0]!.sig, 5) }] };
    const r = verifyProvenance(bad, k.publicKey, {});
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/signature does not verify/);
  });

  it("a signature that is not base64 or of the wrong length is malformed", () => {
    const k = keyPair();
    const env = signStatement(buildStatement(input), k.privateKey, k.keyid);
    expect(openEnvelope({ ...env, signatures: [{ keyid: "x", sig: "not base64!" }] }, k.publicKey)).toEqual({
      ok: false,
      reason: "the envelope's signature is malformed",
    });
    expect(openEnvelope({ ...env, signatures: [] }, k.publicKey)).toMatchObject({ reason: /no signature/ });
    expect(openEnvelope({ ...env, payloadType: "text/plain" }, k.publicKey)).toMatchObject({
      reason: /payloadType/,
    });
    expect(openEnvelope("[]", k.publicKey)).toMatchObject({ ok: false });
  });

  it("the wrong key fails", () => {
    const k = keyPair();
    const other = keyPair();
    const env = signStatement(buildStatement(input), k.privateKey, k.keyid);
    const r = verifyProvenance(env, other.publicKey, {});
    expect(r.ok).toBe(false);
    expect(r.reason).toMatch(/another key/);
  });

  it("an SBOM whose digest differs from the signed byproduct fails, naming both", () => {
    const k = keyPair();
    const env = signStatement(buildStatement(input), k.privateKey, k.keyid);
    const r = verifyProvenance(env, k.publicKey, { sbomSha256: "00".repeat(32) });
    expect(r.ok).toBe(false);
    expect(r.reason).toContain("00".repeat(32));
    expect(r.reason).toContain(SBOM_SHA);
    expect(r.checked).toHaveLength(1);
  });

  it("an image digest that does not match the subject fails, naming the subject", () => {
    const k = keyPair();
    const env = signStatement(buildStatement(input), k.privateKey, k.keyid);
    const r = verifyProvenance(env, k.publicKey, {
      sbomSha256: SBOM_SHA,
      imageDigest: `sha256:${"99".repeat(32)}`,
    });
    expect(r.ok).toBe(false);
    expect(r.reason).toContain("localhost/hop3/shop:v3");
    expect(r.reason).toContain("99".repeat(32));
  });

  it("a statement of another app or release fails (a file copied from elsewhere)", () => {
    const k = keyPair();
    const env = signStatement(buildStatement(input), k.privateKey, k.keyid);
    expect(verifyProvenance(env, k.publicKey, { app: "blog" }).reason).toMatch(/app "shop", not blog/);
    expect(verifyProvenance(env, k.publicKey, { release: 4 }).reason).toMatch(/v3, not v4/);
  });
});

describe("signing key", () => {
  it("is created once, mode 0600, and loaded the same afterwards", () => {
    const path = join(tempDir(), "keys", "provenance.key");
    const a = loadOrCreateSigningKey(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const b = loadOrCreateSigningKey(path);
    expect(b.keyid).toBe(a.keyid);
    expect(readFileSync(path, "utf8")).toContain("PRIVATE KEY");
  });

  it("the exported public key verifies what the private key signed", () => {
    const k = loadOrCreateSigningKey(join(tempDir(), "provenance.key"));
    const pem = publicKeyPem(k.publicKey);
    expect(pem).toContain("BEGIN PUBLIC KEY");
    const env = signStatement(buildStatement(input), k.privateKey, k.keyid);
    expect(verifyProvenance(env, parsePublicKeyPem(pem), {}).ok).toBe(true);
  });

  it("refuses a key readable by others, and a public key that is not ed25519", () => {
    const path = join(tempDir(), "provenance.key");
    loadOrCreateSigningKey(path);
    chmodSync(path, 0o644);
    expect(() => loadOrCreateSigningKey(path)).toThrow(/readable by others/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
    expect(() => parsePublicKeyPem(rsa.export({ type: "spki", format: "pem" }).toString())).toThrow(
      /not ed25519/,
    );
    const garbage = join(tempDir(), "k.pem");
    writeFileSync(garbage, "hello");
    expect(() => parsePublicKeyPem(readFileSync(garbage, "utf8"))).toThrow(/not a public key/);
  });
});

describe("verifyMaterials (hop sbom:verify on what the server sent)", () => {
  const sbomText = '{"bomFormat":"CycloneDX","specVersion":"1.6"}\n';
  function materials() {
    const k = keyPair();
    const st = buildStatement({ ...input, sbomSha256: sha256Hex(Buffer.from(sbomText)) });
    const m: ProvenanceMaterials = {
      app: "shop",
      release: 3,
      image: input.image,
      imageDigest: IMAGE_DIGEST,
      envelope: signStatement(st, k.privateKey, k.keyid),
      sbom: sbomText,
    };
    return { k, m };
  }
  it("ok with the three checks", () => {
    const { k, m } = materials();
    expect(verifyMaterials(m, k.publicKey)).toMatchObject({
      ok: true,
      checked: [expect.any(String), expect.any(String), expect.any(String)],
    });
  });
  it("an SBOM edited by one character fails", () => {
    const { k, m } = materials();
    const r = verifyMaterials({ ...m, sbom: sbomText.replace("1.6", "1.5") }, k.publicKey);
    expect(r).toMatchObject({ ok: false, reason: /SBOM's sha256 .* does not match the signed byproduct/ });
  });
  it("a missing SBOM or a pruned image fails after the signature was checked", () => {
    const { k, m } = materials();
    const { sbom: _s, ...noSbom } = m;
    expect(verifyMaterials(noSbom, k.publicKey)).toMatchObject({
      ok: false,
      reason: /SBOM file .* is missing/,
    });
    const { imageDigest: _d, ...noImage } = m;
    expect(verifyMaterials(noImage, k.publicKey)).toMatchObject({
      ok: false,
      reason: /no longer on this server/,
    });
    expect(verifyMaterials(noImage, keyPair().publicKey).reason).toMatch(/another key/);
  });
});
