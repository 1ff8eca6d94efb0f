import { usageError } from "../util/errors.js";
import { quoteForMessage } from "./name.js";

/**
 * Procfile parsing, compatible with Heroku, Piku and Hop3 repositories.
 *
 * Special types (UPSTREAM.md): `web`, `wsgi`/`jwsgi`/`rwsgi` (the platform supplies the server), `static`
 * (served by the platform), `release` (once per deploy), `cron*` (scheduled one-shot runs) and the hooks
 * `preflight`, `prebuild`, `postbuild`, `prerun`. Every other type is a long-running, scalable worker.
 */

export interface ProcfileEntry {
  type: string;
  command: string;
  line: number;
}

export interface Procfile {
  entries: ProcfileEntry[];
}

export interface StaticMapping {
  /** URL path prefix, always starting with "/". */
  prefix: string;
  /** Directory relative to the app's root. */
  path: string;
}

export interface CronJob {
  name: string;
  /** The five schedule fields, space separated: "M H DOM MON DOW". */
  schedule: string;
  command: string;
}

export interface ProcfileHooks {
  preflight?: string;
  prebuild?: string;
  postbuild?: string;
  prerun?: string;
}

export interface ProcessTypes {
  web?: string;
  wsgi?: string;
  jwsgi?: string;
  rwsgi?: string;
  static?: StaticMapping[];
  release?: string;
  hooks: ProcfileHooks;
  cron: CronJob[];
  workers: Record<string, string>;
}

export const HOOK_TYPES = ["preflight", "prebuild", "postbuild", "prerun"] as const;
/** Types that each answer HTTP on PORT: at most one of them may be declared. */
export const HTTP_TYPES = ["web", "wsgi", "jwsgi", "rwsgi"] as const;

const TYPE_NAME = /^[A-Za-z0-9_-]+$/;
const MAX_TYPE_LENGTH = 63;
const CONFLICT_MARKERS = ["<<<<<<<", "=======", ">>>>>>>", "|||||||"];

export function isCronType(type: string): boolean {
  return type.startsWith("cron");
}

export const PROCESS_TYPE_PATTERN = TYPE_NAME;

/** Names with a platform-defined role: they cannot name a plain worker. */
export function isReservedProcessType(type: string): boolean {
  return (
    (HTTP_TYPES as readonly string[]).includes(type) ||
    (HOOK_TYPES as readonly string[]).includes(type) ||
    type === "static" ||
    type === "release" ||
    isCronType(type)
  );
}

export function parseProcfile(text: string, file = "Procfile"): Procfile {
  const entries: ProcfileEntry[] = [];
  const seen = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n|\r/);

  lines.forEach((raw, index) => {
    const line = index + 1;
    const where = `${file}:${line}`;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;

    const marker = CONFLICT_MARKERS.find((m) => trimmed.startsWith(m));
    if (marker) {
      throw usageError(
        `${where}: unresolved merge conflict marker ${quoteForMessage(marker)}`,
        `resolve the conflict in ${file}, commit the result and deploy again`,
      );
    }

    const colon = trimmed.indexOf(":");
    if (colon < 0) {
      throw usageError(
        `${where}: expected "name: command", got ${quoteForMessage(trimmed)}`,
        "each line of a Procfile declares one process type, e.g. `web: gunicorn app:app`",
      );
    }
    const type = trimmed.slice(0, colon).trim();
    const command = stripInlineComment(trimmed.slice(colon + 1)).trim();

    if (!TYPE_NAME.test(type) || type.length > MAX_TYPE_LENGTH) {
      throw usageError(
        `${where}: invalid process type ${quoteForMessage(type)}: use 1 to ${MAX_TYPE_LENGTH} letters, digits, "_" or "-"`,
      );
    }
    const previous = seen.get(type);
    if (previous !== undefined) {
      throw usageError(`${where}: duplicate process type "${type}" (already declared on line ${previous})`);
    }
    if (command === "") {
      throw usageError(`${where}: process type "${type}" has an empty command`);
    }
    seen.set(type, line);
    entries.push({ type, command, line });
  });

  // Validate the whole set now so that every error carries its file and line.
  classifyProcesses(entries, file);
  return { entries };
}

/**
 * Sorts entries into the roles the platform gives them. Throws usage errors (with file:line)
 * for content that parses but cannot run: two HTTP types, bad cron schedules, bad static mappings.
 */
export function classifyProcesses(entries: readonly ProcfileEntry[], file = "Procfile"): ProcessTypes {
  const result: ProcessTypes = { hooks: {}, cron: [], workers: {} };
  const http = entries.filter((e) => (HTTP_TYPES as readonly string[]).includes(e.type));
  if (http.length > 1) {
    const [first, second] = http as [ProcfileEntry, ProcfileEntry];
    throw usageError(
      `${file}:${second.line}: "${second.type}" cannot be used together with "${first.type}" (line ${first.line})`,
      `${HTTP_TYPES.join(", ")} each serve HTTP on PORT: keep only one of them`,
    );
  }

  for (const entry of entries) {
    const { type, command, line } = entry;
    switch (type) {
      case "web":
      case "wsgi":
      case "jwsgi":
      case "rwsgi":
      case "release":
        result[type] = command;
        break;
      case "static":
        result.static = parseStaticMappings(command, `${file}:${line}`);
        break;
      case "preflight":
      case "prebuild":
      case "postbuild":
      case "prerun":
        result.hooks[type] = command;
        break;
      default:
        if (isCronType(type)) {
          result.cron.push(parseCronEntry(type, command, `${file}:${line}`));
        } else {
          result.workers[type] = command;
        }
    }
  }
  return result;
}

/**
 * Cuts a ` # comment`: a `#` at the start or after whitespace, outside quotes.
 * A `#` inside a word (`curl host/#anchor`) or inside quotes is part of the command.
 */
export function stripInlineComment(text: string): string {
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === "\\" && quote === '"') i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (ch === "\\") {
      i++;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === "#" && (i === 0 || /\s/.test(text[i - 1] ?? ""))) {
      return text.slice(0, i);
    }
  }
  return text;
}

/**
 * Hop3: `static: public` serves a directory at "/".
 * Piku: `static: /:public,/docs:site` maps URL prefixes to directories.
 */
export function parseStaticMappings(value: string, where: string): StaticMapping[] {
  const spec = value.trim();
  const parts = spec.includes(":") ? spec.split(",") : [`/:${spec}`];
  const mappings: StaticMapping[] = [];
  for (const part of parts) {
    const colon = part.indexOf(":");
    const prefix = part.slice(0, colon).trim();
    const path = part.slice(colon + 1).trim();
    if (colon < 0 || !prefix.startsWith("/") || path === "") {
      throw usageError(
        `${where}: invalid static mapping ${quoteForMessage(part.trim())}`,
        'use a directory (`static: public`) or "/url:directory" pairs (`static: /:public,/docs:site`)',
      );
    }
    checkRelativePath(path, where);
    if (mappings.some((m) => m.prefix === prefix)) {
      throw usageError(`${where}: static URL prefix "${prefix}" is mapped twice`);
    }
    mappings.push({ prefix, path: path.replace(/^\.\//, "").replace(/\/+$/, "") || "." });
  }
  return mappings;
}

/** Static directories are served from the app's tree: never absolute, never climbing out of it. */
function checkRelativePath(path: string, where: string): void {
  if (path.startsWith("/") || path.split(/[\\/]/).includes("..") || path.includes("\0")) {
    throw usageError(
      `${where}: static directory ${quoteForMessage(path)} must be a path inside the app (relative, without "..")`,
    );
  }
}

const CRON_FIELDS = [
  { name: "minute", min: 0, max: 59, names: [] as string[] },
  { name: "hour", min: 0, max: 23, names: [] as string[] },
  { name: "day of month", min: 1, max: 31, names: [] as string[] },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
  },
  { name: "day of week", min: 0, max: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

export function parseCronEntry(name: string, value: string, where: string): CronJob {
  const fields = value.trim().split(/\s+/);
  if (fields.length < 6) {
    throw usageError(
      `${where}: cron entry "${name}" needs five schedule fields and a command, got ${quoteForMessage(value)}`,
      "e.g. `cron: */5 * * * * python tasks.py` (minute hour day-of-month month day-of-week command)",
    );
  }
  const schedule = fields.slice(0, 5);
  schedule.forEach((field, i) => {
    const spec = CRON_FIELDS[i]!;
    if (!isValidCronField(field, spec.min, spec.max, spec.names)) {
      throw usageError(
        `${where}: cron entry "${name}": invalid ${spec.name} field ${quoteForMessage(field)} (allowed ${spec.min}-${spec.max}, "*", ranges, lists and "/step")`,
      );
    }
  });
  // The command keeps its original spacing: only the schedule prefix is cut.
  const command = value
    .trim()
    .replace(/^(\S+\s+){5}/, "")
    .trim();
  return { name, schedule: schedule.join(" "), command };
}

function isValidCronField(field: string, min: number, max: number, names: string[]): boolean {
  const value = (token: string): number | undefined => {
    if (/^\d+$/.test(token)) return Number(token);
    const i = names.indexOf(token.toLowerCase());
    return i < 0 ? undefined : i + min;
  };
  return field.split(",").every((item) => {
    const [range, step, extra] = item.split("/");
    if (extra !== undefined || range === undefined || range === "") return false;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) > 0)) return false;
    if (range === "*") return true;
    const [lo, hi, more] = range.split("-");
    if (more !== undefined || lo === undefined) return false;
    const a = value(lo);
    const b = hi === undefined ? a : value(hi);
    return a !== undefined && b !== undefined && a >= min && b <= max && a <= b;
  });
}
