/**
 * Reading, on the host, files that a build container wrote (layer metadata, env files, build plans,
 * launch.toml) or that an app's repository holds (buildpack.toml of a repository or git buildpack).
 *
 * Whoever writes them controls them: a symlink `env/TOKEN -> /var/lib/hop3/admin-token` made in the
 * container resolves on the host, and readFileSync() would hand the platform's secrets to the build (and
 * its log). So every read here opens the path without following a final link (O_NOFOLLOW), then asks the
 * kernel where the opened file really is (/proc/self/fd) and refuses it unless that is exactly the
 * expected path below the root: a link anywhere on the way (including a directory swapped for a link while
 * we read, by a process the build left running) is refused, race-free, because the check is made on the
 * open descriptor that is then read. Only regular files of bounded size are read; a FIFO or device is never
 * opened for reading blocking (O_NONBLOCK) and is refused.
 */
import {
  closeSync,
  constants,
  type Dirent,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
} from "node:fs";
import { join, normalize, sep } from "node:path";
import { Hop3Error } from "../../util/errors.js";

/** Metadata files are small; anything bigger is a mistake or an attack, not a configuration. */
export const MAX_METADATA_BYTES = 1024 * 1024;

export class ContainedDir {
  private readonly real: string;

  /**
   * @param root a directory the platform made or trusts (its own path is resolved once, here)
   * @param what how errors name the root, e.g. "buildpack acme/x layers"
   */
  constructor(
    root: string,
    private readonly what: string,
  ) {
    this.real = realpathSync(root);
  }

  private refuse(rel: string, why: string): never {
    throw new Hop3Error(
      `${this.what}: ${rel} ${why}`,
      "deployFailed",
      "build metadata (layer .toml files, env/ files, launch.toml, build plans, buildpack.toml) must be regular files inside their directory, not links",
    );
  }

  private target(rel: string): string {
    const clean = normalize(rel);
    if (clean === ".." || clean.startsWith(`..${sep}`) || clean.startsWith(sep)) {
      throw new Error(`ContainedDir: ${rel} is not a relative path inside the root`);
    }
    return clean === "." ? this.real : join(this.real, clean);
  }

  /** Opens without following links; undefined when the path does not exist. */
  private open(rel: string, flags: number): number | undefined {
    const path = this.target(rel);
    let fd: number;
    try {
      fd = openSync(path, flags | constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      if (code === "ELOOP") this.refuse(rel, "is a symbolic link");
      if (code === "ENOTDIR") {
        // a file where a directory is wanted, or (with O_DIRECTORY) a link: only the link is an attack
        let link = false;
        try {
          link = lstatSync(path).isSymbolicLink();
        } catch {
          // gone meanwhile
        }
        if (link) this.refuse(rel, "is a symbolic link");
        return undefined;
      }
      throw err;
    }
    let where = "";
    try {
      where = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      // no /proc: refuse below rather than trust the path
    }
    if (where !== path) {
      closeSync(fd);
      this.refuse(rel, "leads through a symbolic link");
    }
    return fd;
  }

  /** The text of a regular file; undefined when it does not exist. */
  readText(rel: string, maxBytes = MAX_METADATA_BYTES): string | undefined {
    const fd = this.open(rel, 0);
    if (fd === undefined) return undefined;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) this.refuse(rel, "is not a regular file");
      if (st.size > maxBytes) this.refuse(rel, `is larger than ${maxBytes} bytes`);
      // the writer may still append: read at most maxBytes + 1 whatever fstat said
      const buf = Buffer.alloc(maxBytes + 1);
      let n = 0;
      for (;;) {
        const r = readSync(fd, buf, n, buf.length - n, null);
        if (r === 0) break;
        n += r;
        if (n > maxBytes) this.refuse(rel, `is larger than ${maxBytes} bytes`);
      }
      return buf.subarray(0, n).toString("utf8");
    } finally {
      closeSync(fd);
    }
  }

  /** The entries of a directory (types as lstat sees them); undefined when it is absent or not a directory. */
  list(rel = "."): Dirent[] | undefined {
    const fd = this.open(rel, constants.O_DIRECTORY);
    if (fd === undefined) return undefined;
    try {
      // listed through the descriptor, so the directory checked is the directory read
      return readdirSync(`/proc/self/fd/${fd}`, { withFileTypes: true }).sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
    } finally {
      closeSync(fd);
    }
  }
}
