import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  cronJobCommand,
  cronJobEnv,
  cronMatches,
  dueJobs,
  minuteOf,
  nextCronRun,
  onCalendarOf,
  parseSchedule,
} from "../../../src/runtime/cron.js";
import { Hop3Error } from "../../../src/util/errors.js";
import { calendarMatches, parseCalendar } from "./calendar-oracle.js";

// Local-time dates: schedules are read in the server's time zone, so the tests are too.
const at = (y: number, mo: number, d: number, h = 0, mi = 0) => new Date(y, mo - 1, d, h, mi);

describe("parseSchedule", () => {
  it("expands steps, ranges, lists and names", () => {
    const s = parseSchedule("*/15 1-5 1,15 jan-mar sun,SAT");
    expect([...s.minutes]).toEqual([0, 15, 30, 45]);
    expect([...s.hours]).toEqual([1, 2, 3, 4, 5]);
    expect([...s.daysOfMonth]).toEqual([1, 15]);
    expect([...s.months]).toEqual([1, 2, 3]);
    expect([...s.daysOfWeek].sort()).toEqual([0, 6]);
  });

  it("reads a/step as from a to the end, and a-b/step", () => {
    expect([...parseSchedule("5/20 * * * *").minutes]).toEqual([5, 25, 45]);
    expect([...parseSchedule("10-30/10 * * * *").minutes]).toEqual([10, 20, 30]);
  });

  it("folds weekday 7 into Sunday", () => {
    expect([...parseSchedule("0 0 * * 7").daysOfWeek]).toEqual([0]);
  });

  it("refuses what cron does not accept", () => {
    for (const bad of [
      "* * * *",
      "60 * * * *",
      "* 24 * * *",
      "* * 0 * *",
      "*/0 * * * *",
      "5-1 * * * *",
      "* * * foo *",
    ]) {
      expect(() => parseSchedule(bad), bad).toThrow(Hop3Error);
    }
  });
});

describe("cronMatches", () => {
  it("*/15 fires at 0, 15, 30 and 45 only", () => {
    const hits = Array.from({ length: 60 }, (_, m) => m).filter((m) =>
      cronMatches("*/15 * * * *", at(2025, 6, 2, 10, m)),
    );
    expect(hits).toEqual([0, 15, 30, 45]);
  });

  it("1-5 in the weekday field is Monday to Friday", () => {
    // 2025-06-02 is a Monday
    const days = Array.from({ length: 7 }, (_, i) => cronMatches("0 9 * * 1-5", at(2025, 6, 2 + i, 9, 0)));
    expect(days).toEqual([true, true, true, true, true, false, false]);
    expect(cronMatches("0 9 * * 1-5", at(2025, 6, 2, 9, 1))).toBe(false);
  });

  it("both day fields restricted: either one matching is enough (cron's OR rule)", () => {
    // the 13th, or any Friday
    expect(cronMatches("0 0 13 * 5", at(2025, 6, 13))).toBe(true); // Friday the 13th
    expect(cronMatches("0 0 13 * 5", at(2025, 5, 13))).toBe(true); // Tuesday the 13th
    expect(cronMatches("0 0 13 * 5", at(2025, 6, 6))).toBe(true); // a Friday
    expect(cronMatches("0 0 13 * 5", at(2025, 6, 5))).toBe(false); // a Thursday, the 5th
  });

  it("one day field is *: both must match (AND), also for */N in day of month", () => {
    expect(cronMatches("0 0 * * 5", at(2025, 6, 13))).toBe(true);
    expect(cronMatches("0 0 * * 5", at(2025, 6, 12))).toBe(false);
    expect(cronMatches("0 0 13 * *", at(2025, 6, 12))).toBe(false);
    // */2 starts with "*": AND with weekday 1 -> odd days that are Mondays only
    expect(cronMatches("0 0 */2 * 1", at(2025, 6, 2))).toBe(false); // Monday the 2nd (even)
    expect(cronMatches("0 0 */2 * 1", at(2025, 6, 9))).toBe(true); // Monday the 9th
  });

  it("ignores seconds", () => {
    expect(cronMatches("30 12 * * *", new Date(2025, 0, 1, 12, 30, 59, 999))).toBe(true);
  });
});

describe("nextCronRun", () => {
  it("is the next matching minute, strictly after", () => {
    expect(nextCronRun("*/15 * * * *", at(2025, 6, 2, 10, 15))).toEqual(at(2025, 6, 2, 10, 30));
    expect(nextCronRun("*/15 * * * *", new Date(2025, 5, 2, 10, 14, 59))).toEqual(at(2025, 6, 2, 10, 15));
    expect(nextCronRun("0 0 1 1 *", at(2025, 6, 2))).toEqual(at(2026, 1, 1));
  });

  it("skips the weekend for 1-5 and finds Feb 29", () => {
    expect(nextCronRun("0 9 * * 1-5", at(2025, 6, 6, 10))).toEqual(at(2025, 6, 9, 9)); // Fri -> Mon
    expect(nextCronRun("0 0 29 2 *", at(2025, 3, 1))).toEqual(at(2028, 2, 29));
  });

  it("answers undefined for a schedule that never fires", () => {
    expect(nextCronRun("0 0 31 2 *", at(2025, 1, 1))).toBeUndefined();
  });
});

describe("the scheduling decision", () => {
  const jobs = [
    { name: "cron", schedule: "* * * * *", command: "echo every minute" },
    { name: "cron-nightly", schedule: "30 2 * * *", command: "./backup.sh --full" },
  ];

  it("picks the jobs due in a minute", () => {
    expect(dueJobs(jobs, at(2025, 6, 2, 2, 30)).map((j) => j.name)).toEqual(["cron", "cron-nightly"]);
    expect(dueJobs(jobs, at(2025, 6, 2, 2, 31)).map((j) => j.name)).toEqual(["cron"]);
  });

  it("runs the Procfile command through sh, and names it for the logs", () => {
    expect(cronJobCommand(jobs[1]!)).toEqual(["/bin/sh", "-c", "./backup.sh --full"]);
    expect(cronJobEnv(jobs[1]!)).toEqual({ PROC_TYPE: "cron-nightly", DYNO: "cron.cron-nightly" });
  });

  it("minuteOf truncates to the minute", () => {
    expect(minuteOf(new Date(2025, 0, 1, 1, 2, 3, 4))).toEqual(at(2025, 1, 1, 1, 2));
  });
});

describe("onCalendarOf (systemd timers)", () => {
  it("writes explicit lists, weekdays by name, * for full fields", () => {
    expect(onCalendarOf("* * * * *")).toEqual(["*-*-* *:*:00"]);
    expect(onCalendarOf("*/15 * * * *")).toEqual(["*-*-* *:00,15,30,45:00"]);
    expect(onCalendarOf("30 2 * * *")).toEqual(["*-*-* 02:30:00"]);
    expect(onCalendarOf("0,30 0,12 1,15 jan,jun mon,fri")).toEqual([
      "*-01,06-01,15 00,12:00,30:00",
      "Mon,Fri *-01,06-* 00,12:00,30:00",
    ]);
    expect(onCalendarOf("0 9 * * 1-5")).toEqual(["Mon,Tue,Wed,Thu,Fri *-*-* 09:00:00"]);
    // Sunday (0 or 7) goes last, the way systemd prints weeks
    expect(onCalendarOf("0 9 * * 0,6")).toEqual(["Sat,Sun *-*-* 09:00:00"]);
    expect(onCalendarOf(parseSchedule("0 0 29 2 *"))).toEqual(["*-02-29 00:00:00"]);
  });

  it("keeps cron's AND when a day field starts with * (also */N)", () => {
    expect(onCalendarOf("0 0 */10 * 1")).toEqual(["Mon *-*-01,11,21,31 00:00:00"]);
    expect(onCalendarOf("0 0 13 * *")).toEqual(["*-*-13 00:00:00"]);
  });

  it("needs one expression when a restricted day field covers every day", () => {
    expect(onCalendarOf("0 0 13 * 0-6")).toEqual(["*-*-* 00:00:00"]);
    expect(onCalendarOf("0 0 1-31 * 5")).toEqual(["*-*-* 00:00:00"]);
  });

  // A spread of forms: steps, ranges, lists, names, the OR rule, leap day, never-firing dates.
  const schedules = [
    "* * * * *",
    "*/7 * * * *",
    "5/20 */5 * * *",
    "10-30/10 1-5 * * *",
    "0 0 * * *",
    "59 23 * * 0",
    "0 9 * * 1-5",
    "0 9 * * 7",
    "15 3 1 * *",
    "0 0 13 * 5",
    "0 0 13 * fri",
    "30 12 1,15 * mon,wed",
    "0 0 */2 * 1",
    "0 0 1-7 * */3",
    "0 6 29 2 *",
    "0 0 31 * *",
    "0 0 31 2 *",
    "0 12 * feb-mar sat",
    "0,30 8-18/2 10-20 * 2-4",
    "45 1 28-31 2 0",
    "0 0 1 jan,feb,mar *",
  ];

  // Every minute from late January to early April 2028: a leap February, and spring DST in most zones.
  it("fires in exactly the minutes cron does", () => {
    const from = new Date(2028, 0, 25).getTime();
    const to = new Date(2028, 3, 5).getTime();
    for (const text of schedules) {
      const schedule = parseSchedule(text);
      const exprs = onCalendarOf(schedule).map(parseCalendar);
      let hits = 0;
      for (let t = from; t < to; t += 60_000) {
        const at = new Date(t);
        const cron = cronMatches(schedule, at);
        const timer = exprs.some((e) => calendarMatches(e, at));
        if (cron !== timer) expect.fail(`${text} at ${at.toString()}: cron ${cron}, timer ${timer}`);
        if (cron) hits++;
      }
      expect(hits > 0 || text === "0 0 31 2 *", `${text} fires in the range`).toBe(true);
    }
  });

  it("calendarMatches reads only the forms onCalendarOf writes", () => {
    expect(calendarMatches("Mon *-*-* 09:00:00", new Date(2025, 5, 2, 9, 0, 30))).toBe(true);
    expect(calendarMatches("Mon *-*-* 09:00:00", new Date(2025, 5, 3, 9, 0))).toBe(false);
    expect(calendarMatches("2025-06-02 09:00:00", new Date(2025, 5, 2, 9, 0))).toBe(true);
    for (const bad of [
      "daily",
      "*-*-* 00/15:00",
      "Mon..Fri *-*-* 09:00:00",
      "*-*-* 9:00",
      "Funday *-*-* 00:00:00",
    ]) {
      expect(() => parseCalendar(bad), bad).toThrow(Hop3Error);
    }
  });

  // systemd's own reading of the expressions, where systemd-analyze exists: the next runs it computes are
  // the next runs cron computes.
  const systemdAnalyze = (() => {
    try {
      execFileSync("systemd-analyze", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!systemdAnalyze)("systemd-analyze calendar agrees with nextCronRun", () => {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const base = new Date(2027, 10, 3, 10, 7, 30);
    const iterations = 12;
    for (const text of schedules) {
      const out = execFileSync(
        "systemd-analyze",
        [
          "calendar",
          `--iterations=${iterations}`,
          `--base-time=@${Math.floor(base.getTime() / 1000)}`,
          ...onCalendarOf(text),
        ],
        { encoding: "utf8", env: { ...process.env, TZ: zone } },
      );
      // the instants systemd prints in UTC (its "(in UTC)" lines, or every line when the zone is UTC)
      const fromSystemd = [...out.matchAll(/: \w{3} (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) UTC$/gm)].map(
        (m) => Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!),
      );
      const merged = [...new Set(fromSystemd)].sort((a, b) => a - b).slice(0, iterations);
      const fromCron: number[] = [];
      let after: Date | undefined = base;
      while (fromCron.length < merged.length && after) {
        after = nextCronRun(text, after);
        if (after) fromCron.push(after.getTime());
      }
      expect(
        merged.map((t) => new Date(t).toISOString()),
        text,
      ).toEqual(fromCron.map((t) => new Date(t).toISOString()));
      if (text !== "0 0 31 2 *") expect(merged.length, text).toBe(iterations);
    }
  });
});
