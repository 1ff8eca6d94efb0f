/**
 * How the events of a long operation (docs/api.md) look in a terminal, Heroku style:
 * `-----> step`, indented log lines, `=====> done` or `!      error` on stderr.
 */
import type { ApiEvent, RequestOptions } from "../client/api-client.js";
import { readTimingsEvent, timingsTable } from "../deploy/timings.js";
import { ExitCode, type ExitCodeName, Hop3Error } from "../util/errors.js";
import type { CliContext } from "./context.js";
import { type Painter, painter } from "./output.js";

export interface RenderedLine {
  stream: "stdout" | "stderr";
  text: string;
}

export const LOG_INDENT = "       ";
export const ERROR_PREFIX = "!      ";

/** Describes a successful result in one line (without the `=====> `). */
export type SuccessLine = (result: Record<string, unknown>) => string;

export function renderEvent(
  ev: ApiEvent,
  success: SuccessLine,
  paint: Painter = painter(false),
): RenderedLine[] {
  switch (ev.event) {
    case "step":
      return [{ stream: "stdout", text: paint.bold(`-----> ${ev.message}`) }];
    case "log":
      return String(ev.line ?? "")
        .replace(/\r?\n$/, "")
        .split(/\r?\n/)
        .map((line) => ({ stream: "stdout" as const, text: `${LOG_INDENT}${line}`.trimEnd() }));
    case "done":
      if (ev.ok) return [{ stream: "stdout", text: paint.green(`=====> ${success(ev.result ?? {})}`) }];
      return [
        {
          stream: "stderr",
          text: paint.red(`${ERROR_PREFIX}${ev.error?.message ?? "the operation failed"}`),
        },
        ...(ev.error?.hint ? [{ stream: "stderr" as const, text: `${ERROR_PREFIX}${ev.error.hint}` }] : []),
      ];
    default:
      // Unknown event kinds from a newer server are not worth failing for.
      return [];
  }
}

/** Exit code for an error kind; a kind this client does not know is a plain error. */
export function exitCodeForKind(kind: string | undefined): number {
  return kind && kind in ExitCode ? ExitCode[kind as ExitCodeName] : ExitCode.error;
}

/**
 * Runs a streamed operation, printing its events (or, with --json, only the final result or error object),
 * and returns the exit code its `done` event calls for. A deploy's `timings` event goes into the --json
 * object, and is printed as a table at the end with `showTimings` (hop deploy --timings).
 */
export async function runOperation(
  ctx: CliContext,
  path: string,
  opts: RequestOptions,
  success: SuccessLine,
  showTimings = false,
): Promise<number> {
  let final: Extract<ApiEvent, { event: "done" }> | undefined;
  let timings: ReturnType<typeof readTimingsEvent>;
  try {
    for await (const ev of ctx.client().stream(path, opts)) {
      if (ev.event === "done") final = ev;
      if (ev.event === "timings") timings = readTimingsEvent(ev);
      if (ctx.json) continue;
      for (const line of renderEvent(ev, success, ev.event === "done" && !ev.ok ? ctx.paintErr : ctx.paint)) {
        if (line.stream === "stdout") ctx.out(line.text);
        else ctx.err(line.text);
      }
    }
  } catch (err) {
    if (err instanceof SyntaxError) {
      throw new Hop3Error(`the server sent an event that is not JSON: ${err.message}`, "network");
    }
    throw err;
  }
  if (!final) throw new Hop3Error("the server closed the stream before the operation finished", "network");
  if (showTimings && timings && !ctx.json) {
    ctx.out(ctx.paint.bold("-----> Timings"));
    for (const l of timingsTable(timings)) ctx.out(`${LOG_INDENT}${l}`);
  }
  const withTimings = timings ? { timings } : {};
  if (final.ok) {
    if (ctx.json) ctx.printJson({ ...(final.result ?? {}), ...withTimings });
    return ExitCode.ok;
  }
  if (ctx.json) ctx.printJson({ error: final.error, ...withTimings });
  return exitCodeForKind(final.error?.kind);
}
