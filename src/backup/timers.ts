/**
 * Scheduled backups on the quadlet path: each `hop backup:schedule` is a systemd timer of the hop3 user,
 * `hop3-backup.APP.timer`, whose oneshot service runs `hop backup:create --app APP --scheduled`. The server
 * does the backup exactly as its minute tick does without systemd (BackupService.runScheduled): the
 * schedule's retention, and a failure recorded for `backup:list`, `hop apps` and the server log.
 *
 * backupUnitBase names the units; planBackupTimers is the pure plan, rendered by runtime/user-timers.ts like
 * the cron timers; BackupTimers writes it into ~/.config/systemd/user.
 */
import { isValidAppName, quoteForMessage } from "../app/name.js";
import {
  type HopTimerPlanOptions,
  HopTimers,
  type HopTimersOptions,
  planHopTimers,
} from "../runtime/user-timers.js";
import { usageError } from "../util/errors.js";

/** What a timer needs of a schedule (service.ts BackupSchedule). */
export interface BackupTimerEntry {
  app: string;
  cron: string;
}

const UNIT_PREFIX = "hop3-backup.";

/**
 * `hop3-backup.APP`. The dot, which no app name has, keeps the name apart from every other unit of the hop3
 * user: with a hyphen, the backups of app `x-volume` would be `hop3-backup-x-volume.service`, the very name
 * quadlet gives the service of volume `x` of app `backup` (and `-network` likewise); cron timers are
 * `hop3-cron-*`, app instances `hop3-APP-PROC.N-...`, so nothing else starts with `hop3-backup.`.
 */
export function backupUnitBase(app: string): string {
  if (!isValidAppName(app)) throw usageError(`invalid app name ${quoteForMessage(app)} for a backup timer`);
  return `${UNIT_PREFIX}${app}`;
}

/** The `hop` arguments a schedule's service runs. */
export const backupRunArgs = (app: string): string[] => ["backup:create", "--app", app, "--scheduled"];

/** Every timer and service file of the schedules: file name -> content, in name order. */
export function planBackupTimers(
  schedules: readonly BackupTimerEntry[],
  opts: HopTimerPlanOptions,
): Map<string, string> {
  return planHopTimers(
    schedules.map((s) => ({
      base: backupUnitBase(s.app),
      title: `scheduled backup of ${s.app}`,
      schedule: s.cron,
      args: backupRunArgs(s.app),
    })),
    opts,
  );
}

export type BackupTimersOptions = HopTimersOptions;

/** Keeps ~/.config/systemd/user in line with the backup schedules (`hop3-backup.APP.timer`). */
export class BackupTimers extends HopTimers<BackupTimerEntry> {
  constructor(opts: BackupTimersOptions = {}) {
    super({ prefix: UNIT_PREFIX, noun: "backup timer", planUnits: planBackupTimers }, opts);
  }
}
