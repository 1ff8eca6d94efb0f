/**
 * Finding a release's stored SBOM for `hop sbom` and `sbom:diff`, with an error that says why there is none:
 * no such release, still being generated, generation failed (and why), the release never ran or was made
 * before SBOMs existed, or its image was pruned (the SBOM goes with it).
 */
import type { ReleaseRow, Store } from "../store/store.js";
import { Hop3Error } from "../util/errors.js";
import { isSbomPending } from "./release-sbom.js";
import { readReleaseSbom, readSbomFailure, sbomComponentCount } from "./store.js";

export async function loadReleaseSbom(
  store: Store,
  root: string,
  app: string,
  release?: number,
): Promise<{ release: ReleaseRow; doc: Record<string, unknown> }> {
  const row = release === undefined ? store.currentRelease(app) : store.getRelease(app, release);
  if (!row) {
    throw new Hop3Error(
      release === undefined ? `${app} has no release yet` : `${app} has no release v${release}`,
      "notFound",
      "see `hop releases`",
    );
  }
  const doc = await readReleaseSbom(root, app, row.number);
  if (doc) return { release: row, doc };
  const what = `${app} v${row.number} has no SBOM`;
  if (isSbomPending(app, row.number))
    throw new Hop3Error(`${what} yet: it is being generated`, "conflict", "try again in a moment");
  const failure = readSbomFailure(root, app, row.number);
  if (failure)
    throw new Hop3Error(
      `${what}: its generation failed: ${failure.reason}`,
      "notFound",
      "deploy again to retry",
    );
  if (row.status === "failed" || row.status === "pending" || !row.image)
    throw new Hop3Error(`${what}: the release never ran (${row.status})`, "notFound");
  throw new Hop3Error(
    `${what}: it was made before SBOMs existed, its image was pruned, or the server stopped while generating it`,
    "notFound",
    "a new deploy (or `hop config:set`) records one",
  );
}

/** Where a release's SBOM stands, for `hop releases`: written (with its component count), being generated, failed (why), or none. */
export type SbomState =
  | { state: "ready"; components: number }
  | { state: "pending" }
  | { state: "failed"; reason: string }
  | { state: "none" };

export function sbomState(root: string, app: string, release: number): SbomState {
  const components = sbomComponentCount(root, app, release);
  if (components !== undefined) return { state: "ready", components };
  if (isSbomPending(app, release)) return { state: "pending" };
  const failure = readSbomFailure(root, app, release);
  return failure ? { state: "failed", reason: failure.reason } : { state: "none" };
}
