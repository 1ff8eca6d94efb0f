import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import tarStream from "tar-stream";
import { describe, expect, it } from "vitest";
import { packStream, planPack } from "../../../src/cli/pack.js";
import { useTempDirs } from "./temp-dir.js";

const tempDir = useTempDirs();

interface TarEntry {
  name: string;
  type: string;
  linkname?: string;
  body: string;
  uid?: number;
}

async function listTar(stream: Readable): Promise<TarEntry[]> {
  const extract = tarStream.extract();
  const entries: TarEntry[] = [];
  stream.pipe(createGunzip()).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const h = entry.header;
    entries.push({
      name: h.name,
      type: h.type ?? "file",
      linkname: h.linkname ?? undefined,
      body: Buffer.concat(chunks).toString(),
      uid: h.uid,
    });
  }
  return entries;
}

function write(root: string, path: string, content = path) {
  mkdirSync(join(root, path, ".."), { recursive: true });
  writeFileSync(join(root, path), content);
}

function sampleTree(): string {
  const root = tempDir();
  write(root, ".git/HEAD", "ref: refs/heads/main");
  write(root, ".git/config");
  write(root, ".gitignore", "node_modules/\n*.log\n/build\n!keep.log\n");
  write(root, ".hop3ignore", "secrets.txt\ndocs/\n");
  write(root, ".env.example", "A=1");
  write(root, "Containerfile", "FROM scratch");
  write(root, "Procfile", "web: node server.js");
  write(root, "server.js", "console.log(1)");
  write(root, "debug.log");
  write(root, "keep.log");
  write(root, "secrets.txt");
  write(root, "node_modules/x/index.js");
  write(root, "build/out.js");
  write(root, "src/build/ok.js", "not root build");
  write(root, "docs/readme.md");
  write(root, "src/.gitignore", "generated/\n!important.log\n");
  write(root, "src/generated/file.js");
  write(root, "src/important.log", "re-included by the nested file");
  write(root, "src/app.js");
  write(root, "vendor/lib/.git", "gitdir: elsewhere");
  write(root, "vendor/lib/lib.js");
  symlinkSync("server.js", join(root, "link-inside"));
  symlinkSync("/etc", join(root, "link-outside"));
  return root;
}

describe("planPack", () => {
  it("honours .gitignore (nested too), .hop3ignore and always drops .git", () => {
    const plan = planPack(sampleTree());
    const paths = plan.entries.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        ".gitignore",
        ".hop3ignore",
        ".env.example",
        "Containerfile",
        "Procfile",
        "server.js",
        "keep.log",
        "src/app.js",
        "src/build/ok.js",
        "src/important.log",
        "vendor/lib/lib.js",
        "link-inside",
        "link-outside",
      ]),
    );
    for (const gone of [
      ".git",
      ".git/HEAD",
      "debug.log",
      "secrets.txt",
      "node_modules",
      "node_modules/x/index.js",
      "build",
      "build/out.js",
      "docs/readme.md",
      "src/generated/file.js",
      "vendor/lib/.git",
    ]) {
      expect(paths, gone).not.toContain(gone);
    }
    expect(plan.entries.find((e) => e.path === "link-outside")?.type).toBe("symlink");
    expect(plan.files).toBe(plan.entries.filter((e) => e.type !== "directory").length);
    expect(plan.entries.find((e) => e.path === "Containerfile")?.size).toBe("FROM scratch".length);
    const fileBytes = plan.entries.filter((e) => e.type === "file").reduce((n, e) => n + e.size, 0);
    expect(plan.bytes).toBe(fileBytes);
    expect(plan.bytes).toBeGreaterThan(0);
  });

  it("adds hop3.toml [build].ignore patterns", () => {
    const root = tempDir();
    write(root, "hop3.toml", '[build]\nignore = ["*.tmp", "fixtures/"]\n');
    write(root, "a.tmp");
    write(root, "fixtures/big.bin");
    write(root, "main.py");
    const paths = planPack(root).entries.map((e) => e.path);
    expect(paths.sort()).toEqual(["hop3.toml", "main.py"]);
  });
});

describe("packStream", () => {
  it("writes exactly the planned entries, symlinks as symlinks, owners reset", async () => {
    const root = sampleTree();
    const plan = planPack(root);
    const entries = await listTar(packStream(plan));
    const names = entries.map((e) => e.name.replace(/\/$/, ""));
    expect(names.sort()).toEqual(plan.entries.map((e) => e.path).sort());
    expect(names.some((n) => n === ".git" || n.startsWith(".git/") || n.endsWith("/.git"))).toBe(false);
    expect(names).not.toContain("node_modules/x/index.js");
    expect(entries.find((e) => e.name === "Containerfile")?.body).toBe("FROM scratch");
    const outside = entries.find((e) => e.name === "link-outside");
    expect(outside).toMatchObject({ type: "symlink", linkname: "/etc", body: "" });
    expect(entries.find((e) => e.name === "link-inside")).toMatchObject({
      type: "symlink",
      linkname: "server.js",
    });
    expect(entries.every((e) => e.uid === 0)).toBe(true);
  });
});
