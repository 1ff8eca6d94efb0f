/**
 * `hop deploy --image`: a registry reference (pulled), an image already in the hop3 user's storage, or a
 * `podman save` archive uploaded by the CLI (for hosts with no registry at all).
 */
import { createReadStream, rmSync } from "node:fs";
import type Docker from "dockerode";
import { statusOf } from "../runtime/containers.js";
import { Hop3Error } from "../util/errors.js";
import type { BuiltImage } from "./builder.js";
import { type ArchiveNames, copyWithoutNames } from "./image-archive.js";
import { followProgress } from "./progress.js";

/** Image references as Docker and Podman accept them; anything else is refused before touching Podman. */
const IMAGE_REF =
  /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export function validateImageRef(ref: string): string {
  if (!IMAGE_REF.test(ref) || ref.length > 512) {
    throw new Hop3Error(`${JSON.stringify(ref)} is not a valid image reference`, "usage");
  }
  return ref;
}

async function imageExists(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

async function tagAs(docker: Docker, id: string, tag: string): Promise<void> {
  const [repo, t] = splitTag(tag);
  await docker.getImage(id).tag({ repo, tag: t });
}

/**
 * The image whose ID is `imageId`, under `tag`, when this Podman already has it; undefined otherwise. An image
 * ID is the digest of its configuration, which names the digest of every layer, so the image found is the one
 * an archive of it would load: a restore on the server that made the backup need not load it again. Only a
 * full sha256 ID counts (a prefix could name another image).
 */
export async function imageById(
  docker: Docker,
  imageId: string,
  tag: string,
): Promise<BuiltImage | undefined> {
  const hex = imageId.replace(/^sha256:/, "");
  if (!/^[0-9a-f]{64}$/.test(hex)) return undefined;
  // asked by its short ID (Podman 4.3's compat API refuses a 64-hex name with a 500), then compared in full
  const id = await imageExists(docker, hex.slice(0, 12)).catch(() => undefined);
  if (id?.replace(/^sha256:/, "") !== hex) return undefined;
  await tagAs(docker, id, tag);
  return { tag, imageId: id, sourceKind: "image", sourceRef: "archive" };
}

/**
 * The same image under `tag` instead of its present tag (an image loaded ahead of the release that takes it:
 * a backup's restore loads it while the data is restored).
 */
export async function retag(docker: Docker, image: BuiltImage, tag: string): Promise<BuiltImage> {
  await tagAs(docker, image.imageId, tag);
  await untag(docker, image.tag);
  return { ...image, tag };
}

/** Removes one name of an image, never the image itself while another name holds it. */
export async function untag(docker: Docker, tag: string): Promise<void> {
  await docker
    .getImage(tag)
    .remove({ noprune: true })
    .catch((err) => {
      if (statusOf(err) !== 404) throw err;
    });
}

function splitTag(tag: string): [string, string] {
  const i = tag.lastIndexOf(":");
  return [tag.slice(0, i), tag.slice(i + 1)];
}

export async function imageFromReference(
  docker: Docker,
  ref: string,
  tag: string,
  emit: (line: string) => void,
): Promise<BuiltImage> {
  validateImageRef(ref);
  let id = await imageExists(docker, ref);
  if (id) {
    emit(`Using local image ${ref}`);
  } else {
    emit(`Pulling ${ref}`);
    try {
      const stream = await docker.pull(ref);
      await followProgress(docker, stream, emit, `pull of ${ref}`);
    } catch (err) {
      throw new Hop3Error(
        `cannot get image ${ref}: ${(err as Error).message.split("\n")[0]}`,
        "deployFailed",
        "check the reference; on a host without a registry, `podman save` the image and run `hop deploy --image FILE.tar`",
      );
    }
    id = await imageExists(docker, ref);
    if (!id) throw new Hop3Error(`pulled ${ref} but it is not in the image store`, "deployFailed");
  }
  await tagAs(docker, id, tag);
  return { tag, imageId: id, sourceKind: "image", sourceRef: ref };
}

/**
 * Loads a `podman save`/`docker save` archive and tags the (single) image it holds as `tag`, and nothing
 * else: what is loaded is a copy without the archive's names (image-archive.ts), so an archive cannot
 * replace another app's release or a platform image by naming it.
 */
export async function imageFromArchive(
  docker: Docker,
  archivePath: string,
  tag: string,
  emit: (line: string) => void,
): Promise<BuiltImage> {
  emit("Loading image archive");
  const unnamed = `${archivePath}.unnamed.tar`;
  let found: ArchiveNames;
  let loaded: string[] = [];
  try {
    found = await copyWithoutNames(archivePath, unnamed);
    try {
      const res = (await docker.loadImage(createReadStream(unnamed))) as NodeJS.ReadableStream;
      const text = await streamText(res);
      // Podman answers {"stream":"Loaded image: REF\n"} lines (or a single JSON object)
      loaded = [...text.matchAll(/Loaded image(?:\(s\))?: ([^\s"\\]+)/g)].map((m) => m[1]!.replace(/,$/, ""));
      if (/"error"|errorDetail/.test(text) && loaded.length === 0) throw new Error(text.slice(0, 300));
    } catch (err) {
      throw new Hop3Error(
        `the uploaded file is not an image archive podman can load: ${(err as Error).message.split("\n")[0]}`,
        "deployFailed",
        "create it with `podman save -o app.tar IMAGE` (or `docker save`)",
      );
    }
  } finally {
    rmSync(unnamed, { force: true });
  }
  // loaded without names, Podman reports the image by ID; docker-archives also say it in manifest.json
  let id: string | undefined;
  for (const ref of [...loaded, ...(found.imageId ? [found.imageId] : [])])
    id ??= await imageExists(docker, ref);
  if (!id) throw new Hop3Error("the archive loaded but no image could be found in it", "deployFailed");
  if (found.names.length > 0) {
    emit(`The archive named its image ${found.names.join(", ")}: names from an archive are not kept`);
  }
  emit(`Loaded ${id.replace(/^sha256:/, "").slice(0, 12)} (${found.format})`);
  await tagAs(docker, id, tag);
  return { tag, imageId: id, sourceKind: "image", sourceRef: found.names[0] ?? "archive" };
}

async function streamText(s: NodeJS.ReadableStream): Promise<string> {
  let out = "";
  for await (const c of s) out += c.toString();
  return out;
}
