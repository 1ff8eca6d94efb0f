/**
 * An uploaded `podman save` / `docker save` archive, copied with every name taken out, so that loading it
 * can never move a tag of the server's storage. Without this, an archive whose image is named
 * `localhost/hop3/<other app>:r3`, `localhost/hop3/base:bookworm` or the router's image would replace that
 * app's release or a platform image the moment Podman loads it: `podman load` applies the archive's own
 * names, and no option of Podman 4.3's API turns that off. The copy is loaded instead; the deployer then
 * tags the image it holds, by ID, as the deploying app's release only.
 *
 * Formats: docker-archive (manifest.json `RepoTags`, the legacy `repositories` file) and oci-archive
 * (index.json annotations `org.opencontainers.image.ref.name` and `io.containerd.image.name`), plain or
 * gzip-compressed. Anything else, or more than one image, is refused with a clear message.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { Hop3Error } from "../util/errors.js";
import { tarStream } from "../util/tar-modules.js";

export interface ArchiveNames {
  format: "docker-archive" | "oci-archive";
  /** The names the archive gave its image, dropped from the copy (for the build log). */
  names: string[];
  /** The image ID when the archive says it (docker-archive: the config digest). */
  imageId?: string;
}

const OCI_NAME_KEYS = ["org.opencontainers.image.ref.name", "io.containerd.image.name"];
const MAX_INDEX_BYTES = 4 * 1024 * 1024;

function refuse(why: string): never {
  throw new Hop3Error(
    `the uploaded file is not an image archive Hop3 can load: ${why}`,
    "deployFailed",
    "create it with `podman save -o app.tar IMAGE` (or `docker save`), one image per archive",
  );
}

async function readAll(s: Readable, max: number, name: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of s) {
    n += (c as Buffer).length;
    if (n > max) refuse(`${name} is larger than ${max} bytes`);
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

function parseJson(buf: Buffer, name: string): unknown {
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch {
    refuse(`${name} is not valid JSON`);
  }
}

/** docker-archive manifest.json without RepoTags; the names and config digests it had. */
export function untagDockerManifest(doc: unknown): { doc: unknown; names: string[]; configs: string[] } {
  if (!Array.isArray(doc)) refuse("manifest.json is not a list of images");
  const names: string[] = [];
  const configs = new Set<string>();
  const out = doc.map((m: unknown) => {
    if (typeof m !== "object" || m === null || Array.isArray(m)) refuse("manifest.json has a bad entry");
    const entry = m as Record<string, unknown>;
    if (Array.isArray(entry.RepoTags)) names.push(...entry.RepoTags.filter((t) => typeof t === "string"));
    if (typeof entry.Config === "string") configs.add(entry.Config);
    return { ...entry, RepoTags: [] };
  });
  return { doc: out, names, configs: [...configs] };
}

/** oci-archive index.json without name annotations; the names it had and how many images it lists. */
export function untagOciIndex(doc: unknown): { doc: unknown; names: string[]; images: number } {
  if (typeof doc !== "object" || doc === null || !Array.isArray((doc as { manifests?: unknown }).manifests)) {
    refuse("index.json lists no manifests");
  }
  const index = doc as Record<string, unknown> & { manifests: unknown[] };
  const names: string[] = [];
  const digests = new Set<string>();
  const manifests = index.manifests.map((m) => {
    if (typeof m !== "object" || m === null) refuse("index.json has a bad manifest entry");
    const entry = { ...(m as Record<string, unknown>) };
    if (typeof entry.digest === "string") digests.add(entry.digest);
    const annotations = entry.annotations;
    if (typeof annotations === "object" && annotations !== null) {
      const kept = { ...(annotations as Record<string, unknown>) };
      for (const k of OCI_NAME_KEYS) {
        if (typeof kept[k] === "string") names.push(kept[k] as string);
        delete kept[k];
      }
      entry.annotations = kept;
    }
    return entry;
  });
  return { doc: { ...index, manifests }, names, images: digests.size };
}

/** Copies `from` to `to` (an uncompressed tar) with the image's names taken out; answers what it found. */
export async function copyWithoutNames(from: string, to: string): Promise<ArchiveNames> {
  // gzip or not: look at the first two bytes
  const head = await new Promise<Buffer>((resolve, reject) => {
    const s = createReadStream(from, { start: 0, end: 1 });
    const parts: Buffer[] = [];
    s.on("data", (c) => parts.push(c as Buffer));
    s.on("end", () => resolve(Buffer.concat(parts)));
    s.on("error", reject);
  });
  const gzipped = head[0] === 0x1f && head[1] === 0x8b;

  const tar = tarStream();
  const extract = tar.extract();
  const pack = tar.pack();
  let docker: ReturnType<typeof untagDockerManifest> | undefined;
  let oci: ReturnType<typeof untagOciIndex> | undefined;
  let entries = 0;

  extract.on("entry", (header, stream, next) => {
    entries++;
    const name = header.name.replace(/^\.\//, "");
    const rewrite = async (): Promise<void> => {
      if (name === "repositories") {
        // legacy names file: dropped (podman and docker read manifest.json)
        stream.resume();
        return;
      }
      if (name === "manifest.json" || name === "index.json") {
        const doc = parseJson(await readAll(stream as unknown as Readable, MAX_INDEX_BYTES, name), name);
        let body: Buffer;
        if (name === "manifest.json") {
          docker = untagDockerManifest(doc);
          body = Buffer.from(JSON.stringify(docker.doc));
        } else {
          oci = untagOciIndex(doc);
          body = Buffer.from(JSON.stringify(oci.doc));
        }
        await new Promise<void>((resolve, reject) =>
          pack.entry({ ...header, size: body.length }, body, (err) => (err ? reject(err) : resolve())),
        );
        return;
      }
      await pipeline(stream, pack.entry(header));
    };
    rewrite().then(
      () => next(),
      (err: unknown) => extract.destroy(err as Error),
    );
  });
  extract.on("finish", () => pack.finalize());

  const input = createReadStream(from);
  const source: Readable = gzipped ? input.pipe(createGunzip()) : input.pipe(new PassThrough());
  input.on("error", (err) => extract.destroy(err));
  try {
    await Promise.all([pipeline(source, extract), pipeline(pack, createWriteStream(to, { mode: 0o600 }))]);
  } catch (err) {
    if (err instanceof Hop3Error) throw err;
    refuse((err as Error).message.split("\n")[0] ?? "unreadable");
  }
  if (entries === 0) refuse("it is empty or not a tar file");
  if (docker) {
    if (docker.configs.length !== 1)
      refuse(`it holds ${docker.configs.length} images; save only the app's image`);
    const digest = /^(?:blobs\/sha256\/)?([a-f0-9]{64})(?:\.json)?$/.exec(docker.configs[0]!)?.[1];
    return {
      format: "docker-archive",
      names: docker.names,
      ...(digest ? { imageId: `sha256:${digest}` } : {}),
    };
  }
  if (oci) {
    if (oci.images !== 1) refuse(`it holds ${oci.images} images; save only the app's image`);
    return { format: "oci-archive", names: oci.names };
  }
  return refuse("it has neither manifest.json (docker-archive) nor index.json (oci-archive)");
}
