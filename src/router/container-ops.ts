/**
 * The few Podman and file operations a router needs beyond the container plumbing it shares with apps
 * (runtime/containers.ts): images built or pulled for it, and its configuration files.
 */
import { createHash } from "node:crypto";
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import { statusOf } from "../runtime/containers.js";
import { Hop3Error } from "../util/errors.js";
import { tarFs } from "../util/tar-modules.js";

export const ROUTER_LABELS = { "io.hop3.role": "router", "io.hop3.managed": "true" } as const;

export async function imageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return normalizeId((await docker.getImage(ref).inspect()).Id);
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

export function normalizeId(id: string): string {
  return id.replace(/^sha256:/, "");
}

export async function inspectContainer(
  docker: Docker,
  name: string,
): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/** Follows a build or pull stream to its end; Podman reports failures inside an HTTP 200 stream. */
export function followStream(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  log?: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        if (err) reject(err);
        else if (failure) reject(new Error(failure));
        else resolve();
      },
      (event: { stream?: string; status?: string; error?: string; errorDetail?: { message?: string } }) => {
        if (event.error || event.errorDetail) failure = event.errorDetail?.message ?? event.error;
        const text = (event.stream ?? event.status ?? "").trimEnd();
        if (text && log) for (const line of text.split("\n")) log(line);
      },
    );
  });
}

/**
 * A short digest of an image's build context (the files of one images/ directory): tags made from it change
 * exactly when the directory does, so a new Hop3 builds a new image once and reuses it afterwards.
 */
export function contextDigest(dir: string): string {
  const hash = createHash("sha256");
  for (const name of readdirSync(dir).sort()) hash.update(`${name}\0`).update(readFileSync(join(dir, name)));
  return hash.digest("hex").slice(0, 12);
}

export async function buildImage(
  docker: Docker,
  opts: { contextDir: string; tag: string; buildArgs: Record<string, string>; log?: (line: string) => void },
): Promise<void> {
  const stream = await docker.buildImage(tarFs().pack(opts.contextDir) as unknown as NodeJS.ReadableStream, {
    t: opts.tag,
    dockerfile: "Containerfile",
    buildargs: opts.buildArgs,
  });
  try {
    await followStream(docker, stream, opts.log);
  } catch (err) {
    throw new Hop3Error(`building ${opts.tag} failed: ${(err as Error).message}`, "error");
  }
}

/**
 * The id of a platform image (router, gateway) built from `images/<dir>` on the base image: the existing one,
 * else built now. `what` names it in logs and errors.
 */
export async function ensurePlatformImage(
  docker: Docker,
  opts: { what: string; tag: string; contextDir: string; baseImage: string; log: (line: string) => void },
): Promise<string> {
  const existing = await imageId(docker, opts.tag);
  if (existing) return existing;
  if (!(await imageId(docker, opts.baseImage))) {
    throw new Hop3Error(
      `the ${opts.what} image ${opts.tag} is missing and so is its base image ${opts.baseImage}`,
      "error",
      "run the installer (it creates the base image) and try again",
    );
  }
  opts.log(`${opts.what}: building ${opts.tag} from ${opts.baseImage}`);
  await buildImage(docker, {
    contextDir: opts.contextDir,
    tag: opts.tag,
    buildArgs: { BASE_IMAGE: opts.baseImage },
    log: (line) => opts.log(`${opts.what} build: ${line}`),
  });
  const built = await imageId(docker, opts.tag);
  if (!built) throw new Hop3Error(`building ${opts.tag} reported success but the image is missing`);
  return built;
}

/**
 * Creates `parent/name` owned like `parent`: when Hop3 runs as root (installer, tests), the router container
 * runs under the hop3 user's rootless Podman and must own what it writes to.
 */
export function ensureSubdir(parent: string, name: string, mode = 0o755): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true, mode });
  if (process.getuid?.() === 0) {
    const { uid, gid } = statSync(parent);
    chownSync(dir, uid, gid);
  }
  return dir;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
