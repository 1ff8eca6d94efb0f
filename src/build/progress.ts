/**
 * Reads the JSON progress stream of a Docker-compatible build or pull. Podman answers HTTP 200 even
 * when the build fails, so the error is only found in the stream.
 *
 * Read here rather than with docker-modem's followProgress, which keeps every event in memory until the end
 * and parses without a bound: a RUN step printing 700 MB without a newline must cost the server a few MiB.
 */
import { StringDecoder } from "node:string_decoder";
import type Docker from "dockerode";
import { Hop3Error } from "../util/errors.js";
import { LineBuffer, MAX_LINE } from "../util/line-splitter.js";

interface ProgressEvent {
  stream?: string;
  status?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/** Longest JSON event accepted from Podman; longer ones are skipped (they only ever carry output text). */
export const MAX_EVENT = 4 * 1024 * 1024;

export function followProgress(
  _docker: Docker,
  stream: NodeJS.ReadableStream,
  emit: (line: string) => void,
  what: string,
): Promise<{ imageId?: string }> {
  return new Promise((resolve, reject) => {
    let imageId: string | undefined;
    let failure: string | undefined;
    let skipped = 0;
    let done = false;
    const decoder = new StringDecoder("utf8");
    // JSON events, one per line: an oversized one is dropped whole (its end is marked by the truncation)
    const events = new LineBuffer(MAX_EVENT);
    // the app's output inside the events, cut to MAX_LINE per line
    const lines = new LineBuffer(MAX_LINE);
    const emitLines = (ls: string[]) => {
      for (const l of ls) if (l.trim()) emit(l.replace(/\r/g, "").trimEnd());
    };
    const onEvent = (raw: string) => {
      if (!raw.trim()) return;
      let ev: ProgressEvent;
      try {
        ev = JSON.parse(raw) as ProgressEvent;
      } catch {
        skipped++;
        return;
      }
      if (ev.error || ev.errorDetail) {
        failure = String(ev.errorDetail?.message ?? ev.error ?? "unknown error")
          .trim()
          .slice(0, MAX_LINE);
        emit(failure);
        return;
      }
      if (ev.aux?.ID) imageId = ev.aux.ID;
      if (typeof ev.stream === "string") emitLines(lines.push(ev.stream));
      else if (ev.status && !ev.progress) emit(String(ev.status).slice(0, MAX_LINE));
    };
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      for (const e of events.push(decoder.end())) onEvent(e);
      for (const e of events.end()) onEvent(e);
      emitLines(lines.end());
      if (skipped > 0) emit(`(Hop3 skipped ${skipped} unreadable or oversized progress events)`);
      if (err) return reject(new Hop3Error(`${what} failed: ${err.message}`, "deployFailed"));
      if (failure) return reject(new Hop3Error(`${what} failed: ${failure}`, "deployFailed"));
      resolve(imageId ? { imageId } : {});
    };
    stream.on("data", (chunk: Buffer | string) => {
      if (done) return;
      try {
        const text = typeof chunk === "string" ? chunk : decoder.write(chunk);
        for (const e of events.push(text)) onEvent(e);
      } catch (err) {
        // nothing thrown here may escape into the event loop (it would kill the server)
        finish(err as Error);
      }
    });
    stream.on("error", (err: Error) => finish(err));
    stream.on("end", () => finish());
    stream.on("close", () => finish());
  });
}
