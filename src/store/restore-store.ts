/**
 * Backup restores into apps (src/backup/service.ts restore): a row while one runs (`restoring`, with the step
 * it reached) and after one that did not finish (`failed`, with the reason). A restore that succeeds removes
 * its row; a row goes with its app. A server killed mid-restore finds `restoring` rows at start-up
 * (backup/restore-recovery.ts). Part of the Store (store.ts `restores`), on its database.
 */
import type BetterSqlite3 from "better-sqlite3";

export type RestoreStatus = "restoring" | "failed";

export interface RestoreRow {
  app: string;
  backup: string;
  status: RestoreStatus;
  /** The last step the restore announced ("Restoring the volumes"). */
  step?: string;
  error?: string;
  startedAt: string;
  updatedAt: string;
}

interface DbRow {
  app: string;
  backup: string;
  status: RestoreStatus;
  step: string | null;
  error: string | null;
  started_at: string;
  updated_at: string;
}

const toRow = (r: DbRow): RestoreRow => ({
  app: r.app,
  backup: r.backup,
  status: r.status,
  ...(r.step ? { step: r.step } : {}),
  ...(r.error ? { error: r.error } : {}),
  startedAt: r.started_at,
  updatedAt: r.updated_at,
});

export class RestoreStore {
  constructor(private readonly db: BetterSqlite3.Database) {}

  get(app: string): RestoreRow | undefined {
    const r = this.db.prepare("SELECT * FROM restores WHERE app = ?").get(app) as DbRow | undefined;
    return r ? toRow(r) : undefined;
  }

  list(): RestoreRow[] {
    return (this.db.prepare("SELECT * FROM restores ORDER BY app").all() as DbRow[]).map(toRow);
  }

  /** A restore into `app` (which exists) starts: replaces the row of an earlier one that failed. */
  begin(app: string, backup: string): void {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO restores (app, backup, status, step, error, started_at, updated_at)
         VALUES (?, ?, 'restoring', NULL, NULL, ?, ?)
         ON CONFLICT (app) DO UPDATE SET backup = excluded.backup, status = 'restoring', step = NULL,
           error = NULL, started_at = excluded.started_at, updated_at = excluded.updated_at`,
      )
      .run(app, backup, now, now);
  }

  /** The step a running restore reached (kept for the message should the server stop during it). */
  step(app: string, step: string): void {
    this.db
      .prepare("UPDATE restores SET step = ?, updated_at = ? WHERE app = ? AND status = 'restoring'")
      .run(step, new Date().toISOString(), app);
  }

  fail(app: string, error: string): void {
    this.db
      .prepare("UPDATE restores SET status = 'failed', error = ?, updated_at = ? WHERE app = ?")
      .run(error, new Date().toISOString(), app);
  }

  /** The restore finished: the app is whole again. */
  finish(app: string): void {
    this.db.prepare("DELETE FROM restores WHERE app = ?").run(app);
  }
}
