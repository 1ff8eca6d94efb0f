/**
 * Long operations answer a stream of NDJSON events (docs/api.md). The operation runs to its end even
 * when the client goes away: a deploy must never be left half-done because a terminal closed.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Progress } from "../deploy/platform.js";
import type { StepTimings } from "../deploy/timings.js";
import { Hop3Error, toApiError } from "../util/errors.js";

/**
 * Who is asking, for the server's log: set around each API request (api.ts), so that a streamed operation
 * that fails after its response started is still logged with its request, its app and its last step.
 */
export interface OperationContext {
  log: (line: string) => void;
  what: string;
  app?: string;
}
export const operationContext = new AsyncLocalStorage<OperationContext>();

/** The server log line for a failed operation: internal errors with their stack, expected ones in a line. */
export function failureLine(
  ctx: Omit<OperationContext, "log">,
  step: string | undefined,
  err: unknown,
): string {
  const internal = !(err instanceof Hop3Error) || err.kind === "error";
  const detail =
    internal && err instanceof Error ? (err.stack ?? err.message) : ((err as Error)?.message ?? String(err));
  return `${ctx.what}${ctx.app ? ` (app ${ctx.app})` : ""} failed at step ${JSON.stringify(step ?? "(before the first step)")}: ${detail}`;
}

/** Bytes of events kept for a client that reads slowly; beyond, log lines are dropped (and counted). */
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/**
 * With `timings`, the operation's progress carries that recorder and the stream sends its figures as a
 * `timings` event just before `done`, whether the operation succeeded or failed.
 */
export function ndjsonOperation(
  run: (progress: Progress) => Promise<unknown>,
  onError?: (err: unknown) => void,
  timings?: StepTimings,
): Response {
  const encoder = new TextEncoder();
  const ctx = operationContext.getStore();
  let lastStep: string | undefined;
  let closed = false;
  let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined;
  let dropped = 0;
  const send = (obj: unknown, droppable = false) => {
    if (closed || !controllerRef) return;
    // the operation never waits for the client: a slow reader loses log lines (kept in the deploy log),
    // never the steps or the outcome, and the server's memory stays bounded
    const queued = MAX_QUEUED_BYTES - (controllerRef.desiredSize ?? 0);
    if (droppable && queued >= MAX_QUEUED_BYTES) {
      dropped++;
      return;
    }
    try {
      if (dropped > 0 && (!droppable || queued < MAX_QUEUED_BYTES / 2)) {
        const note = { event: "log", line: `(Hop3: ${dropped} lines not sent, the client read too slowly)` };
        dropped = 0;
        controllerRef.enqueue(encoder.encode(`${JSON.stringify(note)}\n`));
      }
      controllerRef.enqueue(encoder.encode(`${JSON.stringify(obj)}\n`));
    } catch {
      closed = true; // client gone; keep working
    }
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controllerRef = controller;
        const progress: Progress = {
          step: (message) => {
            lastStep = message;
            send({ event: "step", message });
          },
          log: (line) => send({ event: "log", line }, true),
          ...(timings ? { timings } : {}),
        };
        const sendTimings = () => {
          if (timings) send({ event: "timings", ...timings.snapshot() });
        };
        run(progress)
          .finally(sendTimings)
          .then((result) => send({ event: "done", ok: true, result: result ?? {} }))
          .catch((err) => {
            onError?.(err);
            try {
              ctx?.log(failureLine(ctx, lastStep, err));
            } catch {
              // a log that cannot be written must not keep the client from its answer
            }
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
    },
    new ByteLengthQueuingStrategy({ highWaterMark: MAX_QUEUED_BYTES }),
  );
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "application/x-ndjson",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
