/**
 * Long operations answer a stream of NDJSON events (docs/api.md). The operation runs to its end even
 * when the client goes away: a deploy must never be left half-done because a terminal closed.
 */
import type { Progress } from "../deploy/platform.js";
import { toApiError } from "../util/errors.js";

export function ndjsonOperation(
  run: (progress: Progress) => Promise<unknown>,
  onError?: (err: unknown) => void,
): Response {
  const encoder = new TextEncoder();
  let closed = false;
  let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined;
  const send = (obj: unknown) => {
    if (closed || !controllerRef) return;
    try {
      controllerRef.enqueue(encoder.encode(`${JSON.stringify(obj)}\n`));
    } catch {
      closed = true; // client gone; keep working
    }
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controllerRef = controller;
      const progress: Progress = {
        step: (message) => send({ event: "step", message }),
        log: (line) => send({ event: "log", line }),
      };
      run(progress)
        .then((result) => send({ event: "done", ok: true, result: result ?? {} }))
        .catch((err) => {
          onError?.(err);
          send({ event: "done", ok: false, error: toApiError(err).body.error });
        })
        .finally(() => {
          if (closed) return;
          closed = true;
          try {
            controller.close();
          } catch {
            // already closed by the client
          }
        });
    },
    cancel() {
      closed = true;
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "application/x-ndjson",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
