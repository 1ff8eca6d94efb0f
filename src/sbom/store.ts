/**
 * Where a release's supply-chain documents live: `<dataDir>/sbom/<app>/v<N>.cdx.json` (the CycloneDX SBOM),
 * `v<N>.failed.json` (why generation failed, so `hop sbom` can say so), `v<N>.pending.json` (a job queued or
 * running: what a restarted server queues again, src/sbom/recovery.ts), and, beside them, other per-release
 * documents named `v<N>.<kind>.json` (provenance: `v<N>.intoto.json`). Removing a release removes every
 * `v<N>.*` file, so whatever is stored beside the SBOM goes with its release.
 *
 * Files, not store rows: an SBOM is a few hundred KB of JSON that only `hop sbom` reads; the database stays
 * small and a backup copies the files as they are.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { validateAppName } from "../app/name.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import { Hop3Error } from "../util/errors.js";

/** Larger than any SBOM of a real image (thousands of components are a few MB): refuse to parse beyond. */
const MAX_SBOM_BYTES = 64 * 1024 * 1024;

export function sbomDir(dataDir: string, app: string): string {
  return join(dataDir, "sbom", validateAppName(app));
}

function releaseFile(dataDir: string, app: string, release: number, suffix: string): string {
  if (!Number.isInteger(release) || release < 1)
    throw new Hop3Error(`invalid release number ${release}`, "usage");
  return join(sbomDir(dataDir, app), `v${release}.${suffix}`);
}

/** The CycloneDX SBOM of a release. */
export function sbomPath(dataDir: string, app: string, release: number): string {
  return releaseFile(dataDir, app, release, "cdx.json");
}

/** A document stored beside the SBOM: `kind` "intoto" gives v<N>.intoto.json. */
export function releaseDocPath(dataDir: string, app: string, release: number, kind: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new Hop3Error(`invalid document kind ${kind}`, "usage");
  return releaseFile(dataDir, app, release, `${kind}.json`);
}

function readJsonFile(path: string, what: string): Record<string, unknown> | undefined {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return undefined;
  }
  if (size > MAX_SBOM_BYTES)
    throw new Hop3Error(`${what} (${path}) is larger than ${MAX_SBOM_BYTES} bytes`, "error");
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Hop3Error(
      `${what} (${path}) is corrupted: ${(err as Error).message}`,
      "error",
      "generate it again by deploying, or restore it from a backup",
    );
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    throw new Hop3Error(`${what} (${path}) is corrupted: not a JSON object`, "error");
  }
  return doc as Record<string, unknown>;
}

/** The stored SBOM; undefined when there is none. A file that is not a JSON object: an error saying so. */
export async function readReleaseSbom(
  dataDir: string,
  app: string,
  release: number,
): Promise<Record<string, unknown> | undefined> {
  return readJsonFile(sbomPath(dataDir, app, release), `the SBOM of ${app} v${release}`);
}

/** Written atomically (a reader sees the old file or the new one); removes an earlier failure note. */
export async function writeReleaseSbom(
  dataDir: string,
  app: string,
  release: number,
  doc: Record<string, unknown>,
): Promise<string> {
  return writeReleaseDoc(dataDir, app, release, "cdx", doc, () => {
    rmSync(releaseDocPath(dataDir, app, release, "failed"), { force: true });
  });
}

/** Any per-release document beside the SBOM (`kind` "intoto": provenance). */
export async function writeReleaseDoc(
  dataDir: string,
  app: string,
  release: number,
  kind: string,
  doc: Record<string, unknown>,
  after?: () => void,
): Promise<string> {
  const path = releaseDocPath(dataDir, app, release, kind);
  mkdirSync(sbomDir(dataDir, app), { recursive: true, mode: 0o750 });
  writeFileAtomic(path, `${JSON.stringify(doc, null, 2)}\n`, 0o640);
  after?.();
  return path;
}

export async function readReleaseDoc(
  dataDir: string,
  app: string,
  release: number,
  kind: string,
): Promise<Record<string, unknown> | undefined> {
  return readJsonFile(
    releaseDocPath(dataDir, app, release, kind),
    `the ${kind} document of ${app} v${release}`,
  );
}

export interface SbomFailure {
  reason: string;
  at: string;
}

/** Records why a release has no SBOM (`hop sbom` says it). */
export async function writeSbomFailure(
  dataDir: string,
  app: string,
  release: number,
  reason: string,
): Promise<void> {
  await writeReleaseDoc(dataDir, app, release, "failed", { reason, at: new Date().toISOString() });
}

export function readSbomFailure(dataDir: string, app: string, release: number): SbomFailure | undefined {
  try {
    const doc = readJsonFile(releaseDocPath(dataDir, app, release, "failed"), "failure note");
    return doc && typeof doc.reason === "string"
      ? { reason: doc.reason, at: String(doc.at ?? "") }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A queued or running SBOM job, on disk so that a server killed before it finished queues it again at start.
 * `attempts`: how many times a job started on it (a release whose image crashes the reader every time is
 * not retried forever).
 */
export interface SbomJobMarker {
  queuedAt: string;
  attempts: number;
}

export function readSbomJob(dataDir: string, app: string, release: number): SbomJobMarker | undefined {
  try {
    const doc = readJsonFile(releaseDocPath(dataDir, app, release, "pending"), "SBOM job");
    if (!doc) return undefined;
    const attempts =
      Number.isInteger(doc.attempts) && (doc.attempts as number) >= 0 ? (doc.attempts as number) : 0;
    return { queuedAt: String(doc.queuedAt ?? ""), attempts };
  } catch {
    // a marker cut short by a crash is still a job that did not finish
    return { queuedAt: "", attempts: 0 };
  }
}

/** Written synchronously (and fsync'd) before the deploy answers: a kill right after cannot lose the job. */
export function writeSbomJob(dataDir: string, app: string, release: number, marker: SbomJobMarker): void {
  mkdirSync(sbomDir(dataDir, app), { recursive: true, mode: 0o750 });
  writeFileAtomic(
    releaseDocPath(dataDir, app, release, "pending"),
    `${JSON.stringify(marker)}
`,
    0o640,
  );
}

export function removeSbomJob(dataDir: string, app: string, release: number): void {
  rmSync(releaseDocPath(dataDir, app, release, "pending"), { force: true });
}

/** Every marked job on this server: [app, release] pairs (apps whose directory name is no app name skipped). */
export function listSbomJobs(dataDir: string): { app: string; release: number }[] {
  const jobs: { app: string; release: number }[] = [];
  for (const app of listDir(join(dataDir, "sbom"))) {
    let dir: string;
    try {
      dir = sbomDir(dataDir, app);
    } catch {
      continue;
    }
    for (const name of listDir(dir)) {
      const m = /^v(\d+)\.pending\.json$/.exec(name);
      if (m && Number(m[1]) >= 1) jobs.push({ app, release: Number(m[1]) });
    }
  }
  return jobs.sort((a, b) => a.app.localeCompare(b.app) || a.release - b.release);
}

/** Whether the release's provenance statement is written (a job killed between the two is run again). */
export function hasReleaseDoc(dataDir: string, app: string, release: number, kind: string): boolean {
  try {
    return statSync(releaseDocPath(dataDir, app, release, kind)).isFile();
  } catch {
    return false;
  }
}

/** Every document of the release (v<N>.*), the SBOM and whatever is stored beside it. */
export async function removeReleaseSbom(dataDir: string, app: string, release: number): Promise<void> {
  const dir = sbomDir(dataDir, app);
  const prefix = `v${release}.`;
  for (const name of listDir(dir)) if (name.startsWith(prefix)) rmSync(join(dir, name), { force: true });
}

/** All of an app's documents (hop destroy). */
export async function removeAppSboms(dataDir: string, app: string): Promise<void> {
  rmSync(sbomDir(dataDir, app), { recursive: true, force: true });
}

/** Release numbers that have an SBOM file. */
export function releasesWithSbom(dataDir: string, app: string): number[] {
  return listDir(sbomDir(dataDir, app))
    .map((n) => /^v(\d+)\.cdx\.json$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Component counts by file, kept while the file is unchanged: `hop releases` lists them for every release. */
const counts = new Map<string, { mtimeMs: number; size: number; count: number }>();

/** How many components the release's SBOM lists; undefined when it has none (or it cannot be read). */
export function sbomComponentCount(dataDir: string, app: string, release: number): number | undefined {
  const path = sbomPath(dataDir, app, release);
  let st: { mtimeMs: number; size: number };
  try {
    st = statSync(path);
  } catch {
    counts.delete(path);
    return undefined;
  }
  const cached = counts.get(path);
  if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.count;
  try {
    const doc = readJsonFile(path, "SBOM");
    const count = Array.isArray(doc?.components) ? doc.components.length : 0;
    counts.set(path, { ...st, count });
    return count;
  } catch {
    return undefined;
  }
}
