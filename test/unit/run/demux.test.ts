import { describe, expect, it } from "vitest";
import { FrameDemuxer } from "../../../src/cli/stream-demux.js";
import { frame } from "../../../src/runtime/run-session.js";

function collect() {
  const out: { stream: string; text: string }[] = [];
  const demux = new FrameDemuxer((stream, data) => out.push({ stream, text: data.toString() }));
  return { out, demux };
}

describe("FrameDemuxer", () => {
  it("splits frames to stdout and stderr, in order", () => {
    const { out, demux } = collect();
    demux.push(Buffer.concat([frame(1, "out 1\n"), frame(2, "err\n"), frame(1, "out 2\n")]));
    expect(out).toEqual([
      { stream: "stdout", text: "out 1\n" },
      { stream: "stderr", text: "err\n" },
      { stream: "stdout", text: "out 2\n" },
    ]);
    expect(demux.buffered).toBe(0);
  });

  it("reassembles frames cut anywhere, even inside the header", () => {
    const all = Buffer.concat([frame(1, "hello "), frame(2, "world"), frame(1, Buffer.alloc(300, 97))]);
    for (const size of [1, 3, 7, 8, 9, 50]) {
      const { out, demux } = collect();
      for (let i = 0; i < all.length; i += size) demux.push(all.subarray(i, i + size));
      const stdout = out
        .filter((o) => o.stream === "stdout")
        .map((o) => o.text)
        .join("");
      const stderr = out
        .filter((o) => o.stream === "stderr")
        .map((o) => o.text)
        .join("");
      expect(stdout, `chunks of ${size}`).toBe(`hello ${"a".repeat(300)}`);
      expect(stderr).toBe("world");
      expect(demux.buffered).toBe(0);
    }
  });

  it("reports an incomplete frame at the end", () => {
    const { out, demux } = collect();
    demux.push(frame(1, "truncated").subarray(0, 12));
    expect(out).toEqual([]);
    expect(demux.buffered).toBe(12);
  });

  it("passes unframed output through as stdout instead of losing it", () => {
    const { out, demux } = collect();
    demux.push(Buffer.from("plain text, no frames\n"));
    demux.push(Buffer.from("more\n"));
    expect(out.map((o) => o.stream)).toEqual(["stdout", "stdout"]);
    expect(out.map((o) => o.text).join("")).toBe("plain text, no frames\nmore\n");
  });
});

describe("frame", () => {
  it("writes the 8-byte header Podman uses", () => {
    expect([...frame(2, "ab")]).toEqual([2, 0, 0, 0, 0, 0, 0, 2, 97, 98]);
  });
});
