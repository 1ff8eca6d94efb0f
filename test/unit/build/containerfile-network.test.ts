import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tarStream from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { packContext } from "../../../src/build/containerfile-builder.js";
import { CA_SECRET_PATH, containerfileBuildOptions } from "../../../src/build/containerfile-network.js";

describe("containerfileBuildOptions", () => {
  it("passes nothing when the operator configured no CA, proxy or index", () => {
    expect(containerfileBuildOptions({}, { A: "1" }, "t")).toEqual({
      buildargs: { A: "1" },
      secrets: [],
      contextFiles: {},
    });
  });

  it("gives the CA as a build secret whose file is added to the context, and paths (not certificates) as args", () => {
    const o = containerfileBuildOptions({ caFile: "/etc/hop3/corp-ca.pem" }, {}, "abc123");
    expect(o.secrets).toEqual(["id=hop3-ca,src=.hop3-secret-abc123"]);
    expect(o.contextFiles).toEqual({ ".hop3-secret-abc123": "/etc/hop3/corp-ca.pem" });
    expect(o.buildargs).toEqual({ HOP3_BUILD_CA: CA_SECRET_PATH, NODE_EXTRA_CA_CERTS: CA_SECRET_PATH });
    expect(CA_SECRET_PATH).toBe("/run/secrets/hop3-ca");
    // no build argument carries the host path or the bundle itself
    expect(JSON.stringify(o.buildargs)).not.toContain("corp-ca.pem");
  });

  it("names the secret's context file at random per build", () => {
    const a = containerfileBuildOptions({ caFile: "/ca.pem" }, {});
    const b = containerfileBuildOptions({ caFile: "/ca.pem" }, {});
    expect(Object.keys(a.contextFiles)[0]).toMatch(/^\.hop3-secret-[0-9a-f]{24}$/);
    expect(Object.keys(a.contextFiles)[0]).not.toBe(Object.keys(b.contextFiles)[0]);
  });

  it("passes proxies in both cases and the Python index, and the app's own arguments win", () => {
    const o = containerfileBuildOptions(
      {
        httpProxy: "http://proxy:3128",
        httpsProxy: "http://user:pw@proxy:3128",
        noProxy: "localhost,.internal",
        pipIndexUrl: "https://pypi.internal/simple",
      },
      { NO_PROXY: "mine", EXTRA: "x" },
      "t",
    );
    expect(o.buildargs).toEqual({
      HTTP_PROXY: "http://proxy:3128",
      http_proxy: "http://proxy:3128",
      HTTPS_PROXY: "http://user:pw@proxy:3128",
      https_proxy: "http://user:pw@proxy:3128",
      NO_PROXY: "mine",
      no_proxy: "localhost,.internal",
      PIP_INDEX_URL: "https://pypi.internal/simple",
      EXTRA: "x",
    });
    expect(o.secrets).toEqual([]);
  });
});

describe("packContext with the build's secret files", () => {
  const dir = mkdtempSync(join(tmpdir(), "hop3-ctx-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function entries(
    stream: NodeJS.ReadableStream,
  ): Promise<Record<string, { mode: number; body: string }>> {
    const out: Record<string, { mode: number; body: string }> = {};
    const extract = tarStream.extract();
    const done = new Promise<void>((resolve, reject) => {
      extract.on("entry", (header, body, next) => {
        const chunks: Buffer[] = [];
        body.on("data", (c) => chunks.push(c as Buffer));
        body.on("end", () => {
          if (header.type === "file")
            out[header.name] = { mode: header.mode ?? 0, body: Buffer.concat(chunks).toString() };
          next();
        });
      });
      extract.on("finish", resolve);
      extract.on("error", reject);
    });
    stream.pipe(extract as unknown as NodeJS.WritableStream);
    await done;
    return out;
  }

  it("appends them at the root, owner-only, after the tree with its ignore rules applied", async () => {
    writeFileSync(join(dir, "Containerfile"), "FROM scratch\n");
    writeFileSync(join(dir, ".containerignore"), "secret.env\n");
    writeFileSync(join(dir, "secret.env"), "X=1\n");
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src", "app.js"), "ok\n");
    const got = await entries(packContext(dir, "Containerfile", { ".hop3-secret-t": Buffer.from("PEM") }));
    expect(Object.keys(got).sort()).toEqual([
      ".containerignore",
      ".hop3-secret-t",
      "Containerfile",
      "src/app.js",
    ]);
    expect(got[".hop3-secret-t"]).toEqual({ mode: 0o600, body: "PEM" });
  });

  it("packs the tree alone when there is nothing to add", async () => {
    const got = await entries(packContext(dir, "Containerfile"));
    expect(Object.keys(got).sort()).toEqual([".containerignore", "Containerfile", "src/app.js"]);
  });
});
