/**
 * How a deploy reads in `git push` output (each line arrives prefixed with `remote: `), in the Heroku style
 * users know: `----->` for a step, indented build output, `=====>` for the result, `!` for a failure.
 */
import type { ApiEvent } from "../client/api-client.js";
import { readTimingsEvent, timingsSummary } from "../deploy/timings.js";
import type { Hop3Error } from "../util/errors.js";

const INDENT = "       ";

/** The text to print for one event, with its final newline; empty for events that print nothing. */
export function formatEvent(ev: ApiEvent, app: string): string {
  switch (ev.event) {
    case "step":
      return `-----> ${oneLine(ev.message)}\n`;
    case "log":
      return ev.line
        .replace(/\r\n?/g, "\n")
        .replace(/\n$/, "")
        .split("\n")
        .map((l) => `${INDENT}${l}\n`)
        .join("");
    case "timings": {
      // one line: where the push's seconds went (`hop deploy --timings` shows the whole table)
      const t = readTimingsEvent(ev);
      return t ? `${INDENT}${timingsSummary(t)}\n` : "";
    }
    case "done": {
      if (!ev.ok) return formatFailure(ev.error.message, ev.error.hint);
      const url = typeof ev.result.url === "string" && ev.result.url ? ev.result.url : app;
      return `=====> Application deployed: ${url}\n`;
    }
    default:
      return "";
  }
}

export function formatFailure(message: string, hint?: string): string {
  const lines = message.split("\n").map((l) => `!      ${l}\n`);
  if (hint) lines.push(...hint.split("\n").map((l) => `!      ${l}\n`));
  return lines.join("");
}

export const formatError = (err: Hop3Error) => formatFailure(err.message, err.hint);

const oneLine = (s: string) => s.replace(/[\r\n]+/g, " ");
