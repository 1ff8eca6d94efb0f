import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { demuxBuffer } from "../../../src/runtime/containers.js";
import {
  formatLogLine,
  type LogLine,
  mergeByTime,
  parseTimestamped,
  pauseUntilDrained,
  pullStream,
} from "../../../src/runtime/logs.js";
import { lineSplitter } from "../../../src/util/line-splitter.js";

/** One frame of Docker's multiplexed stream: [stream, 0, 0, 0, size32be] then the payload. */
function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe("parseTimestamped", () => {
  it("splits an RFC 3339 timestamp from the text, keeping later spaces", () => {
    expect(parseTimestamped("2024-05-01T10:00:00.123456789Z GET /  200", "web.1")).toEqual({
      ts: "2024-05-01T10:00:00.123456789Z",
      source: "web.1",
      text: "GET /  200",
    });
  });

  it("keeps an empty text after the timestamp", () => {
    expect(parseTimestamped("2024-05-01T10:00:00Z ", "web.1")).toEqual({
      ts: "2024-05-01T10:00:00Z",
      source: "web.1",
      text: "",
    });
  });

  it("leaves lines without a timestamp whole, with an empty ts", () => {
    expect(parseTimestamped("hello world", "worker.2")).toEqual({
      ts: "",
      source: "worker.2",
      text: "hello world",
    });
    expect(parseTimestamped(" leading space", "w")).toEqual({ ts: "", source: "w", text: " leading space" });
    expect(parseTimestamped("", "w")).toEqual({ ts: "", source: "w", text: "" });
  });
});

describe("formatLogLine", () => {
  it("prints timestamp, source and text", () => {
    expect(formatLogLine({ ts: "2024-05-01T10:00:00Z", source: "web.1", text: "up" })).toBe(
      "2024-05-01T10:00:00Z web.1 | up",
    );
  });
});

describe("mergeByTime", () => {
  const l = (ts: string, source: string, text: string): LogLine => ({ ts, source, text });

  it("interleaves instances by timestamp", () => {
    const merged = mergeByTime([
      l("2024-05-01T10:00:00.000000003Z", "web.1", "c"),
      l("2024-05-01T10:00:00.000000001Z", "web.1", "a"),
      l("2024-05-01T10:00:00.000000002Z", "web.2", "b"),
      l("2024-05-01T09:59:59.999999999Z", "worker.1", "first"),
    ]);
    expect(merged.map((x) => x.text)).toEqual(["first", "a", "b", "c"]);
  });

  it("keeps input order on equal timestamps and puts untimestamped lines first", () => {
    const ts = "2024-05-01T10:00:00.000000000Z";
    const merged = mergeByTime([
      l(ts, "web.1", "1"),
      l(ts, "web.2", "2"),
      l("", "web.1", "bare"),
      l(ts, "web.1", "3"),
    ]);
    expect(merged.map((x) => x.text)).toEqual(["bare", "1", "2", "3"]);
  });

  it("does not modify its input", () => {
    const input = [l("2024-05-01T10:00:01Z", "a", "2"), l("2024-05-01T10:00:00Z", "a", "1")];
    mergeByTime(input);
    expect(input.map((x) => x.text)).toEqual(["2", "1"]);
  });
});

describe("demuxBuffer", () => {
  it("reassembles stdout and stderr frames into lines, a line split across frames included", () => {
    const buf = Buffer.concat([
      frame(1, "2024-05-01T10:00:00Z hello\n2024-05-01T10:00:01Z par"),
      frame(2, "tial line\n"),
      frame(2, "oops on stderr\n"),
    ]);
    expect(demuxBuffer(buf)).toEqual([
      "2024-05-01T10:00:00Z hello",
      "2024-05-01T10:00:01Z partial line",
      "oops on stderr",
    ]);
  });

  it("handles multi-byte UTF-8 and drops empty lines", () => {
    expect(demuxBuffer(Buffer.concat([frame(1, "héllo ✓\n\n"), frame(1, "\nbye\n")]))).toEqual([
      "héllo ✓",
      "bye",
    ]);
  });

  it("reads frames larger than 255 bytes (size is 32-bit big-endian)", () => {
    const long = "x".repeat(60_000);
    expect(demuxBuffer(frame(1, `${long}\n`))).toEqual([long]);
  });

  it("keeps the last MiB of a huge output, each line cut at MAX_LINE with the marker", () => {
    const huge = Buffer.alloc(3 * 1024 * 1024, "y");
    const lines = demuxBuffer(frame(1, `${huge.toString()}\nend\n`));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^y{65536} \[\.\.\. line truncated by Hop3: \d+ more bytes\]$/);
    expect(lines[1]).toBe("end");
  });

  it("keeps what it can of a truncated last frame", () => {
    const full = frame(1, "complete\n");
    const cut = frame(1, "cut short\n").subarray(0, 8 + 3);
    expect(demuxBuffer(Buffer.concat([full, cut]))).toEqual(["complete", "cut"]);
  });

  it("treats an unframed (TTY) buffer as plain text", () => {
    expect(demuxBuffer(Buffer.from("line one\nline two\n"))).toEqual(["line one", "line two"]);
    expect(demuxBuffer(Buffer.alloc(0))).toEqual([]);
  });
});

describe("follow backpressure (pauseUntilDrained + pullStream)", () => {
  it("a reader that never reads pauses the producer: memory stays bounded", async () => {
    // a fast producer standing for Podman's log stream of an app printing as fast as it can
    let produced = 0;
    const line = Buffer.from(`${"y".repeat(200)}\n`);
    const podman = new Readable({
      read() {
        for (let i = 0; i < 64; i++) {
          produced += line.length;
          this.push(line);
        }
      },
    });
    const out = new PassThrough();
    const sink = lineSplitter((l) => {
      if (!out.write(`${l}\n`)) pauseUntilDrained(out, [podman]);
    });
    podman.pipe(sink);
    const body = pullStream(out, () => podman.destroy());
    const reader = body.getReader();
    const first = await reader.read(); // the client reads once, then falls asleep
    expect(first.done).toBe(false);
    const rssBefore = process.memoryUsage().rss;
    await new Promise((r) => setTimeout(r, 1500));
    const rssAfter = process.memoryUsage().rss;
    // without backpressure this loop produces hundreds of MB in 1.5 s; with it, a few buffers' worth
    expect(produced).toBeLessThan(4 * 1024 * 1024);
    expect(rssAfter - rssBefore).toBeLessThan(64 * 1024 * 1024);
    // the client reads again: the producer resumes
    const before = produced;
    for (let i = 0; i < 200; i++) await reader.read();
    expect(produced).toBeGreaterThan(before);
    await reader.cancel();
    expect(podman.destroyed).toBe(true);
  });

  it("pullStream closes when its source ends", async () => {
    const src = Readable.from([Buffer.from("a\n"), Buffer.from("b\n")]);
    const text = await new Response(pullStream(src, () => {})).text();
    expect(text).toBe("a\nb\n");
  });
});
