/** Reading what a build wrote without following its links: real files, real symlinks, a real FIFO. */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ContainedDir } from "../../../src/build/cnb/contained-files.js";

function tree(): { root: string; secret: string } {
  const base = mkdtempSync(join(tmpdir(), "hop3-contained-"));
  const secret = join(base, "secret.key");
  writeFileSync(secret, "TOP-SECRET");
  const root = join(base, "layers");
  mkdirSync(join(root, "bp/node/env"), { recursive: true });
  writeFileSync(join(root, "bp/node.toml"), "[types]\nbuild = true\n");
  writeFileSync(join(root, "bp/node/env/PATH.prepend"), "/x");
  return { root, secret };
}

describe("ContainedDir", () => {
  it("reads regular files and lists directories; absent is undefined", () => {
    const { root } = tree();
    const d = new ContainedDir(root, "buildpack bp");
    expect(d.readText("bp/node.toml")).toBe("[types]\nbuild = true\n");
    expect(d.list("bp/node/env")?.map((e) => e.name)).toEqual(["PATH.prepend"]);
    expect(d.readText("bp/missing.toml")).toBeUndefined();
    expect(d.list("bp/node/env.build")).toBeUndefined();
    expect(d.readText("bp/node.toml/x")).toBeUndefined();
  });

  it("refuses a file that is a link, even to a file inside the root", () => {
    const { root, secret } = tree();
    symlinkSync(secret, join(root, "bp/node/env/TOKEN"));
    symlinkSync("PATH.prepend", join(root, "bp/node/env/SAME"));
    const d = new ContainedDir(root, "buildpack bp");
    expect(() => d.readText("bp/node/env/TOKEN")).toThrow(/bp\/node\/env\/TOKEN is a symbolic link/);
    expect(() => d.readText("bp/node/env/SAME")).toThrow(/is a symbolic link/);
  });

  it("refuses a path that goes through a linked directory, for reading and for listing", () => {
    const { root, secret } = tree();
    const outside = join(secret, "..");
    symlinkSync(outside, join(root, "bp/evil"));
    mkdirSync(join(root, "bp/other"));
    symlinkSync(outside, join(root, "bp/other/env"));
    const d = new ContainedDir(root, "buildpack bp");
    expect(() => d.readText("bp/evil/secret.key")).toThrow(/leads through a symbolic link/);
    expect(() => d.list("bp/evil")).toThrow(/symbolic link/);
    expect(() => d.list("bp/other/env")).toThrow(/symbolic link/);
  });

  it("refuses FIFOs and devices without blocking, and files over the bound", () => {
    const { root } = tree();
    execFileSync("mkfifo", [join(root, "bp/fifo.toml")]);
    writeFileSync(join(root, "bp/big.toml"), "x".repeat(2048));
    const d = new ContainedDir(root, "buildpack bp");
    expect(() => d.readText("bp/fifo.toml")).toThrow(/not a regular file/);
    expect(() => d.readText("bp/big.toml", 1024)).toThrow(/larger than 1024 bytes/);
    expect(() => d.readText("../secret.key")).toThrow(/not a relative path inside the root/);
  });
});
