/** The copy of an uploaded image archive that Podman loads: every name taken out, one image only. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { copyWithoutNames } from "../../../src/build/image-archive.js";

const CONFIG = "a".repeat(64);

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name }, body);
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of pack) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function entriesOf(file: string): Promise<Record<string, string>> {
  const extract = tar.extract();
  const out: Record<string, string> = {};
  extract.on("entry", (h, s, next) => {
    let body = "";
    s.on("data", (c: unknown) => {
      body += String(c);
    });
    s.on("end", () => {
      out[h.name] = body;
      next();
    });
  });
  const done = new Promise<void>((ok, fail) => {
    extract.on("finish", () => ok());
    extract.on("error", fail);
  });
  extract.end(readFileSync(file));
  await done;
  return out;
}

const dir = mkdtempSync(join(tmpdir(), "hop3-archive-"));
const write = (name: string, data: Buffer) => {
  writeFileSync(join(dir, name), data);
  return join(dir, name);
};

const dockerArchive = (tags: string[], configs = [CONFIG]) =>
  tarOf({
    [`${CONFIG}.json`]: "{}",
    "layer/layer.tar": "layer bytes",
    "manifest.json": JSON.stringify(
      configs.map((c) => ({ Config: `${c}.json`, RepoTags: tags, Layers: ["layer/layer.tar"] })),
    ),
    repositories: JSON.stringify({ "localhost/hop3/victim": { r1: "x" } }),
  });

describe("copyWithoutNames", () => {
  it("takes the names out of a docker-archive, keeps the rest byte for byte, and reads the image ID", async () => {
    const tags = ["localhost/hop3/victim:r1", "localhost/hop3/base:bookworm"];
    const from = write("docker.tar", await dockerArchive(tags));
    const r = await copyWithoutNames(from, join(dir, "docker.out.tar"));
    expect(r).toEqual({ format: "docker-archive", names: tags, imageId: `sha256:${CONFIG}` });
    const out = await entriesOf(join(dir, "docker.out.tar"));
    expect(JSON.parse(out["manifest.json"]!)[0].RepoTags).toEqual([]);
    expect(out.repositories).toBeUndefined();
    expect(out["layer/layer.tar"]).toBe("layer bytes");
    expect(JSON.stringify(out)).not.toContain("victim");
  });

  it("reads gzip-compressed archives", async () => {
    const from = write("docker.tar.gz", gzipSync(await dockerArchive(["localhost/hop3/caddy:2-x"])));
    const r = await copyWithoutNames(from, join(dir, "gz.out.tar"));
    expect(r.names).toEqual(["localhost/hop3/caddy:2-x"]);
    expect(JSON.stringify(await entriesOf(join(dir, "gz.out.tar")))).not.toContain("caddy");
  });

  it("takes the name annotations out of an oci-archive", async () => {
    const from = write(
      "oci.tar",
      await tarOf({
        "oci-layout": '{"imageLayoutVersion":"1.0.0"}',
        "index.json": JSON.stringify({
          schemaVersion: 2,
          manifests: [
            {
              digest: `sha256:${CONFIG}`,
              annotations: {
                "org.opencontainers.image.ref.name": "localhost/hop3/victim:r1",
                "io.containerd.image.name": "localhost/hop3/victim:r1",
                "org.example.kept": "yes",
              },
            },
          ],
        }),
      }),
    );
    const r = await copyWithoutNames(from, join(dir, "oci.out.tar"));
    expect(r.format).toBe("oci-archive");
    expect(r.names).toContain("localhost/hop3/victim:r1");
    const index = JSON.parse((await entriesOf(join(dir, "oci.out.tar")))["index.json"]!);
    expect(index.manifests[0].annotations).toEqual({ "org.example.kept": "yes" });
  });

  it("refuses archives of several images, and files that are no image archive", async () => {
    const two = write("two.tar", await dockerArchive([], [CONFIG, "b".repeat(64)]));
    await expect(copyWithoutNames(two, join(dir, "x.tar"))).rejects.toThrow(/holds 2 images/);
    const plain = write("plain.tar", await tarOf({ "hello.txt": "hi" }));
    await expect(copyWithoutNames(plain, join(dir, "y.tar"))).rejects.toThrow(/neither manifest\.json/);
    const junk = write("junk.tar", Buffer.from("this is not a tar file at all, not even close".repeat(20)));
    await expect(copyWithoutNames(junk, join(dir, "z.tar"))).rejects.toThrow(/not an image archive/);
    const badJson = write("bad.tar", await tarOf({ "manifest.json": "{nope" }));
    await expect(copyWithoutNames(badJson, join(dir, "w.tar"))).rejects.toThrow(/not valid JSON/);
  });
});
