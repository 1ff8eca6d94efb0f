/**
 * A release's provenance: an in-toto v1 Statement whose predicate is SLSA provenance v1 (who built the image,
 * from what, and what came out), wrapped in a DSSE envelope signed with the server's ed25519 key
 * (signing-key.ts). Stored beside the SBOM as `v<N>.intoto.json` (store.ts).
 *
 * Pure: building, signing and checking take values and return values; reading the SBOM file and asking Podman
 * for the image digest is the caller's part (provenance-service.ts).
 *
 * References: in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md),
 * SLSA provenance v1 (https://slsa.dev/spec/v1.0/provenance), DSSE v1 (PAE encoding,
 * https://github.com/secure-systems-lab/dsse/blob/master/protocol.md).
 */
import { createHash, type KeyObject, sign, verify } from "node:crypto";
import type { SourceKind } from "../store/store.js";

export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** Identifies Hop3 as the builder; the server's version is in builder.version. */
export const BUILDER_ID = "urn:hop3:server";
/** One buildType per build path: what externalParameters mean depends on it (docs/supply-chain.md). */
export const BUILD_TYPES: Record<SourceKind, string> = {
  buildpacks: "urn:hop3:build-type:buildpacks:v1",
  containerfile: "urn:hop3:build-type:containerfile:v1",
  image: "urn:hop3:build-type:image:v1",
  config: "urn:hop3:build-type:config:v1",
};

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  mediaType?: string;
  annotations?: Record<string, unknown>;
}

export interface Statement {
  _type: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: {
    buildDefinition: {
      buildType: string;
      externalParameters: Record<string, unknown>;
      internalParameters?: Record<string, unknown>;
      resolvedDependencies: ResourceDescriptor[];
    };
    runDetails: {
      builder: { id: string; version: Record<string, string> };
      metadata?: { invocationId?: string; startedOn?: string; finishedOn?: string };
      byproducts: ResourceDescriptor[];
    };
  };
}

export interface Envelope {
  payloadType: string;
  /** base64 of the statement's JSON. */
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

export interface ProvenanceInput {
  app: string;
  release: number;
  sourceKind: SourceKind;
  /** The release's image as Podman names it (localhost/hop3/APP:vN) and its digest (`sha256:...`). */
  image: string;
  imageDigest: string;
  /** Hop3's version (package.json). */
  hop3Version: string;
  /** Git revision of the source, when deployed from git. */
  revision?: string;
  /** sha256 of the uploaded source archive, when there was one. */
  sourceDigest?: string;
  /** What the operator asked for: `--image REF`, the Containerfile's name... */
  sourceRef?: string;
  baseImage?: { name: string; digest?: string };
  buildpacks?: { id: string; version?: string }[];
  /** sha256 (hex) of the stored SBOM file. */
  sbomSha256: string;
  startedOn?: string;
  finishedOn?: string;
}

/** `sha256:abc` or `abc` -> { sha256: "abc" }. Other algorithms keep their name. */
export function digestSet(digest: string): Record<string, string> {
  const m = /^([a-z0-9]+):([0-9a-f]+)$/i.exec(digest);
  if (m) return { [m[1]!.toLowerCase()]: m[2]!.toLowerCase() };
  return { sha256: digest.toLowerCase() };
}

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export function buildStatement(input: ProvenanceInput): Statement {
  const deps: ResourceDescriptor[] = [];
  if (input.sourceDigest || input.revision) {
    deps.push({
      name: "source",
      ...(input.sourceDigest ? { digest: digestSet(input.sourceDigest) } : {}),
      ...(input.revision ? { annotations: { revision: input.revision } } : {}),
    });
  }
  if (input.baseImage) {
    deps.push({
      name: "base-image",
      uri: input.baseImage.name,
      ...(input.baseImage.digest ? { digest: digestSet(input.baseImage.digest) } : {}),
    });
  }
  for (const bp of input.buildpacks ?? []) {
    deps.push({
      name: "buildpack",
      uri: bp.version ? `${bp.id}@${bp.version}` : bp.id,
      annotations: { id: bp.id, ...(bp.version ? { version: bp.version } : {}) },
    });
  }
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: input.image, digest: digestSet(input.imageDigest) }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPES[input.sourceKind],
        externalParameters: {
          app: input.app,
          release: input.release,
          ...(input.revision ? { revision: input.revision } : {}),
          ...(input.sourceRef ? { source: input.sourceRef } : {}),
          ...(input.sourceDigest ? { sourceDigest: input.sourceDigest } : {}),
        },
        resolvedDependencies: deps,
      },
      runDetails: {
        builder: { id: BUILDER_ID, version: { hop3: input.hop3Version } },
        metadata: {
          invocationId: `${input.app}/v${input.release}`,
          ...(input.startedOn ? { startedOn: input.startedOn } : {}),
          ...(input.finishedOn ? { finishedOn: input.finishedOn } : {}),
        },
        byproducts: [
          {
            name: "sbom",
            uri: `v${input.release}.cdx.json`,
            mediaType: "application/vnd.cyclonedx+json",
            digest: { sha256: input.sbomSha256 },
          },
        ],
      },
    },
  };
}

/** DSSE's pre-authentication encoding: what is signed, so the payload type cannot be swapped. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, "utf8"),
    type,
    Buffer.from(` ${payload.length} `, "utf8"),
    payload,
  ]);
}

export function signStatement(statement: Statement, privateKey: KeyObject, keyid: string): Envelope {
  const payload = Buffer.from(JSON.stringify(statement), "utf8");
  const sig = sign(null, pae(IN_TOTO_PAYLOAD_TYPE, payload), privateKey);
  return {
    payloadType: IN_TOTO_PAYLOAD_TYPE,
    payload: payload.toString("base64"),
    signatures: [{ keyid, sig: sig.toString("base64") }],
  };
}

export type Verdict<T> = { ok: true; value: T } | { ok: false; reason: string };

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(text: unknown): Buffer | undefined {
  // Buffer.from(x, "base64") skips characters it does not know: a flipped byte could pass unnoticed
  if (typeof text !== "string" || !STRICT_BASE64.test(text)) return undefined;
  return Buffer.from(text, "base64");
}

/**
 * Checks the envelope's shape and that one of its signatures verifies with `publicKey`; answers the statement.
 * Every failure says what is wrong.
 */
export function openEnvelope(envelope: unknown, publicKey: KeyObject): Verdict<Statement> {
  if (!envelope || typeof envelope !== "object" || Array.isArray(envelope))
    return { ok: false, reason: "the provenance file is not a DSSE envelope (not a JSON object)" };
  const env = envelope as Partial<Envelope>;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    return {
      ok: false,
      reason: `the envelope's payloadType is ${JSON.stringify(env.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`,
    };
  const payload = decodeBase64(env.payload);
  if (!payload) return { ok: false, reason: "the envelope's payload is not valid base64" };
  if (!Array.isArray(env.signatures) || env.signatures.length === 0)
    return { ok: false, reason: "the envelope has no signature" };
  const message = pae(env.payloadType, payload);
  let verified = false;
  let malformed = false;
  for (const s of env.signatures) {
    const sig = decodeBase64(s?.sig);
    if (!sig) {
      malformed = true;
      continue;
    }
    try {
      if (verify(null, message, publicKey, sig)) verified = true;
    } catch {
      malformed = true;
    }
  }
  if (!verified)
    return {
      ok: false,
      reason: malformed
        ? "the envelope's signature is malformed"
        : `the signature does not verify with the key ${shortKeyId(publicKey)}: the statement was changed or signed with another key`,
    };
  let statement: unknown;
  try {
    statement = JSON.parse(payload.toString("utf8"));
  } catch (err) {
    return { ok: false, reason: `the signed payload is not JSON: ${(err as Error).message}` };
  }
  const st = statement as Partial<Statement>;
  if (st?._type !== STATEMENT_TYPE)
    return {
      ok: false,
      reason: `the payload is not an in-toto v1 statement (_type ${JSON.stringify(st?._type)})`,
    };
  if (st.predicateType !== SLSA_PROVENANCE_V1)
    return {
      ok: false,
      reason: `the predicate is ${JSON.stringify(st.predicateType)}, not SLSA provenance v1`,
    };
  if (!Array.isArray(st.subject) || st.subject.length === 0)
    return { ok: false, reason: "the statement has no subject" };
  return { ok: true, value: statement as Statement };
}

function shortKeyId(publicKey: KeyObject): string {
  return sha256Hex(publicKey.export({ type: "spki", format: "der" })).slice(0, 16);
}

export interface Expected {
  /** sha256 (hex) of the SBOM file as stored now. */
  sbomSha256?: string;
  /** The image's digest as Podman reports it now (`sha256:...`); undefined when the image is gone. */
  imageDigest?: string;
  app?: string;
  release?: number;
}

export interface VerifyReport {
  ok: boolean;
  /** What was checked and found right, in order. */
  checked: string[];
  /** Why it failed (the first thing found wrong); absent when ok. */
  reason?: string;
  statement?: Statement;
}

/** The signature, then the statement against the release as it is now: its SBOM, its image, its name. */
export function verifyProvenance(envelope: unknown, publicKey: KeyObject, expected: Expected): VerifyReport {
  const checked: string[] = [];
  const opened = openEnvelope(envelope, publicKey);
  if (!opened.ok) return { ok: false, checked, reason: opened.reason };
  const st = opened.value;
  checked.push(`signature (ed25519, key ${shortKeyId(publicKey)})`);
  const fail = (reason: string): VerifyReport => ({ ok: false, checked, reason, statement: st });
  const params = st.predicate?.buildDefinition?.externalParameters ?? {};
  if (expected.app !== undefined && params.app !== expected.app)
    return fail(`the statement is about app ${JSON.stringify(params.app)}, not ${expected.app}`);
  if (expected.release !== undefined && params.release !== expected.release)
    return fail(`the statement is about release v${String(params.release)}, not v${expected.release}`);
  if (expected.sbomSha256 !== undefined) {
    const sbom = (st.predicate?.runDetails?.byproducts ?? []).find((b) => b?.name === "sbom");
    const signed = sbom?.digest?.sha256;
    if (!signed) return fail("the statement names no SBOM byproduct");
    if (signed !== expected.sbomSha256)
      return fail(
        `the SBOM's sha256 ${expected.sbomSha256} does not match the signed byproduct sbom (${signed}): the SBOM was changed after the release`,
      );
    checked.push(`SBOM sha256 ${expected.sbomSha256}`);
  }
  if (expected.imageDigest !== undefined) {
    const want = digestSet(expected.imageDigest);
    const [alg, value] = Object.entries(want)[0]!;
    const subject = st.subject.find((s) => s?.digest?.[alg] === value);
    if (!subject) {
      const named = st.subject.map((s) => `${s?.name} (${alg}:${s?.digest?.[alg] ?? "?"})`).join(", ");
      return fail(`the image digest ${alg}:${value} does not match the signed subject ${named}`);
    }
    checked.push(`image ${subject.name} ${alg}:${value}`);
  }
  return { ok: true, checked, statement: st };
}
