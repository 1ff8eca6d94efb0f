/** The recipes of a catalog as one gzip'd tarball (`<name>/<file>` entries), for `hop catalog:refresh`. */
import { createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import tar from "tar-fs";
import { recipeNames } from "./catalog-index.js";

export async function writeRecipeTarball(catalogDir: string, out: string): Promise<void> {
  const names = recipeNames(catalogDir);
  // regular files and directories only, owner-neutral: the same recipes give the same entries
  const stream = tar.pack(catalogDir, {
    entries: names,
    map: (h) => ({ ...h, uid: 0, gid: 0, uname: "", gname: "", mtime: new Date(0) }),
  });
  await pipeline(stream, createGzip(), createWriteStream(out));
}
