/**
 * The CNB stack: a build image (buildpacks run in it) and a run image (exported apps run on it), built
 * locally from images/cnb/{build,run}/Containerfile FROM Hop3's base image, so no registry is needed.
 */
import { join } from "node:path";
import type Docker from "dockerode";
import tar from "tar-fs";
import { contextDigest } from "../../router/container-ops.js";
import { Hop3Error } from "../../util/errors.js";
import { followProgress } from "../progress.js";

export const DEFAULT_STACK = "bookworm";

export interface StackImages {
  stack: string;
  stackId: string;
  build: string;
  run: string;
}

/**
 * The stack's image names. Given the images/ directory, each tag carries the digest of its Containerfile's
 * directory (`bookworm-1a2b3c4d5e6f`): a Hop3 whose stack gained packages (PHP, Ruby...) builds the new images
 * once instead of reusing older ones that lack them; apps built on the old run image keep their own layers.
 */
export function stackImages(stack = DEFAULT_STACK, imagesDir?: string): StackImages {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(stack)) throw new Hop3Error(`invalid stack name ${stack}`, "usage");
  const tag = (kind: "build" | "run") =>
    imagesDir ? `${stack}-${contextDigest(join(imagesDir, "cnb", kind))}` : stack;
  return {
    stack,
    stackId: `io.hop3.stacks.${stack}`,
    build: `localhost/hop3/cnb-build:${tag("build")}`,
    run: `localhost/hop3/cnb-run:${tag("run")}`,
  };
}

export interface EnsureStackOptions {
  /** The repository's images/ directory (holds cnb/build and cnb/run). */
  imagesDir: string;
  /** What the stack images are built FROM, e.g. localhost/hop3/base:bookworm. */
  baseImage: string;
  stack?: string;
  /** Overrides of the image tags (tests). */
  images?: Partial<Pick<StackImages, "build" | "run">>;
  log?: (line: string) => void;
}

export async function imageExists(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/**
 * Stack images being built by this process, by tag: a second deploy that needs one while it is being built
 * waits for that build instead of starting the same build again.
 */
const building = new Map<string, Promise<void>>();

/**
 * Builds whichever stack image is missing; answers the images to use. The build and run images are built at
 * the same time: each is mostly dpkg's maintainer scripts, one process at a time, so on a 2-core host the two
 * together take little more than the longer one (a first buildpack deploy used to wait for their sum).
 */
export async function ensureStackImages(docker: Docker, opts: EnsureStackOptions): Promise<StackImages> {
  const images = { ...stackImages(opts.stack, opts.imagesDir), ...opts.images };
  const missing: ("build" | "run")[] = [];
  for (const kind of ["build", "run"] as const) {
    if (!building.has(images[kind]) && !(await imageExists(docker, images[kind]))) missing.push(kind);
  }
  if (missing.length > 0 && !(await imageExists(docker, opts.baseImage))) {
    throw new Hop3Error(
      `the buildpacks ${missing.join(" and ")} image${missing.length > 1 ? "s are" : " is"} missing and so is their base image ${opts.baseImage}`,
      "deployFailed",
      "run the installer (it creates the base image) and deploy again",
    );
  }
  for (const kind of missing) {
    const tag = images[kind];
    if (building.has(tag)) continue; // claimed by a deploy that checked in the meantime
    const job = buildStackImage(docker, opts, kind, tag, images.stackId).finally(() => building.delete(tag));
    building.set(tag, job);
  }
  // every build settles before an error is reported: none is left running behind a failed deploy
  const results = await Promise.allSettled(
    (["build", "run"] as const).map((kind) => building.get(images[kind]) ?? Promise.resolve()),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return images;
}

async function buildStackImage(
  docker: Docker,
  opts: EnsureStackOptions,
  kind: "build" | "run",
  tag: string,
  stackId: string,
): Promise<void> {
  const log = opts.log ?? (() => {});
  log(`Building the ${kind} image ${tag} (once per server; this takes a few minutes)`);
  const started = Date.now();
  const context = tar.pack(join(opts.imagesDir, "cnb", kind)) as unknown as NodeJS.ReadableStream;
  const stream = await docker.buildImage(context, {
    t: tag,
    dockerfile: "Containerfile",
    buildargs: { BASE_IMAGE: opts.baseImage, STACK_ID: stackId },
    rm: true,
    forcerm: true,
  } as Record<string, unknown>);
  await followProgress(docker, stream, () => {}, `build of the stack image ${tag}`);
  log(`Built ${tag} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}
