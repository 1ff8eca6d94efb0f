import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { followProgress } from "../../../src/build/progress.js";
import { LineBuffer, lineSplitter, MAX_LINE, truncationMarker } from "../../../src/util/line-splitter.js";

describe("LineBuffer", () => {
  it("splits lines across chunks and drops CR before LF", () => {
    const b = new LineBuffer(100);
    expect(b.push("ab")).toEqual([]);
    expect(b.push("c\r\nd\ne")).toEqual(["abc", "d"]);
    expect(b.end()).toEqual(["e"]);
    expect(b.end()).toEqual([]);
  });

  it("cuts an over-long line at the bound and says how many bytes it dropped", () => {
    const b = new LineBuffer(10);
    expect(b.push("0123456789abc")).toEqual([]);
    expect(b.push("def\nnext\n")).toEqual([`0123456789${truncationMarker(6)}`, "next"]);
  });

  it("keeps a long line without a newline bounded, however much arrives", () => {
    const b = new LineBuffer(1000);
    const chunk = "a".repeat(1024 * 1024);
    for (let i = 0; i < 700; i++) b.push(chunk); // 700 MiB in total, never held
    const [line] = b.end();
    expect(line).toBe(`${"a".repeat(1000)}${truncationMarker(700 * 1024 * 1024 - 1000)}`);
  });
});

describe("lineSplitter", () => {
  it("keeps a multi-byte character split across two writes", () => {
    const lines: string[] = [];
    const s = lineSplitter((l) => lines.push(l));
    const euro = Buffer.from("€\n");
    s.write(euro.subarray(0, 1));
    s.write(euro.subarray(1));
    s.end();
    expect(lines).toEqual(["€"]);
  });

  it("delivers 200 MiB of output without a newline as one truncated line", async () => {
    const lines: string[] = [];
    const s = lineSplitter((l) => lines.push(l));
    const chunk = Buffer.alloc(1024 * 1024, "a");
    for (let i = 0; i < 200; i++) {
      if (!s.write(chunk)) await new Promise((r) => s.once("drain", r));
    }
    s.end();
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(MAX_LINE + 100);
    expect(lines[0]).toMatch(/line truncated by Hop3: \d+ more bytes\]$/);
  }, 30_000);
});

describe("followProgress", () => {
  const docker = {} as Docker;

  it("turns a build's 700 MB line into one truncated line, and finds the image id", async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    const done = followProgress(docker, stream, (l) => lines.push(l), "build");
    stream.write(`${JSON.stringify({ stream: "STEP 1/2: RUN big\n" })}\n`);
    const event = `${JSON.stringify({ stream: "a".repeat(64 * 1024) })}\n`;
    for (let i = 0; i < 11_000; i++) stream.write(event); // about 700 MB
    stream.write(`${JSON.stringify({ stream: "\nSTEP 2/2\n" })}\n`);
    stream.end(`${JSON.stringify({ aux: { ID: "sha256:abc" } })}\n`);
    await expect(done).resolves.toEqual({ imageId: "sha256:abc" });
    expect(lines[0]).toBe("STEP 1/2: RUN big");
    expect(lines[1]).toMatch(/^a{65536} \[\.\.\. line truncated by Hop3: \d+ more bytes\]$/);
    expect(lines[2]).toBe("STEP 2/2");
  }, 60_000);

  it("rejects with the error the stream carries, and on garbage never throws out of the stream", async () => {
    const stream = new PassThrough();
    const done = followProgress(docker, stream, () => {}, "build of X");
    stream.write("not json\n");
    stream.end(`${JSON.stringify({ error: "boom", errorDetail: { message: "boom" } })}\n`);
    await expect(done).rejects.toThrow("build of X failed: boom");
  });

  it("rejects when the connection breaks", async () => {
    const stream = new PassThrough();
    const done = followProgress(docker, stream, () => {}, "pull");
    stream.destroy(new Error("socket hang up"));
    await expect(done).rejects.toThrow("pull failed: socket hang up");
  });
});
