/**
 * Restores a server kill interrupted (docs/backups.md, "Restore"). A restore writes its app's row in the store
 * (store/restore-store.ts) before it changes anything and removes it once the app runs the restored release;
 * a row still `restoring` at the server's start is a restore that was cut: its app may hold part of the
 * backup's data (some addons restored, a volume half-filled) and part of what was there before.
 *
 * What the restarted server does with it, first thing in its reconcile (deploy/lifecycle.ts), before it starts
 * any app:
 * - the app is stopped (desired state `stopped`): the reconcile that follows starts nothing of it and removes
 *   any instance the restore had started, so it is neither routed nor running. Without this, a `--force`
 *   restore cut during its rollout would have its app's previous release (still the current one) started
 *   again by the reconcile, over data that is half the backup's;
 * - the row is marked `failed` with the step it reached: `hop apps`, `hop info` and `hop releases` show it
 *   until a restore into the app succeeds or the app is destroyed.
 * Nothing is deleted: whatever the app and its addons hold stays until the operator restores again
 * (`--force`) or destroys it with confirmation; the backup itself is only ever read by a restore.
 */
import type { RestoreRow } from "../store/restore-store.js";
import type { Store } from "../store/store.js";

/** The reason recorded for a restore the server's stop interrupted, with what to do about it. */
export function interruptedRestoreError(row: Pick<RestoreRow, "app" | "backup" | "step">): string {
  const at = row.step ? ` (at: ${row.step})` : "";
  return (
    `interrupted: the server stopped during the restore of backup ${row.backup}${at}; ` +
    "the app is stopped and its data may be partly restored. " +
    `Restore it again with \`hop backup:restore ${row.backup} --to ${row.app} --force\`, ` +
    `or remove it with \`hop destroy ${row.app} --confirm ${row.app}\``
  );
}

/** At the server's start, before the apps are reconciled: every restore still running was interrupted. */
export function reconcileRestores(store: Store): string[] {
  const notes: string[] = [];
  for (const row of store.restores.list()) {
    if (row.status !== "restoring") continue;
    if (store.getApp(row.app)) store.setDesiredState(row.app, "stopped");
    store.restores.fail(row.app, interruptedRestoreError(row));
    notes.push(
      `${row.app}: the restore of backup ${row.backup} was interrupted${row.step ? ` (at: ${row.step})` : ""}; ` +
        "the app is stopped and marked failed",
    );
  }
  return notes;
}

/** What the API says of an app's restore (`hop apps`, `hop info`, `hop releases`): none when it is whole. */
export function restoreSummary(
  store: Store,
  app: string,
):
  | { backup: string; status: RestoreRow["status"]; step: string | null; error: string | null; at: string }
  | undefined {
  const row = store.restores.get(app);
  return (
    row && {
      backup: row.backup,
      status: row.status,
      step: row.step ?? null,
      error: row.error ?? null,
      at: row.updatedAt,
    }
  );
}
