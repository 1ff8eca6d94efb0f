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

/** Builds whichever stack image is missing; answers the images to use. */
export async function ensureStackImages(docker: Docker, opts: EnsureStackOptions): Promise<StackImages> {
  const images = { ...stackImages(opts.stack, opts.imagesDir), ...opts.images };
  const log = opts.log ?? (() => {});
  for (const kind of ["build", "run"] as const) {
    const tag = images[kind];
    if (await imageExists(docker, tag)) continue;
    if (!(await imageExists(docker, opts.baseImage))) {
      throw new Hop3Error(
        `the buildpacks ${kind} image ${tag} is missing and so is its base image ${opts.baseImage}`,
        "deployFailed",
        "run the installer (it creates the base image) and deploy again",
      );
    }
    log(`Building the ${kind} image ${tag} (once per server; this takes a few minutes)`);
    const started = Date.now();
    const context = tar.pack(join(opts.imagesDir, "cnb", kind)) as unknown as NodeJS.ReadableStream;
    const stream = await docker.buildImage(context, {
      t: tag,
      dockerfile: "Containerfile",
      buildargs: { BASE_IMAGE: opts.baseImage, STACK_ID: images.stackId },
      rm: true,
      forcerm: true,
    } as Record<string, unknown>);
    await followProgress(docker, stream, () => {}, `build of the stack image ${tag}`);
    log(`Built ${tag} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
  return images;
}
