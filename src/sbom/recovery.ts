/**
 * SBOM jobs a stopped server did not finish. The queue (release-sbom.ts) is in memory, so each job is also a
 * marker file (`v<N>.pending.json`, written before the deploy answers, removed when the job ends either way).
 * At start the server looks at every marker: the decision is `planSbomRecovery` (pure, unit-tested), the rest
 * is reading facts and applying it. Nothing is left "being generated" forever: a job is queued again, or
 * recorded as failed with the reason `hop sbom` and `hop releases` show.
 */
import type Docker from "dockerode";
import type { Store } from "../store/store.js";
import { recordReleaseSbom, type SbomContext } from "./release-sbom.js";
import { hasReleaseDoc, listSbomJobs, readSbomJob, removeSbomJob, writeSbomFailure } from "./store.js";

/** A job started this many times without finishing is not started again: its image stops the server. */
export const MAX_SBOM_ATTEMPTS = 3;

/** What is known of one marked job at start. */
export interface SbomJobFacts {
  app: string;
  release: number;
  /** How many times a job started on it (0: it was queued, never started). */
  attempts: number;
  /** The release's row; undefined when the release (or its app) no longer exists. */
  row?: { status: string; image?: string };
  hasSbom: boolean;
  hasProvenance: boolean;
  /** Whether Podman still has the release's image (asked only when the job would be queued again). */
  imagePresent?: boolean;
}

export type SbomRecovery =
  | { app: string; release: number; action: "requeue" }
  | { app: string; release: number; action: "fail"; reason: string }
  /** The marker is stale (the release is gone, or its documents are all written): only the marker goes. */
  | { app: string; release: number; action: "forget"; why: string };

export function planSbomRecovery(jobs: SbomJobFacts[], maxAttempts = MAX_SBOM_ATTEMPTS): SbomRecovery[] {
  return jobs.map((j): SbomRecovery => {
    const id = { app: j.app, release: j.release };
    if (!j.row) return { ...id, action: "forget", why: "the release no longer exists" };
    // both written: the job was killed after its last write, before it removed its marker
    if (j.hasSbom && j.hasProvenance)
      return { ...id, action: "forget", why: "its SBOM and provenance are written" };
    if (!j.row.image) return { ...id, action: "fail", reason: `the release has no image (${j.row.status})` };
    if (j.imagePresent === false)
      return {
        ...id,
        action: "fail",
        reason: `its image ${j.row.image} is gone (removed before the SBOM could be read)`,
      };
    if (j.attempts >= maxAttempts)
      return {
        ...id,
        action: "fail",
        reason: `generation was interrupted ${j.attempts} times (the server stopped while reading the image)`,
      };
    // an SBOM without provenance: the job runs again, keeps the SBOM and signs the statement
    return { ...id, action: "requeue" };
  });
}

/** Whether Podman has the image: false only when it says it has not (404); any other error leaves it to the job. */
async function imagePresent(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch (err) {
    return (err as { statusCode?: number }).statusCode !== 404;
  }
}

export async function sbomJobFacts(
  ctx: { store: Store; docker: Docker; root: string },
  app: string,
  release: number,
): Promise<SbomJobFacts> {
  const row = ctx.store.getApp(app) ? ctx.store.getRelease(app, release) : undefined;
  const facts: SbomJobFacts = {
    app,
    release,
    attempts: readSbomJob(ctx.root, app, release)?.attempts ?? 0,
    hasSbom: hasReleaseDoc(ctx.root, app, release, "cdx"),
    hasProvenance: hasReleaseDoc(ctx.root, app, release, "intoto"),
    ...(row ? { row: { status: row.status, ...(row.image ? { image: row.image } : {}) } } : {}),
  };
  if (row?.image && !(facts.hasSbom && facts.hasProvenance))
    facts.imagePresent = await imagePresent(ctx.docker, row.imageId ?? row.image);
  return facts;
}

/** At server start: every marked job queued again, failed with its reason, or its stale marker removed. */
export async function recoverSbomJobs(ctx: SbomContext): Promise<string[]> {
  const facts: SbomJobFacts[] = [];
  for (const { app, release } of listSbomJobs(ctx.root)) facts.push(await sbomJobFacts(ctx, app, release));
  const notes: string[] = [];
  for (const step of planSbomRecovery(facts)) {
    const what = `${step.app} v${step.release}`;
    if (step.action === "requeue") {
      recordReleaseSbom(ctx, step.app, step.release);
      notes.push(`${what}: SBOM job queued again (the server stopped before it finished)`);
    } else if (step.action === "fail") {
      await writeSbomFailure(ctx.root, step.app, step.release, step.reason);
      removeSbomJob(ctx.root, step.app, step.release);
      const row = ctx.store.getRelease(step.app, step.release);
      if (row) ctx.store.appendDeployLog(row.id, `warning: no SBOM for this release: ${step.reason}`);
      notes.push(`${what}: no SBOM: ${step.reason}`);
    } else {
      removeSbomJob(ctx.root, step.app, step.release);
      notes.push(`${what}: stale SBOM job marker removed (${step.why})`);
    }
  }
  return notes;
}
