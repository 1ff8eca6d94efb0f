/**
 * Addon images: the official image of the addon's major version where a registry answers, else built once
 * from the distribution's packages (images/addons/TYPE, FROM Hop3's base image) with the router's image
 * plumbing, and cached under a tag that names the major version and the build context's digest.
 */
import { join } from "node:path";
import type Docker from "dockerode";
import { buildImage, contextDigest, followStream, imageId } from "../router/container-ops.js";
import { Hop3Error } from "../util/errors.js";
import type { AddonPlugin } from "./plugin.js";

export interface AddonImageOptions {
  imagesDir: string;
  baseImage: string;
  /** Try the official image first (a pull that gives up quickly when no registry answers). */
  tryRegistry: boolean;
  log: (line: string) => void;
}

export interface AddonImage {
  ref: string;
  /** An official image (its own entrypoint; see AddonPlugin.containerCmd). */
  official: boolean;
}

export const addonImageRepo = (type: string) => `localhost/hop3/addon-${type}`;
export const builtImageTag = (plugin: AddonPlugin, imagesDir: string) =>
  `${addonImageRepo(plugin.type)}:${plugin.major}-${contextDigest(join(imagesDir, "addons", plugin.imageDir))}`;

const PULL_TIMEOUT_MS = 8_000;
/** A registry that did not answer is not asked again for a while: creating an addon must stay fast. */
const REGISTRY_RETRY_MS = 10 * 60_000;
let registryFailedAt = 0;
const building = new Map<string, Promise<void>>();

export const isOfficialImage = (ref: string) => !ref.startsWith("localhost/");

/** The image for a new addon (or an existing one whose image is gone) of `major`. */
export async function ensureAddonImage(
  docker: Docker,
  plugin: AddonPlugin,
  major: string,
  opts: AddonImageOptions,
): Promise<AddonImage> {
  const official = plugin.officialImage(major);
  if (await imageId(docker, official)) return { ref: official, official: true };
  if (major !== plugin.major) {
    // never a silent major upgrade: the data directory of one major does not open with the next
    throw new Hop3Error(
      `this addon runs ${plugin.title} ${major}, and this Hop3 builds ${plugin.title} ${plugin.major}`,
      "conflict",
      `load ${official} into the hop3 user's Podman, or move the data: dump it, create a new addon, restore`,
    );
  }
  const tag = builtImageTag(plugin, opts.imagesDir);
  if (await imageId(docker, tag)) return { ref: tag, official: false };
  if (opts.tryRegistry && Date.now() - registryFailedAt > REGISTRY_RETRY_MS) {
    if (await pullQuickly(docker, official, opts.log)) return { ref: official, official: true };
    registryFailedAt = Date.now();
  }
  let pending = building.get(tag);
  if (!pending) {
    pending = build(docker, plugin, tag, opts).finally(() => building.delete(tag));
    building.set(tag, pending);
  }
  await pending;
  return { ref: tag, official: false };
}

async function build(
  docker: Docker,
  plugin: AddonPlugin,
  tag: string,
  opts: AddonImageOptions,
): Promise<void> {
  if (!(await imageId(docker, opts.baseImage))) {
    throw new Hop3Error(
      `the ${plugin.title} image ${tag} is missing and so is its base image ${opts.baseImage}`,
      "error",
      "run the installer (it creates the base image) and try again",
    );
  }
  opts.log(`Building ${tag} from ${opts.baseImage} (once; about a minute)`);
  await buildImage(docker, {
    contextDir: join(opts.imagesDir, "addons", plugin.imageDir),
    tag,
    buildArgs: { BASE_IMAGE: opts.baseImage },
    log: (line) => opts.log(`  ${line}`),
  });
  if (!(await imageId(docker, tag)))
    throw new Hop3Error(`building ${tag} reported success but the image is missing`);
}

async function pullQuickly(docker: Docker, ref: string, log: (line: string) => void): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const pulled = (async () => {
      const stream = (await docker.pull(ref)) as NodeJS.ReadableStream;
      await followStream(docker, stream);
      return true;
    })();
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), PULL_TIMEOUT_MS);
    });
    const ok = await Promise.race([pulled.catch(() => false), timeout]);
    if (ok) log(`Pulled ${ref}`);
    else log(`No registry answered for ${ref}: building the image from the distribution's packages`);
    return ok && Boolean(await imageId(docker, ref));
  } finally {
    clearTimeout(timer);
  }
}
