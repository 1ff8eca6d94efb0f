/**
 * Receiving uploads: a size-limited copy of the request body to a private temp file, and a safe
 * extraction of a source tarball (no absolute paths, no `..`, no links pointing out, no devices).
 */
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { readdir, realpath } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type tar from "tar-fs";
import type { Extract } from "tar-stream";
import { Hop3Error } from "../util/errors.js";
import { tarFs, tarStream } from "../util/tar-modules.js";

export async function receiveUpload(
  body: ReadableStream<Uint8Array> | null,
  dir: string,
  name: string,
  maxBytes: number,
): Promise<{ path: string; bytes: number }> {
  if (!body) throw new Hop3Error("the request has no body to deploy", "usage");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(mkdtempSync(join(dir, "upload-")), name);
  let bytes = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        cb(
          new Hop3Error(
            `the upload is larger than the limit of ${Math.round(maxBytes / 1024 / 1024)} MiB`,
            "usage",
            "add build outputs and dependencies to .hop3ignore, or raise HOP3_MAX_UPLOAD on the server",
          ),
        );
        return;
      }
      cb(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(body as import("node:stream/web").ReadableStream),
      limiter,
      createWriteStream(path, { mode: 0o600 }),
    );
  } catch (err) {
    // the caller only cleans up what it received: a refused or broken upload must leave nothing behind
    rmSync(dirname(path), { recursive: true, force: true });
    throw err;
  }
  return { path, bytes };
}

/** Bounds of an extracted source tree: a 65 KB upload must not become gigabytes or millions of files. */
export interface ExtractLimits {
  /** Sum of the sizes of the files in the archive. */
  maxBytes: number;
  /** Entries of every kind (files, directories, links). */
  maxEntries: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxBytes: 2 * 1024 ** 3, maxEntries: 200_000 };

const mib = (n: number) => `${Math.round(n / 1024 / 1024)} MiB`;

/** Unpacks a gzip'd tarball into a fresh directory under `dir`; answers that directory. */
export async function extractSourceTarball(
  tarball: string,
  dir: string,
  limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS,
): Promise<string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dest = mkdtempSync(join(dir, "src-"));
  // Throwing from tar-fs callbacks escapes the pipeline (an uncaught exception that kills the server):
  // remember the first refusal, skip every entry from there on, and fail once the stream has drained
  // (or was stopped).
  let refused: Hop3Error | undefined;
  const refuse = (message: string, hint?: string) => {
    refused ??= new Hop3Error(message, "usage", hint);
  };
  // the bounds stop the stream as soon as they are crossed: a bomb is never inflated to the end
  let entries = 0;
  let declared = 0;
  const tooLarge = (what: string) =>
    refuse(
      `the upload is too large once extracted: ${what}`,
      "add build outputs and dependencies to .hop3ignore, or raise HOP3_MAX_EXTRACTED_SIZE / HOP3_MAX_EXTRACTED_ENTRIES on the server",
    );
  // tar headers and padding: at most 1.5 KiB per entry beyond the files' own bytes (long names take 2 headers)
  const maxInflated = limits.maxBytes + (limits.maxEntries + 2) * 1536;
  let inflated = 0;
  const inflatedLimiter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      // a refusal from tar-fs's callbacks ends the stream here, at the next chunk
      if (refused) return cb(refused);
      inflated += chunk.length;
      if (inflated > maxInflated) {
        tooLarge(`more than ${mib(maxInflated)} of tar data`);
        return cb(refused);
      }
      cb(null, chunk);
    },
  });
  // our own tar-stream parser, so every entry stream gets an error handler before tar-fs sees it: when a
  // bound stops the pipeline, the entry being skipped is destroyed with the refusal, already reported
  const parser = tarStream().extract();
  parser.on("entry", (_header, entry) => entry.on("error", () => {}));
  const extractor = tarFs().extract(dest, {
    extract: parser,
    ignore: (_name, header) =>
      refused !== undefined ||
      (!!header && !["file", "directory", "symlink"].includes(header.type ?? "file")),
    map: (header) => {
      entries++;
      declared += header.size ?? 0;
      if (entries > limits.maxEntries) {
        tooLarge(`more than ${limits.maxEntries} entries`);
        return header;
      }
      if (declared > limits.maxBytes) {
        tooLarge(`more than ${mib(limits.maxBytes)} of files`);
        return header;
      }
      const n = header.name;
      if (n.startsWith("/") || n.split("/").includes("..")) {
        refuse(`the upload contains an unsafe path: ${JSON.stringify(n)}`);
        return header;
      }
      const linkname = (header as { linkname?: string | null }).linkname;
      if (header.type === "symlink" && linkname) {
        const target = linkname;
        if (target.startsWith("/") || escapes(n, target)) {
          refuse(`the upload has a symlink pointing outside the tree: ${n} -> ${target}`);
          return header;
        }
      }
      // tar-fs only writes `file`; a contiguous file is a plain file everywhere that matters
      if ((header.type as string) === "contiguous-file") header.type = "file";
      header.mode = (header.mode ?? 0o644) & 0o777; // no setuid/setgid from uploads
      return header;
    },
    dmode: 0o755,
    fmode: 0o644,
    // files belong to the server's user, not to the uids the archive names (not in @types/tar-fs)
    chown: false,
  } as tar.ExtractOptions & { chown: boolean; extract: Extract });
  try {
    await pipeline(createReadStream(tarball), createGunzip(), inflatedLimiter, extractor);
    if (!refused) await refuseLinksOutOf(dest, refuse);
  } catch (err) {
    rmSync(dest, { recursive: true, force: true });
    if (refused) throw refused;
    if (err instanceof Hop3Error) throw err;
    throw new Hop3Error(`the upload is not a valid gzip'd tar archive: ${(err as Error).message}`, "usage");
  }
  if (refused) {
    rmSync(dest, { recursive: true, force: true });
    throw refused;
  }
  return dest;
}

/**
 * Each link was checked on its own, but a chain (`d/a -> ..`, `d/b -> a/..`) can still lead out: resolve
 * every symlink of the extracted tree for real. Dangling links lead nowhere and are left alone.
 */
async function refuseLinksOutOf(root: string, refuse: (message: string) => void): Promise<void> {
  const realRoot = await realpath(root);
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isSymbolicLink()) {
        const target = await realpath(path).catch(() => undefined);
        if (target && target !== realRoot && !target.startsWith(realRoot + sep)) {
          refuse(`the upload has a symlink pointing outside the tree: ${relative(root, path)}`);
        }
      }
    }
  };
  await walk(root);
}

function escapes(entry: string, target: string): boolean {
  const parts = entry.split("/").slice(0, -1);
  for (const seg of target.split("/")) {
    if (seg === "..") {
      if (parts.length === 0) return true;
      parts.pop();
    } else if (seg && seg !== ".") parts.push(seg);
  }
  return false;
}
