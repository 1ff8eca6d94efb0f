/**
 * Provenance on the server: written after a release's SBOM (the statement names the SBOM's sha256), read back
 * for `hop sbom:verify`. The thin part around provenance.ts: reading files, asking Podman for image digests and
 * labels, loading the signing key.
 */

import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import type Docker from "dockerode";
import type { ReleaseRow, Store } from "../store/store.js";
import { Hop3Error, notFound } from "../util/errors.js";
import {
  buildStatement,
  type Envelope,
  type ProvenanceInput,
  sha256Hex,
  signStatement,
  type VerifyReport,
  verifyProvenance,
} from "./provenance.js";
import { loadOrCreateSigningKey, publicKeyPem, signingKeyPath } from "./signing-key.js";
import { readReleaseDoc, sbomPath, writeReleaseDoc } from "./store.js";

export interface ProvenanceContext {
  store: Store;
  docker: Docker;
  /** Hop3's data directory (HOP3_ROOT): the SBOMs and the signing key live under it. */
  root: string;
  /** Hop3's version, the builder's version in the statement. */
  version: string;
}

interface ImageFacts {
  digest: string;
  labels: Record<string, string>;
}

async function inspectImage(docker: Docker, ref: string): Promise<ImageFacts | undefined> {
  try {
    const info = await docker.getImage(ref).inspect();
    const id = info.Id.startsWith("sha256:") ? info.Id : `sha256:${info.Id}`;
    return { digest: id, labels: (info.Config?.Labels as Record<string, string> | null) ?? {} };
  } catch {
    return undefined;
  }
}

function parseLabel<T>(labels: Record<string, string>, name: string): T | undefined {
  try {
    return labels[name] ? (JSON.parse(labels[name]) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** The inputs a statement names, from the release row and the image's own labels. */
async function provenanceInput(
  ctx: ProvenanceContext,
  release: ReleaseRow,
  image: ImageFacts,
  sbomSha256: string,
): Promise<ProvenanceInput> {
  const labels = image.labels;
  const build = parseLabel<{ buildpacks?: { id?: string; version?: string }[] }>(
    labels,
    "io.buildpacks.build.metadata",
  );
  const lifecycle = parseLabel<{ runImage?: { reference?: string } }>(
    labels,
    "io.buildpacks.lifecycle.metadata",
  );
  let baseImage: ProvenanceInput["baseImage"];
  const runImage = lifecycle?.runImage?.reference;
  const ociBase = labels["org.opencontainers.image.base.name"];
  if (runImage) {
    const base = await inspectImage(ctx.docker, runImage);
    baseImage = { name: runImage, ...(base ? { digest: base.digest } : {}) };
  } else if (ociBase) {
    const digest = labels["org.opencontainers.image.base.digest"];
    baseImage = { name: ociBase, ...(digest ? { digest } : {}) };
  }
  const buildpacks = (build?.buildpacks ?? [])
    .filter((b): b is { id: string; version?: string } => typeof b?.id === "string")
    .map((b) => ({ id: b.id, ...(typeof b.version === "string" ? { version: b.version } : {}) }));
  return {
    app: release.app,
    release: release.number,
    sourceKind: release.sourceKind,
    image: release.image!,
    imageDigest: image.digest,
    hop3Version: ctx.version,
    ...(release.revision ? { revision: release.revision } : {}),
    ...(release.sourceRef ? { sourceRef: release.sourceRef } : {}),
    ...(baseImage ? { baseImage } : {}),
    ...(buildpacks.length ? { buildpacks } : {}),
    sbomSha256,
    startedOn: release.createdAt,
    ...(release.finishedAt ? { finishedOn: release.finishedAt } : {}),
  };
}

/**
 * Signs and stores `v<N>.intoto.json` for a release whose SBOM is written. Answers the file's path, or why
 * there is none (no SBOM, no image): provenance names the SBOM and the image, it cannot exist without them.
 */
export async function recordReleaseProvenance(
  ctx: ProvenanceContext,
  app: string,
  releaseNumber: number,
): Promise<{ path?: string; skipped?: string }> {
  const release = ctx.store.getRelease(app, releaseNumber);
  if (!release?.image) return { skipped: "the release has no image" };
  let sbom: Buffer;
  try {
    sbom = readFileSync(sbomPath(ctx.root, app, releaseNumber));
  } catch {
    return { skipped: "the release has no SBOM" };
  }
  const image = await inspectImage(ctx.docker, release.image);
  if (!image) return { skipped: `the image ${release.image} is not on this server` };
  const key = loadOrCreateSigningKey(signingKeyPath(ctx.root));
  const statement = buildStatement(await provenanceInput(ctx, release, image, sha256Hex(sbom)));
  // the app may have been destroyed while its image was inspected: its documents are gone, write none again
  if (!ctx.store.getRelease(app, releaseNumber)) return { skipped: "the release no longer exists" };
  const envelope = signStatement(statement, key.privateKey, key.keyid);
  const path = await writeReleaseDoc(ctx.root, app, releaseNumber, "intoto", {
    ...envelope,
  } as unknown as Record<string, unknown>);
  return { path };
}

export function serverPublicKey(root: string): { pem: string; keyid: string; key: KeyObject } {
  const k = loadOrCreateSigningKey(signingKeyPath(root));
  return { pem: publicKeyPem(k.publicKey), keyid: k.keyid, key: k.publicKey };
}

/** What a verifier needs, as stored now: the envelope, the SBOM's exact text and the image's current digest. */
export interface ProvenanceMaterials {
  app: string;
  release: number;
  image?: string;
  /** The image's digest as Podman reports it now; absent when the image is gone (pruned). */
  imageDigest?: string;
  envelope: Envelope;
  /** The SBOM file's content, byte for byte (UTF-8 JSON); absent when the file is missing. */
  sbom?: string;
}

export async function provenanceMaterials(
  ctx: ProvenanceContext,
  app: string,
  releaseNumber?: number,
): Promise<ProvenanceMaterials> {
  ctx.store.requireApp(app);
  const release =
    releaseNumber !== undefined ? ctx.store.getRelease(app, releaseNumber) : ctx.store.currentRelease(app);
  if (!release)
    throw notFound(
      releaseNumber !== undefined
        ? `${app} has no release v${releaseNumber}`
        : `${app} has no active release`,
      "list releases with: hop releases",
    );
  let envelope: Record<string, unknown> | undefined;
  try {
    envelope = await readReleaseDoc(ctx.root, app, release.number, "intoto");
  } catch (err) {
    // a provenance file that is not JSON is a failed verification, with the reason, not a server error
    throw new Hop3Error(`provenance of ${app} v${release.number}: ${(err as Error).message}`, "error");
  }
  if (!envelope)
    throw notFound(
      `${app} v${release.number} has no provenance statement`,
      "provenance is written with the release's SBOM; releases deployed before it have none",
    );
  let sbom: string | undefined;
  try {
    sbom = readFileSync(sbomPath(ctx.root, app, release.number), "utf8");
  } catch {
    sbom = undefined;
  }
  const image = release.image ? await inspectImage(ctx.docker, release.image) : undefined;
  return {
    app,
    release: release.number,
    ...(release.image ? { image: release.image } : {}),
    ...(image ? { imageDigest: image.digest } : {}),
    envelope: envelope as unknown as Envelope,
    ...(sbom !== undefined ? { sbom } : {}),
  };
}

/** The checks of `hop sbom:verify`, on materials fetched from the server, with the key the caller trusts. */
export function verifyMaterials(m: ProvenanceMaterials, publicKey: KeyObject): VerifyReport {
  const report = verifyProvenance(m.envelope, publicKey, {
    app: m.app,
    release: m.release,
    ...(m.sbom !== undefined ? { sbomSha256: sha256Hex(Buffer.from(m.sbom, "utf8")) } : {}),
    ...(m.imageDigest !== undefined ? { imageDigest: m.imageDigest } : {}),
  });
  if (!report.ok) return report;
  if (m.sbom === undefined)
    return { ...report, ok: false, reason: `the SBOM file of ${m.app} v${m.release} is missing` };
  if (m.imageDigest === undefined)
    return {
      ...report,
      ok: false,
      reason: `the image ${m.image ?? "(none)"} of ${m.app} v${m.release} is no longer on this server: its digest cannot be checked`,
    };
  return report;
}
