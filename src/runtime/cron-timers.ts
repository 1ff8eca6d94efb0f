/**
 * Cron on the quadlet path: every app cron job is a systemd timer of the hop3 user's manager, with a oneshot
 * service that runs `hop cron:run JOB --app APP`. The CLI asks the server to run the job in a one-off
 * container and exits with the job's code, so the run shows in `hop logs` and `hop cron:list` exactly like a
 * run of the minute scheduler (scheduler.ts) on hosts without systemd.
 *
 * cronUnitBase names a job's units; planCronTimers is the pure plan (unit file name -> content), rendered by
 * user-timers.ts like every Hop3 timer; CronTimers writes it into ~/.config/systemd/user.
 */

import { createHash } from "node:crypto";
import { isValidAppName, quoteForMessage } from "../app/name.js";
import type { CronJob } from "../app/procfile.js";
import { usageError } from "../util/errors.js";
import {
  type HopTimerPlanOptions,
  HopTimers,
  type HopTimersOptions,
  planHopTimers,
  type UserTimersSyncResult,
} from "./user-timers.js";

export { DEFAULT_HOP_BIN, defaultTimerUnitDir } from "./user-timers.js";

/** One app and all its cron jobs: the desired state. */
export interface CronTimerEntry {
  app: string;
  jobs: readonly CronJob[];
}

export type CronTimerPlanOptions = HopTimerPlanOptions;

const UNIT_PREFIX = "hop3-cron-";
const SAFE_JOB = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The unit base name of a job: `hop3-cron-APP.JOB`. The dot separates app and job because neither may contain
 * one (with a hyphen, app `a-cron` job `cron` and app `a` job `cron-cron` would collide). A job name with other
 * characters than [A-Za-z0-9_-], or longer than 64, is mapped to `_` and cut, and a hash of the real name is
 * added after a second dot: a plain name never has one, so no two jobs share a unit.
 */
export function cronUnitBase(app: string, job: string): string {
  if (!isValidAppName(app)) throw usageError(`invalid app name ${quoteForMessage(app)} for a cron timer`);
  if (SAFE_JOB.test(job)) return `${UNIT_PREFIX}${app}.${job}`;
  const safe = job.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64) || "_";
  const hash = createHash("sha256").update(job, "utf8").digest("hex").slice(0, 10);
  return `${UNIT_PREFIX}${app}.${safe}.${hash}`;
}

/** The `hop` arguments a job's service runs (`--` so no job name can pass for an option). */
export const cronRunArgs = (app: string, job: string): string[] => ["cron:run", "--app", app, "--", job];

/**
 * Every timer and service file for the given apps' jobs: file name -> content, in name order. Throws on an
 * invalid app name, schedule or hop path, and on two jobs of one app with the same name.
 */
export function planCronTimers(
  entries: readonly CronTimerEntry[],
  opts: CronTimerPlanOptions,
): Map<string, string> {
  return planHopTimers(
    entries.flatMap(({ app, jobs }) =>
      jobs.map((job) => ({
        base: cronUnitBase(app, job.name),
        title: `cron job ${quoteForMessage(job.name, 200)} of ${app}`,
        schedule: job.schedule,
        args: cronRunArgs(app, job.name),
      })),
    ),
    opts,
  );
}

export type CronTimersOptions = HopTimersOptions;

/** Timer unit names (`hop3-cron-APP.JOB.timer`) a sync enabled, restarted or removed. */
export type CronTimersSyncResult = UserTimersSyncResult;

/**
 * Keeps ~/.config/systemd/user in line with the apps' cron jobs: a sync takes every app with cron jobs, and a
 * job or app left out loses its timer. Runs in progress are not stopped: removing a job disables its timer, the
 * current run finishes.
 */
export class CronTimers extends HopTimers<CronTimerEntry> {
  constructor(opts: CronTimersOptions = {}) {
    super({ prefix: UNIT_PREFIX, noun: "cron timer", planUnits: planCronTimers }, opts);
  }
}
