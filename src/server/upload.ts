/**
 * Receiving uploads: a size-limited copy of the request body to a private temp file, and a safe
 * extraction of a source tarball (no absolute paths, no `..`, no links pointing out, no devices).
 */
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-fs";
import { Hop3Error } from "../util/errors.js";

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
  await pipeline(
    Readable.fromWeb(body as import("node:stream/web").ReadableStream),
    limiter,
    createWriteStream(path, { mode: 0o600 }),
  );
  return { path, bytes };
}

/** Unpacks a gzip'd tarball into a fresh directory under `dir`; answers that directory. */
export async function extractSourceTarball(tarball: string, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dest = mkdtempSync(join(dir, "src-"));
  try {
    await pipeline(
      createReadStream(tarball),
      createGunzip(),
      tar.extract(dest, {
        // tar-fs itself refuses entries that resolve outside dest; we also refuse the odd types outright
        ignore: (_name, header) =>
          !!header && !["file", "directory", "symlink", "contiguous-file"].includes(header.type ?? "file"),
        map: (header) => {
          const n = header.name;
          if (n.startsWith("/") || n.split("/").includes("..")) {
            throw new Hop3Error(`the upload contains an unsafe path: ${JSON.stringify(n)}`, "usage");
          }
          const linkname = (header as { linkname?: string | null }).linkname;
          if (header.type === "symlink" && linkname) {
            const target = linkname;
            if (target.startsWith("/") || escapes(n, target)) {
              throw new Hop3Error(
                `the upload has a symlink pointing outside the tree: ${n} -> ${target}`,
                "usage",
              );
            }
          }
          header.mode = (header.mode ?? 0o644) & 0o777; // no setuid/setgid from uploads
          return header;
        },
        dmode: 0o755,
        fmode: 0o644,
      }),
    );
  } catch (err) {
    if (err instanceof Hop3Error) throw err;
    throw new Hop3Error(`the upload is not a valid gzip'd tar archive: ${(err as Error).message}`, "usage");
  }
  return dest;
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
