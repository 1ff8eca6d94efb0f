/**
 * Terminal output helpers: aligned tables, `KEY: value` lists, relative times, optional colour.
 * Pure string functions so the CLI's look is unit-testable.
 */

const ANSI = /\x1b\[[0-9;]*m/g;

/** Width as seen on a terminal: ANSI colour codes take no room. */
export const visibleWidth = (text: string): number => text.replace(ANSI, "").length;

const padEnd = (text: string, width: number) => text + " ".repeat(Math.max(0, width - visibleWidth(text)));

/** Colours are used only on a TTY and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== "dumb";
}

export interface Painter {
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
}

const wrap = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;
const identity = (text: string) => text;

export function painter(enabled: boolean): Painter {
  if (!enabled) return { bold: identity, dim: identity, green: identity, red: identity, yellow: identity };
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    green: wrap(32, 39),
    red: wrap(31, 39),
    yellow: wrap(33, 39),
  };
}

/**
 * Columns separated by two spaces, each as wide as its widest cell; the last column is not padded so lines
 * carry no trailing blanks. Missing cells print empty.
 */
export function formatColumns(rows: string[][], gap = 2): string {
  const columns = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, col) =>
    Math.max(...rows.map((row) => visibleWidth(row[col] ?? ""))),
  );
  return rows
    .map((row) =>
      widths
        .map((w, col) => (col === columns - 1 ? (row[col] ?? "") : padEnd(row[col] ?? "", w + gap)))
        .join("")
        .trimEnd(),
    )
    .join("\n");
}

/** An aligned table with a header line. */
export function formatTable(headers: string[], rows: string[][], gap = 2): string {
  return formatColumns([headers, ...rows.map((r) => headers.map((_, i) => r[i] ?? ""))], gap);
}

/** `KEY:   value` lines with the values aligned (Heroku's `config` look). Keys keep the given order. */
export function formatKeyValues(entries: [string, string][]): string {
  const width = Math.max(0, ...entries.map(([k]) => visibleWidth(k) + 1));
  return entries.map(([k, v]) => `${padEnd(`${k}:`, width + 1)}${v}`.trimEnd()).join("\n");
}

const UNITS: [string, number][] = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** "3 minutes ago", "1 day ago", "just now"; an unparseable date is shown as given. */
export function relativeTime(when: string | number | Date | undefined, now: Date = new Date()): string {
  if (when === undefined || when === null || when === "") return "";
  const date = when instanceof Date ? when : new Date(when);
  const time = date.getTime();
  if (Number.isNaN(time)) return String(when);
  const seconds = Math.round((now.getTime() - time) / 1000);
  if (Math.abs(seconds) < 5) return "just now";
  const abs = Math.abs(seconds);
  for (const [unit, size] of UNITS) {
    if (abs >= size) {
      const n = Math.floor(abs / size);
      const label = `${n} ${unit}${n === 1 ? "" : "s"}`;
      return seconds >= 0 ? `${label} ago` : `in ${label}`;
    }
  }
  return "just now";
}

/** Sizes in the upload line: always MiB, two decimals so small trees do not read "0.0". */
export function formatMiB(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
}
