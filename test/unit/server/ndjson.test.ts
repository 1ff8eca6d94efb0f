import { describe, expect, it } from "vitest";
import { MAX_QUEUED_BYTES, ndjsonOperation } from "../../../src/server/ndjson.js";
import { Hop3Error } from "../../../src/util/errors.js";

async function events(res: Response): Promise<unknown[]> {
  const text = await res.text();
  expect(text.endsWith("\n")).toBe(true);
  return text
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line));
}

describe("ndjsonOperation", () => {
  it("streams steps and logs in order, then done with the result", async () => {
    const res = ndjsonOperation(async (progress) => {
      progress.step("Building");
      progress.log("line 1");
      await new Promise((r) => setTimeout(r, 5));
      progress.log('line "2"\nwith newline');
      progress.step("Starting");
      return { release: 3, url: "http://a.localhost/" };
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-accel-buffering")).toBe("no");
    expect(await events(res)).toEqual([
      { event: "step", message: "Building" },
      { event: "log", line: "line 1" },
      { event: "log", line: 'line "2"\nwith newline' },
      { event: "step", message: "Starting" },
      { event: "done", ok: true, result: { release: 3, url: "http://a.localhost/" } },
    ]);
  });

  it("answers an empty result object when the operation returns nothing", async () => {
    expect(await events(ndjsonOperation(async () => undefined))).toEqual([
      { event: "done", ok: true, result: {} },
    ]);
  });

  it("ends with the kind, message and hint of a Hop3Error", async () => {
    const seen: unknown[] = [];
    const err = new Hop3Error("app shop is being deployed", "conflict", "wait for it to finish");
    const res = ndjsonOperation(
      async (progress) => {
        progress.step("Locking");
        throw err;
      },
      (e) => seen.push(e),
    );
    expect(await events(res)).toEqual([
      { event: "step", message: "Locking" },
      {
        event: "done",
        ok: false,
        error: { kind: "conflict", message: "app shop is being deployed", hint: "wait for it to finish" },
      },
    ]);
    expect(seen).toEqual([err]);
  });

  it("reports a deployFailed error without a hint key when there is none", async () => {
    const res = ndjsonOperation(async () => {
      throw new Hop3Error("health check failed", "deployFailed");
    });
    expect(await events(res)).toEqual([
      { event: "done", ok: false, error: { kind: "deployFailed", message: "health check failed" } },
    ]);
  });

  it("reports a plain Error as an internal error", async () => {
    const res = ndjsonOperation(async () => {
      throw new TypeError("cannot read properties of undefined");
    });
    expect(await events(res)).toEqual([
      {
        event: "done",
        ok: false,
        error: { kind: "error", message: "internal error: cannot read properties of undefined" },
      },
    ]);
  });

  it("keeps running to the end when the client goes away", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let finished = false;
    let logsAfterCancel = 0;
    const res = ndjsonOperation(async (progress) => {
      progress.step("Started");
      await gate;
      progress.log("nobody reads this");
      logsAfterCancel++;
      finished = true;
      return { ok: 1 };
    });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(JSON.parse(new TextDecoder().decode(first.value))).toEqual({ event: "step", message: "Started" });
    await reader.cancel();
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(finished).toBe(true);
    expect(logsAfterCancel).toBe(1);
  });

  it("keeps at most MAX_QUEUED_BYTES for a client that never reads, and never the steps or outcome", async () => {
    const line = "x".repeat(1000);
    const res = ndjsonOperation(async (progress) => {
      progress.step("Building");
      for (let i = 0; i < 50_000; i++) progress.log(line); // 50 MB of log for a reader that is asleep
      progress.step("Done building");
      return { n: 1 };
    });
    // the operation has run to its end above while nothing read: the queue held only what the bound allows
    await new Promise((r) => setTimeout(r, 20));
    const all = await events(res);
    const bytes = all.reduce<number>((n, e) => n + JSON.stringify(e).length + 1, 0);
    expect(bytes).toBeLessThan(MAX_QUEUED_BYTES + 10_000);
    expect(all[0]).toEqual({ event: "step", message: "Building" });
    expect(all).toContainEqual({ event: "step", message: "Done building" });
    expect(all.at(-1)).toEqual({ event: "done", ok: true, result: { n: 1 } });
    const note = all.find((e) =>
      /lines not sent, the client read too slowly/.test((e as { line?: string }).line ?? ""),
    );
    expect(note).toBeDefined();
  });
});
