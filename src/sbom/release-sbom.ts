/**
 * A release's SBOM, made after its deploy switched traffic to it: generation reads the whole image (tens of
 * seconds for a large one on a busy host), so it runs in the background, one at a time for the whole server,
 * and never fails or delays a deploy. Its outcome goes to the release's deploy log ("SBOM: N components")
 * and, when it failed, to a note beside where the SBOM would be, so `hop sbom` can say why there is none.
 * A release that reuses an image (config:set, rollback, restart of an old release) gets a copy of the SBOM
 * of the release that has the same image.
 */
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";
import { podmanSocketPath } from "../runtime/podman-remote.js";
import type { ReleaseRow, Store } from "../store/store.js";
import type { ReleaseFacts } from "./cyclonedx.js";
import { incompleteNotes } from "./document.js";
import { recordReleaseProvenance } from "./provenance-service.js";
import { COPIED_FROM, RESTORED_FROM, relabelSbom } from "./relabel.js";
import {
  readReleaseSbom,
  readSbomJob,
  releasesWithSbom,
  removeSbomJob,
  writeReleaseSbom,
  writeSbomFailure,
  writeSbomJob,
} from "./store.js";

export interface SbomContext {
  store: Store;
  docker: Docker;
  /** Hop3's data directory (HOP3_ROOT). */
  root: string;
  /** Hop3's version (package.json). */
  version: string;
  log: (msg: string) => void;
}

interface Labels {
  [k: string]: string;
}

function parseLabel<T>(labels: Labels, name: string): T | undefined {
  try {
    return labels[name] ? (JSON.parse(labels[name]) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** What the image's labels say about how it was built: buildpacks and the image it was built on. */
async function buildFacts(
  docker: Docker,
  labels: Labels,
): Promise<Pick<ReleaseFacts, "baseImage" | "buildpacks">> {
  const build = parseLabel<{ buildpacks?: { id?: unknown; version?: unknown; homepage?: unknown }[] }>(
    labels,
    "io.buildpacks.build.metadata",
  );
  const buildpacks = (Array.isArray(build?.buildpacks) ? build.buildpacks : [])
    .filter((b) => typeof b?.id === "string" && typeof b.version === "string")
    .map((b) => ({ id: b.id as string, version: b.version as string }));
  const runImage = parseLabel<{ runImage?: { reference?: unknown } }>(
    labels,
    "io.buildpacks.lifecycle.metadata",
  )?.runImage?.reference;
  let baseImage: ReleaseFacts["baseImage"];
  if (typeof runImage === "string") {
    const digest = await docker
      .getImage(runImage)
      .inspect()
      .then((i) => i.Id)
      .catch(() => undefined);
    baseImage = {
      name: runImage,
      ...(digest ? { digest: digest.startsWith("sha256:") ? digest : `sha256:${digest}` } : {}),
    };
  } else if (labels["org.opencontainers.image.base.name"]) {
    const digest = labels["org.opencontainers.image.base.digest"];
    baseImage = { name: labels["org.opencontainers.image.base.name"], ...(digest ? { digest } : {}) };
  }
  return { ...(baseImage ? { baseImage } : {}), ...(buildpacks.length ? { buildpacks } : {}) };
}

/** Reads the release's image and answers its CycloneDX document. */
export async function generateReleaseSbom(
  ctx: Pick<SbomContext, "docker" | "version">,
  release: ReleaseRow,
): Promise<Record<string, unknown>> {
  if (!release.image) throw new Error("the release has no image");
  const image = ctx.docker.getImage(release.imageId ?? release.image);
  const info = await image.inspect();
  const labels = (info.Config?.Labels as Labels | null) ?? {};
  // loaded at the first SBOM, not at start: the CycloneDX library, the image reader (tar-stream) and the
  // package parsers (packageurl-js) are ~9 MiB of private memory an idle server does not need
  const [{ buildCycloneDx }, { readImageFiles }, { inventory }] = await Promise.all([
    import("./cyclonedx.js"),
    import("./image-files.js"),
    import("./inventory.js"),
  ]);
  const files = await readImageFiles((await image.get()) as unknown as Readable);
  const facts: ReleaseFacts = {
    app: release.app,
    release: release.number,
    image: release.image,
    imageId: info.Id.startsWith("sha256:") ? info.Id : `sha256:${info.Id}`,
    sourceKind: release.sourceKind,
    ...(release.sourceRef ? { sourceRef: release.sourceRef } : {}),
    ...(release.revision ? { revision: release.revision } : {}),
    ...(await buildFacts(ctx.docker, labels)),
    hop3Version: ctx.version,
    timestamp: new Date(),
  };
  return buildCycloneDx(facts, inventory(files));
}

/** Largest answer read from the worker (a document of tens of thousands of components is a few MiB). */
const MAX_WORKER_OUTPUT = 256 * 1024 * 1024;

/**
 * generateReleaseSbom in a child process (sbom-worker.ts) when the Podman client talks to a socket the child can
 * open too; in this process otherwise (unit tests' Podman doubles). The server keeps none of the memory that
 * making the document took.
 */
async function generateInWorker(
  ctx: Pick<SbomContext, "docker" | "version">,
  release: ReleaseRow,
): Promise<Record<string, unknown>> {
  const socketPath = podmanSocketPath(ctx.docker);
  if (socketPath === undefined) return generateReleaseSbom(ctx, release);
  const { spawn } = await import("node:child_process");
  const worker = fileURLToPath(new URL("./sbom-worker.js", import.meta.url));
  // the server's own V8 flags (the installed wrapper's --max-semi-space-size), decided in one place
  const child = spawn(process.execPath, [...process.execArgv, worker], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  let size = 0;
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    size += d.length;
    if (size > MAX_WORKER_OUTPUT) child.kill("SIGKILL");
    else out.push(d);
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code));
  });
  child.stdin.end(JSON.stringify({ socketPath, version: ctx.version, release }));
  const code = await exited;
  let answer: { ok: boolean; doc?: Record<string, unknown>; error?: string } | undefined;
  try {
    answer = JSON.parse(Buffer.concat(out).toString("utf8"));
  } catch {
    answer = undefined;
  }
  if (answer?.ok && answer.doc) return answer.doc;
  throw new Error(
    answer?.error ??
      `the SBOM worker ended without a document (exit ${code}${size > MAX_WORKER_OUTPUT ? ", output too large" : ""})${stderr.trim() ? `: ${stderr.trim().split("\n").pop()}` : ""}`,
  );
}

/** The SBOM of an earlier release of the same image, re-labelled for `release`. */
async function copiedSbom(
  ctx: SbomContext,
  release: ReleaseRow,
): Promise<Record<string, unknown> | undefined> {
  const same = ctx.store
    .listReleases(release.app)
    .filter((r) => r.number !== release.number && r.imageId && r.imageId === release.imageId)
    .map((r) => r.number);
  const from = releasesWithSbom(ctx.root, release.app)
    .filter((n) => same.includes(n))
    .pop();
  if (from === undefined) return undefined;
  const doc = await readReleaseSbom(ctx.root, release.app, from).catch(() => undefined);
  if (!doc) return undefined;
  return relabelSbom(doc, {
    app: release.app,
    release: release.number,
    sourceKind: release.sourceKind,
    origin: [COPIED_FROM, `v${from}`],
  });
}

function originOf(doc: Record<string, unknown>, name: string): string | undefined {
  const props = (doc.metadata as { properties?: unknown } | undefined)?.properties;
  const p = Array.isArray(props)
    ? (props as { name?: unknown; value?: unknown }[]).find((x) => x?.name === name)
    : undefined;
  return typeof p?.value === "string" ? p.value : undefined;
}

export function componentCount(doc: Record<string, unknown>): number {
  return Array.isArray(doc.components) ? doc.components.length : 0;
}

/** One SBOM at a time for the whole server: a burst of deploys must not read many images at once. */
let queue: Promise<void> = Promise.resolve();
const pending = new Set<string>();

export const isSbomPending = (app: string, release: number): boolean => pending.has(`${app}/${release}`);

/** Resolves when every SBOM queued so far is written (tests, shutdown). */
export const sbomQueueIdle = (): Promise<void> => queue;

/**
 * The post-switch hook: queues the SBOM of `release` (copied or generated, then stored), and whatever else
 * a release records beside it. Never throws; never awaited by the deploy. The job is marked on disk first
 * (v<N>.pending.json, synchronously: the deploy answers after this returns), so a server stopped before it
 * ends queues it again at start (recovery.ts); the marker goes when the job ends, whatever the outcome.
 */
export function recordReleaseSbom(ctx: SbomContext, app: string, releaseNumber: number): void {
  const key = `${app}/${releaseNumber}`;
  if (pending.has(key)) return;
  pending.add(key);
  try {
    // a job queued again at start keeps its count of attempts
    const marked = readSbomJob(ctx.root, app, releaseNumber);
    writeSbomJob(ctx.root, app, releaseNumber, marked ?? { queuedAt: new Date().toISOString(), attempts: 0 });
  } catch (err) {
    // a full disk must not fail the deploy: the job still runs, it is only not safe from a restart
    ctx.log(`${app} v${releaseNumber}: cannot mark the SBOM job: ${(err as Error).message}`);
  }
  // The queue is one promise chain: a job that rejected would skip every job queued after it (`then` runs
  // nothing on a rejected promise), and no SBOM would be written again until a restart.
  queue = queue
    .then(() => runSbomJob(ctx, app, releaseNumber, key))
    .catch((err: unknown) => ctx.log(`${app} v${releaseNumber}: SBOM job: ${(err as Error).message}`));
}

/** One queued job: the SBOM (kept, copied or generated), then its provenance; the marker goes whatever happens. */
async function runSbomJob(ctx: SbomContext, app: string, releaseNumber: number, key: string): Promise<void> {
  const release = ctx.store.getRelease(app, releaseNumber);
  const note = (line: string) => {
    // the app may be destroyed meanwhile: its release row (and deploy log) is then gone, and the line
    // only reaches the server log; a throw here would leave the job's promise rejected
    try {
      if (release) ctx.store.appendDeployLog(release.id, line);
    } catch {}
    ctx.log(`${app} v${releaseNumber}: ${line}`);
  };
  try {
    if (!release?.image) return;
    // counted before the image is read: a job that takes the server down every time stops being retried
    const marked = readSbomJob(ctx.root, app, releaseNumber);
    if (marked && ctx.store.getRelease(app, releaseNumber))
      writeSbomJob(ctx.root, app, releaseNumber, { ...marked, attempts: marked.attempts + 1 });
    const started = Date.now();
    // a restore writes the backed-up SBOM before the switch: that one describes the image and is kept
    const kept = await readReleaseSbom(ctx.root, app, releaseNumber).catch(() => undefined);
    const doc = kept ?? (await copiedSbom(ctx, release)) ?? (await generateInWorker(ctx, release));
    // the app may have been destroyed while its image was read
    if (!ctx.store.getRelease(app, releaseNumber)) return;
    if (!kept) await writeReleaseSbom(ctx.root, app, releaseNumber, doc);
    const missing = incompleteNotes(doc);
    const restored = originOf(doc, RESTORED_FROM);
    note(
      `SBOM: ${componentCount(doc)} components (${
        restored ? `restored from ${restored}` : `${((Date.now() - started) / 1000).toFixed(1)} s`
      })${missing.length ? `; warning: incomplete: ${missing.join("; ")}` : ""}`,
    );
    // provenance (v<N>.intoto.json), after the SBOM it names; its failure is its own, not the SBOM's
    try {
      const prov = await recordReleaseProvenance(ctx, app, releaseNumber);
      if (prov.skipped) note(`warning: no provenance for this release: ${prov.skipped}`);
    } catch (err) {
      note(`warning: no provenance for this release: ${(err as Error).message || String(err)}`);
    }
  } catch (err) {
    const reason = (err as Error).message || String(err);
    note(`warning: no SBOM for this release: ${reason}`);
    if (ctx.store.getRelease(app, releaseNumber))
      await writeSbomFailure(ctx.root, app, releaseNumber, reason).catch(() => {});
  } finally {
    try {
      removeSbomJob(ctx.root, app, releaseNumber);
    } catch {
      // an invalid name cannot reach here (the release exists); nothing else to clean
    }
    pending.delete(key);
  }
}

/** The platform's `sbom` hook (src/deploy/platform.ts). */
export function sbomRecorder(ctx: SbomContext): { record(app: string, release: number): void } {
  return { record: (app, release) => recordReleaseSbom(ctx, app, release) };
}
