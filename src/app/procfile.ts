import { usageError } from "../util/errors.js";
import { quoteForMessage } from "./name.js";

/**
 * Procfile parsing, compatible with Heroku, Piku and Hop3 repositories.
 *
 * Special types (UPSTREAM.md): `web`, `wsgi`/`jwsgi`/`rwsgi` (the platform supplies the server), `static`
 * (served by the platform), `release` (once per deploy), `cron*` with a schedule (scheduled one-shot runs) and
 * the hooks `preflight`, `prebuild`, `postbuild`, `prerun`. Every other type, a `cron*` type without a
 * schedule included (Heroku and Dokku apps name workers `cron`), is a long-running, scalable worker.
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
  /** What the deploy log should tell about how a line was read (a `cron*` type run as a plain process). */
  notes?: string[];
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
          const job = parseCronEntry(type, command, `${file}:${line}`);
          if (job) {
            result.cron.push(job);
            break;
          }
          result.notes = result.notes ?? [];
          result.notes.push(
            `${file}:${line}: "${type}" has no schedule, so it runs as an ordinary process (a cron job's command starts with five schedule fields or a macro such as @daily)`,
          );
        }
        result.workers[type] = command;
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

interface CronFieldSpec {
  name: string;
  min: number;
  max: number;
  names: string[];
}

const CRON_FIELDS: CronFieldSpec[] = [
  { name: "minute", min: 0, max: 59, names: [] },
  { name: "hour", min: 0, max: 23, names: [] },
  { name: "day of month", min: 1, max: 31, names: [] },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
  },
  { name: "day of week", min: 0, max: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

/** The `@` shorthands of Vixie cron, as the five fields they stand for. */
export const CRON_MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const allowedValues = (f: CronFieldSpec) =>
  `${f.min}-${f.max}${f.names.length ? ` or ${f.names[0]}-${f.names[f.names.length - 1]}` : ""}`;

/** A token made only of what a numeric cron field is made of: digits, `*`, `,`, `-`, `/`. */
const NUMERIC_FIELD = /^[\d*][\d*,/-]*$/;

/** Whether `token` reads as the schedule field at `index` (numbers, or that field's names), valid or not. */
function looksLikeField(token: string, index: number): boolean {
  if (NUMERIC_FIELD.test(token)) return true;
  const names = CRON_FIELDS[index]?.names ?? [];
  if (names.length === 0 || !/^[A-Za-z0-9*,/-]+$/.test(token)) return false;
  return (token.match(/[A-Za-z]+/g) ?? []).every((word) => names.includes(word.toLowerCase()));
}

const SCHEDULE_EXAMPLE =
  "e.g. `cron: */5 * * * * python tasks.py` (minute hour day-of-month month day-of-week command) or `cron: @daily ./backup.sh`";

/**
 * A `cron*` entry: a scheduled job when its value starts with a schedule, `undefined` when it is a plain
 * command (Heroku and Dokku name ordinary processes `cron`, `crontab`, ...).
 *
 * The boundary: a value whose first word is a macro (`@...`) or made only of digits, `*`, `,`, `-` and `/`
 * is meant as a schedule, and must then be a valid one: no command starts with `30` or a step, and a schedule
 * that is almost right (four fields, `61`, a zero step, `@dayly`) is an error naming the field rather than a
 * process that would fail at every start. Any other first word starts a command.
 */
export function parseCronEntry(name: string, value: string, where: string): CronJob | undefined {
  const text = value.trim();
  const tokens = text.split(/\s+/);
  const first = tokens[0] ?? "";
  const entry = `cron entry "${name}"`;

  if (first.startsWith("@")) {
    const macro = first.toLowerCase();
    if (macro === "@reboot") {
      throw usageError(
        `${where}: ${entry}: @reboot is not a schedule Hop3 runs`,
        `a command to run once at each start belongs in the process itself, or in [run].before-run; ${SCHEDULE_EXAMPLE}`,
      );
    }
    const fields = CRON_MACROS[macro];
    if (fields === undefined) {
      throw usageError(
        `${where}: ${entry}: unknown schedule macro ${quoteForMessage(first)} (allowed ${Object.keys(CRON_MACROS).join(", ")})`,
      );
    }
    const command = text.slice(first.length).trim();
    if (command === "") throw usageError(`${where}: ${entry} has a schedule (${first}) but no command`);
    return { name, schedule: fields, command };
  }
  if (!NUMERIC_FIELD.test(first)) return undefined;

  let count = 0;
  while (count < tokens.length && count < 6 && looksLikeField(tokens[count]!, count)) count++;
  if (count < 5) {
    const missing = CRON_FIELDS.slice(count)
      .map((f) => `${f.name} (${allowedValues(f)})`)
      .join(", ");
    throw usageError(
      `${where}: ${entry} has ${count} schedule field${count === 1 ? "" : "s"} (${quoteForMessage(tokens.slice(0, count).join(" "))}) where cron needs five: missing the ${missing} field${count === 4 ? "" : "s"}`,
      `${SCHEDULE_EXAMPLE}; a cron* line whose command does not start with a schedule runs as an ordinary process`,
    );
  }
  if (count === 6 && NUMERIC_FIELD.test(tokens[5]!)) {
    throw usageError(
      `${where}: ${entry} has six schedule fields (${quoteForMessage(tokens.slice(0, 6).join(" "))}) where cron has five: there is no seconds or year field`,
      SCHEDULE_EXAMPLE,
    );
  }
  const schedule = tokens.slice(0, 5);
  schedule.forEach((field, i) => {
    const spec = CRON_FIELDS[i]!;
    if (!isValidCronField(field, spec.min, spec.max, spec.names)) {
      throw usageError(
        `${where}: ${entry}: invalid ${spec.name} field ${quoteForMessage(field)} (allowed ${allowedValues(spec)}, "*", ranges, lists and "/step" with a step of 1 or more)`,
      );
    }
  });
  // The command keeps its original spacing: only the schedule prefix is cut.
  const command = text.replace(/^(\S+\s+){5}/, "").trim();
  if (tokens.length === 5 || command === "") {
    throw usageError(
      `${where}: ${entry} has a schedule (${schedule.join(" ")}) but no command`,
      SCHEDULE_EXAMPLE,
    );
  }
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
