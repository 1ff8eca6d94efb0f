/**
 * A restore the server's stop interrupted (src/backup/restore-recovery.ts): at the next start its app is stopped
 * and marked failed with the step it reached and what to do; nothing else changes, nothing is deleted.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  interruptedRestoreError,
  reconcileRestores,
  restoreSummary,
} from "../../../src/backup/restore-recovery.js";
import { Store } from "../../../src/store/store.js";
import { useTempDirs } from "../store/temp-dir.js";

const tempDir = useTempDirs();
const ID = "20260104_030000_k3x9q2";
const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

function openStore(): Store {
  const dir = tempDir();
  const store = Store.open(join(dir, "state", "hop3.db"), join(dir, "secrets", "store.key"));
  stores.push(store);
  return store;
}

describe("restore rows", () => {
  it("are written when a restore starts, follow its steps and go when it finishes", () => {
    const store = openStore();
    store.createApp("copy");
    expect(restoreSummary(store, "copy")).toBeUndefined();
    store.restores.begin("copy", ID);
    store.restores.step("copy", "Restoring the volumes");
    expect(restoreSummary(store, "copy")).toMatchObject({
      backup: ID,
      status: "restoring",
      step: "Restoring the volumes",
      error: null,
    });
    store.restores.finish("copy");
    expect(store.restores.get("copy")).toBeUndefined();
  });

  it("a new restore replaces the failed one; destroying the app removes its row", () => {
    const store = openStore();
    store.createApp("copy");
    store.restores.begin("copy", ID);
    store.restores.fail("copy", "it broke");
    expect(store.restores.get("copy")).toMatchObject({ status: "failed", error: "it broke" });
    // a failed restore takes no more steps
    store.restores.step("copy", "later");
    expect(store.restores.get("copy")?.step).toBeUndefined();
    store.restores.begin("copy", "20260105_030000_abcdef");
    expect(store.restores.get("copy")).toMatchObject({
      backup: "20260105_030000_abcdef",
      status: "restoring",
    });
    expect(store.restores.get("copy")?.error).toBeUndefined();
    store.deleteApp("copy");
    expect(store.restores.list()).toEqual([]);
  });
});

describe("reconcileRestores (at the server's start)", () => {
  it("stops the app of a restore that was still running and marks it failed, with the step and the way out", () => {
    const store = openStore();
    store.createApp("copy");
    store.restores.begin("copy", ID);
    store.restores.step("copy", "Loading the image of v1 and starting copy");
    store.setDesiredState("copy", "running"); // as a restore does before its rollout
    store.createApp("whole"); // an app without a restore is not touched
    store.createApp("older");
    store.restores.begin("older", ID);
    store.restores.fail("older", "the restore of backup X failed: disk full");
    store.setDesiredState("older", "running"); // started by hand since: left as it is

    const notes = reconcileRestores(store);

    expect(notes).toEqual([
      `copy: the restore of backup ${ID} was interrupted (at: Loading the image of v1 and starting copy); the app is stopped and marked failed`,
    ]);
    expect(store.requireApp("copy").desiredState).toBe("stopped");
    const row = store.restores.get("copy");
    expect(row?.status).toBe("failed");
    expect(row?.error).toBe(
      interruptedRestoreError({ app: "copy", backup: ID, step: "Loading the image of v1 and starting copy" }),
    );
    expect(row?.error).toMatch(/^interrupted: the server stopped during the restore of backup /);
    expect(row?.error).toContain(`hop backup:restore ${ID} --to copy --force`);
    expect(row?.error).toContain("hop destroy copy --confirm copy");
    expect(store.requireApp("whole").desiredState).toBe("running");
    expect(store.restores.get("whole")).toBeUndefined();
    expect(store.requireApp("older").desiredState).toBe("running");
    expect(store.restores.get("older")?.error).toBe("the restore of backup X failed: disk full");
    // a second start finds nothing more to do
    expect(reconcileRestores(store)).toEqual([]);
  });

  it("says so when the restore was cut before it announced a step", () => {
    expect(interruptedRestoreError({ app: "a", backup: ID })).toMatch(
      new RegExp(`restore of backup ${ID}; the app is stopped`),
    );
  });
});
