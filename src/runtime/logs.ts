/**
 * `hop logs`: the merged, time-ordered output of an app's instances, each line prefixed `web.1 |`.
 * Podman keeps the logs (k8s-file or journald); we read them through the API with timestamps.
 */
import type { Readable, Writable } from "node:stream";
import type Docker from "dockerode";
import { lineSplitter } from "../util/line-splitter.js";
import { demuxPayload, listInstances, listOneOffs } from "./containers.js";

export interface LogLine {
  ts: string;
  source: string;
  text: string;
}

/** Splits one `TIMESTAMP text` line as Docker-compatible logs give it with timestamps=true. */
export function parseTimestamped(line: string, source: string): LogLine {
  const sp = line.indexOf(" ");
  const ts = sp > 0 ? line.slice(0, sp) : "";
  if (sp > 0 && /^\d{4}-\d{2}-\d{2}T/.test(ts)) return { ts, source, text: line.slice(sp + 1) };
  return { ts: "", source, text: line };
}

export const formatLogLine = (l: LogLine) => `${l.ts} ${l.source} | ${l.text}`;

export function mergeByTime(lines: LogLine[]): LogLine[] {
  // stable: lines of one instance keep their order when timestamps tie
  return lines
    .map((l, i) => ({ l, i }))
    .sort((a, b) => a.l.ts.localeCompare(b.l.ts) || a.i - b.i)
    .map((x) => x.l);
}

/** `-p cron` selects every `cron.NAME`, `-p cron.backup` one job, `-p web` the web instances. */
export function sourceSelected(source: string, process: string | undefined): boolean {
  if (!process) return true;
  return source === process || source.split(".")[0] === process;
}

export interface LogsQuery {
  app: string;
  process?: string;
  lines: number;
  follow: boolean;
}

const SLICE = 64 * 1024;

/** Pauses every source until `out` has drained what it holds (one wait, however many writes said "full"). */
export function pauseUntilDrained(out: Writable, sources: NodeJS.ReadableStream[]): void {
  const waiting = out as Writable & { hop3Paused?: boolean };
  if (waiting.hop3Paused) return;
  waiting.hop3Paused = true;
  for (const s of sources) s.pause();
  out.once("drain", () => {
    waiting.hop3Paused = false;
    for (const s of sources) s.resume();
  });
}

/**
 * A web stream that reads `src` only when the HTTP response asks for more (pull), so that a client that
 * stops reading stops the producer too; `onCancel` runs when the client goes away.
 */
export function pullStream(src: Readable, onCancel: () => void): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      return new Promise<void>((resolve) => {
        const attempt = () => {
          src.off("readable", attempt);
          src.off("end", attempt);
          const chunk = src.read() as Buffer | string | null;
          if (chunk !== null) {
            controller.enqueue(
              typeof chunk === "string" ? new TextEncoder().encode(chunk) : new Uint8Array(chunk),
            );
            return resolve();
          }
          if (src.readableEnded || src.destroyed) {
            controller.close();
            return resolve();
          }
          src.once("readable", attempt);
          src.once("end", attempt);
        };
        attempt();
      });
    },
    cancel() {
      onCancel();
      src.destroy();
    },
  });
}

/** Writes the app's logs to `out`; with follow, keeps writing until `signal` aborts. */
export async function streamAppLogs(
  docker: Docker,
  q: LogsQuery,
  out: Writable,
  signal: AbortSignal,
): Promise<void> {
  // process instances, plus the one-offs kept for their output (cron runs, detached `hop run`)
  const instances = [
    ...(await listInstances(docker, q.app)).map((i) => ({ id: i.id, source: `${i.process}.${i.instance}` })),
    ...(await listOneOffs(docker, q.app))
      .filter((c) => c.role === "cron" || c.role === "run")
      .map((c) => ({ id: c.id, source: c.source })),
  ].filter((i) => sourceSelected(i.source, q.process));
  const collected: LogLine[] = [];
  const streams: NodeJS.ReadableStream[] = [];
  await Promise.all(
    instances.map(async (inst) => {
      const c = docker.getContainer(inst.id);
      const buf = (await c
        .logs({ stdout: true, stderr: true, timestamps: true, tail: q.lines, follow: false })
        .catch(() => Buffer.alloc(0))) as unknown as Buffer;
      const sink = lineSplitter((l) => collected.push(parseTimestamped(l, inst.source)));
      // in slices: a huge log (one line of 700 MB) must never become one string
      const payload = demuxPayload(buf);
      for (let off = 0; off < payload.length; off += SLICE) sink.write(payload.subarray(off, off + SLICE));
      sink.end();
    }),
  );
  const merged = mergeByTime(collected);
  for (const l of merged.slice(-q.lines)) out.write(`${formatLogLine(l)}\n`);
  if (!q.follow) return;
  const since = Math.floor(Date.now() / 1000);
  await Promise.all(
    instances.map(async (inst) => {
      const stream = (await docker.getContainer(inst.id).logs({
        stdout: true,
        stderr: true,
        timestamps: true,
        follow: true,
        since,
      })) as NodeJS.ReadableStream;
      streams.push(stream);
      const sink = lineSplitter((l) => {
        // backpressure: a client that reads slowly pauses Podman's streams instead of growing our memory
        if (!out.write(`${formatLogLine(parseTimestamped(l, inst.source))}\n`))
          pauseUntilDrained(out, streams);
      });
      stream.on("error", () => {}); // a container removed while followed ends its stream, nothing more
      docker.modem.demuxStream(stream, sink, sink);
    }),
  );
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
  for (const s of streams) (s as unknown as { destroy?: () => void }).destroy?.();
}
