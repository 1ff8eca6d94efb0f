/**
 * Cron schedules (Procfile `cron: M H DOM MON DOW CMD`), as pure functions: does a schedule match a minute,
 * when does it next run, which jobs are due. Both supervisors use them: the Podman path ticks every minute
 * (scheduler.ts); the quadlet path can render the same decisions as systemd timers.
 *
 * Semantics are Vixie cron's (the cron Piku users had): fields accept `*`, numbers, `a-b` ranges, `,` lists
 * and `/step` (`a/step` runs from a to the field's end); months and weekdays accept English three-letter
 * names; weekday 7 is Sunday like 0. When both day-of-month and day-of-week are restricted (neither starts
 * with `*`), a day matches if EITHER matches. Times are the server's local time.
 */
import type { CronJob } from "../app/procfile.js";
import { usageError } from "../util/errors.js";

export interface CronSchedule {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0 = Sunday ... 6 = Saturday (7 is folded into 0). */
  daysOfWeek: ReadonlySet<number>;
  domRestricted: boolean;
  dowRestricted: boolean;
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const FIELDS: FieldSpec[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day of week", min: 0, max: 7, names: WEEKDAYS },
];

function parseField(field: string, spec: FieldSpec, schedule: string): Set<number> {
  const bad = () =>
    usageError(`invalid ${spec.name} field ${JSON.stringify(field)} in cron schedule "${schedule}"`);
  const value = (token: string): number => {
    if (/^\d+$/.test(token)) return Number(token);
    const i = spec.names?.indexOf(token.toLowerCase()) ?? -1;
    if (i < 0) throw bad();
    return i + spec.min;
  };
  const out = new Set<number>();
  for (const item of field.split(",")) {
    const parts = item.split("/");
    if (parts.length > 2 || !parts[0]) throw bad();
    const [range, stepText] = parts as [string, string | undefined];
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0) throw bad();
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === "*") {
      lo = spec.min;
      hi = spec.max;
    } else {
      const bounds = range.split("-");
      if (bounds.length > 2 || !bounds[0]) throw bad();
      lo = value(bounds[0]);
      // `5/15` means from 5 to the end of the field, every 15
      hi = bounds[1] !== undefined ? value(bounds[1]) : stepText !== undefined ? spec.max : lo;
    }
    if (lo < spec.min || hi > spec.max || lo > hi) throw bad();
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

export function parseSchedule(schedule: string): CronSchedule {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 5) {
    throw usageError(`a cron schedule has five fields (M H DOM MON DOW), got "${schedule}"`);
  }
  const [m, h, dom, mon, dow] = fields.map((f, i) => parseField(f, FIELDS[i]!, schedule)) as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  if (dow.has(7)) {
    dow.delete(7);
    dow.add(0);
  }
  return {
    minutes: m,
    hours: h,
    daysOfMonth: dom,
    months: mon,
    daysOfWeek: dow,
    domRestricted: !fields[2]!.startsWith("*"),
    dowRestricted: !fields[4]!.startsWith("*"),
  };
}

const asSchedule = (s: string | CronSchedule) => (typeof s === "string" ? parseSchedule(s) : s);

function dayMatches(s: CronSchedule, d: Date): boolean {
  if (!s.months.has(d.getMonth() + 1)) return false;
  const dom = s.daysOfMonth.has(d.getDate());
  const dow = s.daysOfWeek.has(d.getDay());
  return s.domRestricted && s.dowRestricted ? dom || dow : dom && dow;
}

/** Whether the schedule fires in the minute `at` falls in (seconds are ignored). */
export function cronMatches(schedule: string | CronSchedule, at: Date): boolean {
  const s = asSchedule(schedule);
  return s.minutes.has(at.getMinutes()) && s.hours.has(at.getHours()) && dayMatches(s, at);
}

/** The first minute strictly after `after` at which the schedule fires; undefined if never (`0 0 31 2 *`). */
export function nextCronRun(schedule: string | CronSchedule, after: Date): Date | undefined {
  const s = asSchedule(schedule);
  const hours = [...s.hours].sort((a, b) => a - b);
  const minutes = [...s.minutes].sort((a, b) => a - b);
  const day = new Date(after.getFullYear(), after.getMonth(), after.getDate());
  // Feb 29 on a given weekday can take 28 years; 9 leap cycles is more than any schedule needs.
  for (let i = 0; i < 366 * 29; i++) {
    if (dayMatches(s, day)) {
      for (const h of hours) {
        for (const m of minutes) {
          const t = new Date(day.getFullYear(), day.getMonth(), day.getDate(), h, m);
          if (t.getTime() > after.getTime() && t.getHours() === h && t.getMinutes() === m) return t;
        }
      }
    }
    day.setDate(day.getDate() + 1);
  }
  return undefined;
}

/** The start of the minute `at` falls in. */
export const minuteOf = (at: Date): Date => {
  const d = new Date(at.getTime());
  d.setSeconds(0, 0);
  return d;
};

/** The scheduling decision: which of an app's jobs run in the minute `at` falls in. */
export function dueJobs(jobs: readonly CronJob[], at: Date): CronJob[] {
  return jobs.filter((j) => cronMatches(j.schedule, at));
}

/** How a job runs: its Procfile command through a shell (Procfile lines are shell commands). */
export const cronJobCommand = (job: CronJob): string[] => ["/bin/sh", "-c", job.command];

/** What a job's container sees, besides the app's config and platform variables. */
export const cronJobEnv = (job: CronJob): Record<string, string> => ({
  PROC_TYPE: job.name,
  DYNO: cronSource(job.name),
});

/** The prefix of its lines in `hop logs`. */
export const cronSource = (name: string) => `cron.${name}`;

/*
 * systemd timers (the quadlet path). A schedule becomes OnCalendar= expressions (systemd.time(7)):
 * `[WEEKDAYS ]*-MONTHS-DAYS HOURS:MINUTES:00`, each field an explicit comma list of the parsed values, or `*`
 * when it holds every value. Lists rather than systemd's own ranges and repetitions: cron's ranges, steps
 * and lists combine in ways systemd spells differently, and values written out leave no room for two readings.
 */

/** systemd's weekday names, index = JavaScript's getDay(). */
export const CALENDAR_DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

const isFull = (values: ReadonlySet<number>, min: number, max: number): boolean => {
  for (let v = min; v <= max; v++) if (!values.has(v)) return false;
  return true;
};

function calendarList(values: ReadonlySet<number>, min: number, max: number, what: string): string {
  if (values.size === 0) throw usageError(`a cron schedule with no ${what} never runs`);
  if (isFull(values, min, max)) return "*";
  return [...values]
    .sort((a, b) => a - b)
    .map((v) => String(v).padStart(2, "0"))
    .join(",");
}

/** Weekday names Monday first, as systemd prints them. */
function calendarWeekdays(days: ReadonlySet<number>): string {
  if (days.size === 0) throw usageError("a cron schedule with no day of week never runs");
  return [...days]
    .sort((a, b) => ((a + 6) % 7) - ((b + 6) % 7))
    .map((d) => CALENDAR_DAYS[d]!)
    .join(",");
}

/**
 * systemd OnCalendar= expressions that together fire exactly when the cron schedule does (a timer with several
 * OnCalendar= lines fires when any of them matches). systemd ANDs a weekday with the date like cron does when
 * a day field is `*`; cron's OR rule (both day fields restricted) needs two expressions: the days of the month
 * on any weekday, and the weekdays on any day of the month. Both read local time, like cron.
 */
export function onCalendarOf(schedule: CronSchedule | string): string[] {
  const s = asSchedule(schedule);
  const time = `${calendarList(s.hours, 0, 23, "hour")}:${calendarList(s.minutes, 0, 59, "minute")}:00`;
  const months = calendarList(s.months, 1, 12, "month");
  const days = calendarList(s.daysOfMonth, 1, 31, "day of month");
  const everyWeekday = isFull(s.daysOfWeek, 0, 6);
  const weekdays = calendarWeekdays(s.daysOfWeek);
  if (s.domRestricted && s.dowRestricted) {
    // either side covering every day makes every day match: one expression says so
    if (days === "*" || everyWeekday) return [`*-${months}-* ${time}`];
    return [`*-${months}-${days} ${time}`, `${weekdays} *-${months}-* ${time}`];
  }
  return [`${everyWeekday ? "" : `${weekdays} `}*-${months}-${days} ${time}`];
}
