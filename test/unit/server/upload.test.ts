import {
  createWriteStream,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import tarStream from "tar-stream";
import { afterEach, describe, expect, it } from "vitest";
import { extractSourceTarball, receiveUpload } from "../../../src/server/upload.js";
import { Hop3Error } from "../../../src/util/errors.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "hop3-upload-"));
  dirs.push(d);
  return d;
}

type Entry = { header: Partial<tarStream.Header> & { name: string }; body?: string };

/** Writes a gzip'd tarball of `entries` and answers its path. */
async function tarball(dir: string, entries: Entry[]): Promise<string> {
  const pack = tarStream.pack();
  for (const e of entries) pack.entry(e.header, e.body ?? "");
  pack.finalize();
  const file = join(dir, "upload.tar.gz");
  await pipeline(pack, createGzip(), createWriteStream(file));
  return file;
}

function webBody(...chunks: Buffer[]): ReadableStream<Uint8Array> {
  return Readable.toWeb(Readable.from(chunks)) as unknown as ReadableStream<Uint8Array>;
}

async function usageErrorOf(p: Promise<unknown>): Promise<Hop3Error> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(Hop3Error);
    expect((err as Hop3Error).kind).toBe("usage");
    return err as Hop3Error;
  }
  throw new Error("expected a usage error, nothing was thrown");
}

/** Every path below `dir`, sorted, `/`-separated. */
function tree(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    out.push(e.isDirectory() ? `${rel}/` : rel);
    if (e.isDirectory()) out.push(...tree(join(dir, e.name), rel));
  }
  return out.sort();
}

describe("receiveUpload", () => {
  it("copies the body to a private file in a fresh directory", async () => {
    const root = tempDir();
    const uploads = join(root, "uploads");
    const { path, bytes } = await receiveUpload(
      webBody(Buffer.from("hello "), Buffer.from("world")),
      uploads,
      "source.tar.gz",
      1024,
    );
    expect(bytes).toBe(11);
    expect(readFileSync(path, "utf8")).toBe("hello world");
    expect(path.startsWith(join(uploads, "upload-"))).toBe(true);
    expect(path.endsWith("/source.tar.gz")).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(uploads).mode & 0o777).toBe(0o700);
  });

  it("accepts a body of exactly the limit", async () => {
    const { bytes } = await receiveUpload(webBody(Buffer.alloc(100)), tempDir(), "x", 100);
    expect(bytes).toBe(100);
  });

  it("refuses a body over the limit with a usage error, leaving nothing behind", async () => {
    const uploads = join(tempDir(), "uploads");
    const chunk = Buffer.alloc(1024 * 1024, 1);
    const err = await usageErrorOf(
      receiveUpload(webBody(chunk, chunk, chunk), uploads, "big.tar", 2 * 1024 * 1024),
    );
    expect(err.message).toBe("the upload is larger than the limit of 2 MiB");
    expect(err.hint).toMatch(/HOP3_MAX_UPLOAD/);
    expect(readdirSync(uploads)).toEqual([]);
  });

  it("refuses a missing body", async () => {
    const err = await usageErrorOf(receiveUpload(null, tempDir(), "x", 10));
    expect(err.message).toBe("the request has no body to deploy");
  });

  it("leaves nothing behind when the client goes away mid-upload", async () => {
    const uploads = join(tempDir(), "uploads");
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(10));
        controller.error(new Error("connection reset"));
      },
    });
    await expect(receiveUpload(body, uploads, "x", 1000)).rejects.toThrow("connection reset");
    expect(readdirSync(uploads)).toEqual([]);
  });
});

describe("extractSourceTarball", () => {
  it("unpacks a normal tree with its files, directories and inside symlinks", async () => {
    const root = tempDir();
    const file = await tarball(root, [
      { header: { name: "Procfile" }, body: "web: ./serve\n" },
      { header: { name: "src", type: "directory" } },
      { header: { name: "src/main.py", mode: 0o644 }, body: "print('hi')\n" },
      { header: { name: "bin/serve", mode: 0o755 }, body: "#!/bin/sh\n" },
      { header: { name: "config/app.toml" }, body: "a = 1\n" },
      { header: { name: "link-to-main", type: "symlink", linkname: "src/main.py" } },
      { header: { name: "src/up", type: "symlink", linkname: "../config/app.toml" } },
    ]);
    const out = join(root, "out");
    const dest = await extractSourceTarball(file, out);
    expect(dest.startsWith(join(out, "src-"))).toBe(true);
    expect(tree(dest)).toEqual([
      "Procfile",
      "bin/",
      "bin/serve",
      "config/",
      "config/app.toml",
      "link-to-main",
      "src/",
      "src/main.py",
      "src/up",
    ]);
    expect(readFileSync(join(dest, "Procfile"), "utf8")).toBe("web: ./serve\n");
    expect(readFileSync(join(dest, "src/main.py"), "utf8")).toBe("print('hi')\n");
    expect(statSync(join(dest, "bin/serve")).mode & 0o111).not.toBe(0);
    expect(readlinkSync(join(dest, "link-to-main"))).toBe("src/main.py");
    expect(readFileSync(join(dest, "src/up"), "utf8")).toBe("a = 1\n");
  });

  it("strips setuid, setgid and sticky bits", async () => {
    const root = tempDir();
    const file = await tarball(root, [
      { header: { name: "suid", mode: 0o4755 }, body: "x" },
      { header: { name: "sgid", mode: 0o2755 }, body: "x" },
      { header: { name: "sticky", type: "directory", mode: 0o1777 } },
    ]);
    const dest = await extractSourceTarball(file, join(root, "out"));
    for (const name of ["suid", "sgid", "sticky"]) {
      expect(statSync(join(dest, name)).mode & 0o7000, name).toBe(0);
    }
    expect(statSync(join(dest, "suid")).mode & 0o700).toBe(0o700);
  });

  it("does not hand files to the uids the archive names", async () => {
    const root = tempDir();
    const file = await tarball(root, [{ header: { name: "owned", uid: 4242, gid: 4242 }, body: "x" }]);
    const dest = await extractSourceTarball(file, join(root, "out"));
    expect(statSync(join(dest, "owned")).uid).toBe(process.getuid?.());
  });

  it("ignores hardlinks, devices and fifos", async () => {
    const root = tempDir();
    const file = await tarball(root, [
      { header: { name: "real" }, body: "data" },
      { header: { name: "hard", type: "link", linkname: "real" } },
      { header: { name: "outside-hard", type: "link", linkname: "../../../etc/passwd" } },
      { header: { name: "null", type: "character-device", devmajor: 1, devminor: 3 } },
      { header: { name: "disk", type: "block-device", devmajor: 8, devminor: 0 } },
      { header: { name: "pipe", type: "fifo" } },
      { header: { name: "after" }, body: "still here" },
    ]);
    const dest = await extractSourceTarball(file, join(root, "out"));
    expect(tree(dest)).toEqual(["after", "real"]);
    expect(readFileSync(join(dest, "after"), "utf8")).toBe("still here");
  });

  it("writes a contiguous file as a plain file", async () => {
    const root = tempDir();
    const file = await tarball(root, [{ header: { name: "c", type: "contiguous-file" }, body: "cc" }]);
    const dest = await extractSourceTarball(file, join(root, "out"));
    expect(readFileSync(join(dest, "c"), "utf8")).toBe("cc");
  });

  describe("refuses hostile archives with a usage error and leaves nothing behind", () => {
    const cases: [string, Entry[], RegExp][] = [
      ["a ../ entry", [{ header: { name: "../evil" }, body: "x" }], /unsafe path: "\.\.\/evil"/],
      ["a nested ../ entry", [{ header: { name: "a/../../evil" }, body: "x" }], /unsafe path/],
      [
        "an absolute path",
        [{ header: { name: "/etc/cron.d/evil" }, body: "x" }],
        /unsafe path: "\/etc\/cron.d\/evil"/,
      ],
      [
        "a symlink to /etc/passwd",
        [{ header: { name: "passwd", type: "symlink", linkname: "/etc/passwd" } }],
        /symlink pointing outside the tree: passwd -> \/etc\/passwd/,
      ],
      [
        "a symlink escaping with ../..",
        [{ header: { name: "a/b", type: "symlink", linkname: "../../x" } }],
        /symlink pointing outside the tree: a\/b -> \.\.\/\.\.\/x/,
      ],
      [
        "a symlink escaping through a sub path",
        [{ header: { name: "link", type: "symlink", linkname: "sub/../../etc" } }],
        /symlink pointing outside the tree/,
      ],
      [
        "a chain of symlinks that each look inside",
        [
          { header: { name: "d", type: "directory" } },
          { header: { name: "d/a", type: "symlink", linkname: ".." } },
          { header: { name: "d/b", type: "symlink", linkname: "a/.." } },
        ],
        /symlink pointing outside the tree: d\/b/,
      ],
      [
        "a hostile entry after good ones",
        [
          { header: { name: "good" }, body: "ok" },
          { header: { name: "../evil" }, body: "x" },
          { header: { name: "later" }, body: "never written" },
        ],
        /unsafe path/,
      ],
    ];
    for (const [what, entries, message] of cases) {
      it(what, async () => {
        const root = tempDir();
        const file = await tarball(root, entries);
        const out = join(root, "out");
        const err = await usageErrorOf(extractSourceTarball(file, out));
        expect(err.message).toMatch(message);
        expect(readdirSync(out)).toEqual([]);
        expect(existsSync(join(root, "evil"))).toBe(false);
        expect(existsSync(join(out, "evil"))).toBe(false);
      });
    }
  });

  it("refuses garbage that is not gzip with a clear usage error", async () => {
    const root = tempDir();
    const file = join(root, "junk.tar.gz");
    writeFileSync(file, "this is not a tarball at all\n");
    const out = join(root, "out");
    const err = await usageErrorOf(extractSourceTarball(file, out));
    expect(err.message).toMatch(/^the upload is not a valid gzip'd tar archive: /);
    expect(readdirSync(out)).toEqual([]);
  });

  it("refuses a gzip'd file that is not a tar archive", async () => {
    const root = tempDir();
    const file = join(root, "notar.gz");
    await pipeline(Readable.from([Buffer.from("x".repeat(2000))]), createGzip(), createWriteStream(file));
    const err = await usageErrorOf(extractSourceTarball(file, join(root, "out")));
    expect(err.message).toMatch(/^the upload is not a valid gzip'd tar archive: /);
  });

  it("keeps the extraction root a directory owned by the server", async () => {
    const root = tempDir();
    const file = await tarball(root, [{ header: { name: "f" }, body: "1" }]);
    const dest = await extractSourceTarball(file, join(root, "out"));
    expect(lstatSync(dest).isDirectory()).toBe(true);
    expect(statSync(join(root, "out")).mode & 0o777).toBe(0o700);
  });

  describe("bombs: bounded extracted size and entry count", () => {
    /** A gzip'd tar of one file of `size` zero bytes, written as a stream (never held in memory). */
    async function zeroBomb(dir: string, size: number): Promise<string> {
      const pack = tarStream.pack();
      const entry = pack.entry({ name: "zeros.bin", size }, () => {});
      const file = join(dir, "bomb.tar.gz");
      const done = pipeline(pack, createGzip({ level: 9 }), createWriteStream(file));
      const chunk = Buffer.alloc(1024 * 1024);
      for (let left = size; left > 0; left -= chunk.length) {
        if (!entry.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) {
          await new Promise<void>((r) => entry.once("drain", () => r()));
        }
      }
      (entry as unknown as { end(): void }).end();
      pack.finalize();
      await done;
      return file;
    }

    it("refuses a 64 KiB upload that inflates to 64 MiB, before writing it, and leaves nothing", async () => {
      const dir = tempDir();
      const file = await zeroBomb(dir, 64 * 1024 * 1024);
      expect(statSync(file).size).toBeLessThan(200 * 1024);
      const out = join(dir, "out");
      const err = await usageErrorOf(
        extractSourceTarball(file, out, { maxBytes: 16 * 1024 * 1024, maxEntries: 1000 }),
      );
      expect(err.message).toMatch(/too large once extracted: more than 16 MiB of files/);
      expect(err.hint).toMatch(/HOP3_MAX_EXTRACTED_SIZE/);
      expect(readdirSync(out)).toEqual([]);
    });

    it("refuses a tree of more entries than allowed, and leaves nothing", async () => {
      const dir = tempDir();
      const entries: Entry[] = [];
      for (let i = 0; i < 300; i++) entries.push({ header: { name: `f${i}`, type: "file" }, body: "" });
      const file = await tarball(dir, entries);
      const out = join(dir, "out");
      const err = await usageErrorOf(
        extractSourceTarball(file, out, { maxBytes: 1024 ** 3, maxEntries: 100 }),
      );
      expect(err.message).toMatch(/more than 100 entries/);
      expect(readdirSync(out)).toEqual([]);
    });

    it("accepts a tree exactly at both bounds", async () => {
      const dir = tempDir();
      const entries: Entry[] = [];
      for (let i = 0; i < 10; i++)
        entries.push({ header: { name: `f${i}`, type: "file" }, body: "x".repeat(100) });
      const file = await tarball(dir, entries);
      const dest = await extractSourceTarball(file, join(dir, "out"), { maxBytes: 1000, maxEntries: 10 });
      expect(readdirSync(dest)).toHaveLength(10);
    });
  });
});
