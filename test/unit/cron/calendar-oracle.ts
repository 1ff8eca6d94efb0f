/**
 * A test oracle for the systemd timers of cron jobs: reads back the OnCalendar= subset onCalendarOf writes and
 * says whether an expression fires in a given minute, so the unit tests can compare it with the cron matcher
 * without systemd. Test code: production never needs to read a calendar expression.
 */
import { CALENDAR_DAYS } from "../../../src/runtime/cron.js";
import { usageError } from "../../../src/util/errors.js";

/** An OnCalendar= expression of the form onCalendarOf writes, read back: `undefined` fields are `*`. */
export interface CalendarSpec {
  weekdays?: ReadonlySet<number>;
  years?: ReadonlySet<number>;
  months?: ReadonlySet<number>;
  days?: ReadonlySet<number>;
  hours?: ReadonlySet<number>;
  minutes?: ReadonlySet<number>;
  seconds?: ReadonlySet<number>;
}

/**
 * Reads the OnCalendar= subset onCalendarOf writes (`*` or comma lists of numbers, weekday names), so the
 * tests can check what a timer will do without systemd. Other systemd forms (`..`, `/`, `~`, shorthands
 * like `daily`) are refused rather than guessed.
 */
export function parseCalendar(expr: string): CalendarSpec {
  const bad = (why: string) =>
    usageError(`unsupported OnCalendar expression ${JSON.stringify(expr)}: ${why}`);
  const words = expr.trim().split(/\s+/);
  if (words.length < 2 || words.length > 3) throw bad("expected [WEEKDAYS] Y-M-D H:M:S");
  const [weekdayWord, dateWord, timeWord] = (words.length === 3 ? words : [undefined, ...words]) as [
    string | undefined,
    string,
    string,
  ];
  const list = (text: string, min: number, max: number): ReadonlySet<number> | undefined => {
    if (text === "*") return undefined;
    const out = new Set<number>();
    for (const item of text.split(",")) {
      if (!/^\d+$/.test(item) || Number(item) < min || Number(item) > max) throw bad(`bad value "${item}"`);
      out.add(Number(item));
    }
    return out;
  };
  const date = dateWord.split("-");
  const time = timeWord.split(":");
  if (date.length !== 3 || time.length !== 3) throw bad("expected [WEEKDAYS] Y-M-D H:M:S");
  const spec: CalendarSpec = {};
  if (weekdayWord !== undefined) {
    spec.weekdays = new Set(
      weekdayWord.split(",").map((name) => {
        const d = CALENDAR_DAYS.indexOf(name);
        if (d < 0) throw bad(`bad weekday "${name}"`);
        return d;
      }),
    );
  }
  const fields = [
    ["years", date[0]!, 1970, 2199],
    ["months", date[1]!, 1, 12],
    ["days", date[2]!, 1, 31],
    ["hours", time[0]!, 0, 23],
    ["minutes", time[1]!, 0, 59],
    ["seconds", time[2]!, 0, 59],
  ] as const;
  for (const [key, text, min, max] of fields) {
    const values = list(text, min, max);
    if (values) spec[key] = values;
  }
  return spec;
}

/** Whether the OnCalendar= expression fires within the minute `at` falls in (local time, like systemd). */
export function calendarMatches(expr: string | CalendarSpec, at: Date): boolean {
  const c = typeof expr === "string" ? parseCalendar(expr) : expr;
  const has = (set: ReadonlySet<number> | undefined, v: number) => set === undefined || set.has(v);
  return (
    has(c.weekdays, at.getDay()) &&
    has(c.years, at.getFullYear()) &&
    has(c.months, at.getMonth() + 1) &&
    has(c.days, at.getDate()) &&
    has(c.hours, at.getHours()) &&
    has(c.minutes, at.getMinutes())
  );
}
