/**
 * Backup schedules in BackupService with a real store and doubles for the machinery (the backups themselves
 * are test/integration/backups.test.ts's, the timers test/e2e's): with timers, schedule/unschedule keep them in
 * line and the minute tick stays off; a scheduled run, whoever starts it, applies the schedule's retention and
 * records a failure exactly as the tick does.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AddonService } from "../../../src/addons/service.js";
import { backupId } from "../../../src/backup/format.js";
import { BackupService, type BackupSummary } from "../../../src/backup/service.js";
import type { BackupTimerEntry } from "../../../src/backup/timers.js";
import type { Deployer } from "../../../src/deploy/deployer.js";
import type { Lifecycle } from "../../../src/deploy/lifecycle.js";
import type { Platform } from "../../../src/deploy/platform.js";
import { Store } from "../../../src/store/store.js";
import { Hop3Error } from "../../../src/util/errors.js";

const roots: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

const quiet = { step: () => {}, log: () => {} };

function setup(opts: { timers?: boolean; failSync?: () => boolean } = {}) {
  const root = mkdtempSync(join(tmpdir(), "hop3-bk-sched-"));
  roots.push(root);
  const store = Store.open(join(root, "hop3.db"), join(root, "secret.key"));
  const logs: string[] = [];
  const platform = { store, settings: { root }, log: (m: string) => logs.push(m) } as unknown as Platform;
  const synced: BackupTimerEntry[][] = [];
  const timers = {
    sync: async (schedules: readonly BackupTimerEntry[]) => {
      if (opts.failSync?.()) throw new Hop3Error("could not set up 1 backup timer(s): boom");
      synced.push(schedules.map((s) => ({ app: s.app, cron: s.cron })));
    },
  };
  const service = new BackupService({
    platform,
    deployer: {} as Deployer,
    lifecycle: {} as Lifecycle,
    addons: {} as AddonService,
    version: "test",
    keyFile: join(root, "backup.key"),
    ...(opts.timers ? { timers } : {}),
  });
  /** A complete-looking backup of the app (what list() and destroy() read), `n` seconds into 2026. */
  const fakeBackup = (app: string, n: number) => {
    const id = backupId(new Date(Date.UTC(2026, 0, 1, 0, 0, n)), new Uint8Array(6).fill(n));
    mkdirSync(join(root, "backups", app, id), { recursive: true });
    writeFileSync(join(root, "backups", app, id, "metadata.json"), "{}");
    return id;
  };
  const ids = (app: string) => readdirSync(join(root, "backups", app)).sort();
  return { root, store, service, logs, synced, fakeBackup, ids };
}

describe("backup schedules with systemd timers", () => {
  it("schedule and unschedule sync the timers with exactly the schedules", async () => {
    const { store, service, synced } = setup({ timers: true });
    store.createApp("shop");
    store.createApp("blog");
    await service.schedule("shop", "0 3 * * *", 7);
    await service.schedule("blog", "*/5 * * * *", 2);
    await service.schedule("shop", "30 4 * * *", 3);
    expect(synced.at(-1)).toEqual([
      { app: "blog", cron: "*/5 * * * *" },
      { app: "shop", cron: "30 4 * * *" },
    ]);
    expect(await service.unschedule("blog")).toEqual({ app: "blog", removed: true });
    expect(synced.at(-1)).toEqual([{ app: "shop", cron: "30 4 * * *" }]);
    expect(service.schedules()).toEqual([{ app: "shop", cron: "30 4 * * *", keep: 3 }]);
  });

  it("refuses a bad schedule or keep before saving or syncing anything", async () => {
    const { store, service, synced } = setup({ timers: true });
    store.createApp("shop");
    await expect(service.schedule("shop", "61 * * * *", 7)).rejects.toThrow(/invalid minute/);
    await expect(service.schedule("shop", "0 3 * * *", 0)).rejects.toThrow(/--keep/);
    await expect(service.schedule("nope", "0 3 * * *", 7)).rejects.toThrow(Hop3Error);
    expect(service.schedules()).toEqual([]);
    expect(synced).toEqual([]);
  });

  it("a timer that cannot be set up leaves the app's previous schedule, and says so", async () => {
    let fail = false;
    const { store, service } = setup({ timers: true, failSync: () => fail });
    store.createApp("shop");
    await service.schedule("shop", "0 3 * * *", 7);
    fail = true;
    await expect(service.schedule("shop", "* * * * *", 1)).rejects.toThrow(
      /schedule of shop was not saved: its systemd timer could not be set up: .*boom/,
    );
    expect(service.schedules()).toEqual([{ app: "shop", cron: "0 3 * * *", keep: 7 }]);
  });

  it("drops the schedule and timer of a destroyed app at the next sync (its backups stay)", async () => {
    const { store, service, synced, logs, fakeBackup, ids } = setup({ timers: true });
    store.createApp("shop");
    await service.schedule("shop", "0 3 * * *", 7);
    const id = fakeBackup("shop", 1);
    store.deleteApp("shop");
    await service.syncTimers();
    expect(synced.at(-1)).toEqual([]);
    expect(service.schedules()).toEqual([]);
    expect(logs).toContain("backup: shop no longer exists: its backup schedule is removed");
    expect(ids("shop")).toEqual([id]);
  });

  it("never starts the minute tick (the timers run the schedules)", () => {
    vi.useFakeTimers();
    const { service } = setup({ timers: true });
    const tick = vi.spyOn(service, "tick");
    service.startScheduler();
    vi.advanceTimersByTime(5 * 60_000);
    expect(tick).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("a scheduled run (timer or tick)", () => {
  it("records a failure for backup:list and hop apps, logs it, and throws it", async () => {
    const { store, service, logs } = setup({ timers: true });
    store.createApp("empty");
    await service.schedule("empty", "* * * * *", 3);
    const at = new Date("2026-12-05T03:00:00Z");
    // no release: create() refuses, as it does for the tick in the integration test
    await expect(service.runScheduled("empty", quiet, at)).rejects.toThrow(/nothing to back up/);
    const listed = await service.list();
    expect(listed.failures).toEqual([
      { app: "empty", at: at.toISOString(), error: expect.stringMatching(/nothing to back up/) },
    ]);
    expect(service.lastScheduledFailure("empty")?.error).toMatch(/nothing to back up/);
    expect(logs.some((l) => /^backup: scheduled backup of empty FAILED: .*nothing to back up/.test(l))).toBe(
      true,
    );
  });

  it("keeps the schedule's --keep newest after a success, and a success clears earlier failures", async () => {
    const { store, service, fakeBackup, ids, logs } = setup({ timers: true });
    store.createApp("shop");
    await service.schedule("shop", "0 3 * * *", 2);
    await expect(service.runScheduled("shop", quiet)).rejects.toThrow();
    expect(service.lastScheduledFailure("shop")).toBeDefined();
    const old = [fakeBackup("shop", 1), fakeBackup("shop", 2), fakeBackup("shop", 3)];
    let made = "";
    vi.spyOn(service, "create").mockImplementation(async (app, _p, trigger) => {
      expect(trigger).toBe("scheduled");
      made = fakeBackup(app, 4);
      return { id: made, app, trigger } as BackupSummary;
    });
    const b = await service.runScheduled("shop", quiet);
    expect(b.id).toBe(made);
    expect(ids("shop")).toEqual([old[2], made]);
    expect(service.lastScheduledFailure("shop")).toBeUndefined();
    expect((await service.list()).failures).toEqual([]);
    expect(logs).toContain(`backup: scheduled backup of shop: ${made}`);
    expect(logs).toContain(`backup: shop: ${old[0]} removed (--keep 2)`);
  });

  it("refuses an app without a schedule (recording nothing), and a destroyed app's loses its schedule", async () => {
    const { store, service, synced } = setup({ timers: true });
    store.createApp("shop");
    await expect(service.runScheduled("shop", quiet)).rejects.toThrow(/shop has no backup schedule/);
    expect(service.lastScheduledFailure("shop")).toBeUndefined();
    await service.schedule("shop", "0 3 * * *", 2);
    store.deleteApp("shop");
    await expect(service.runScheduled("shop", quiet)).rejects.toThrow(/no longer exists/);
    expect(service.schedules()).toEqual([]);
    expect(synced.at(-1)).toEqual([]);
  });

  it("the tick (no timers) runs only due schedules, through the same path", async () => {
    const { store, service } = setup();
    store.createApp("shop");
    store.createApp("blog");
    await service.schedule("shop", "0 3 * * *", 2);
    await service.schedule("blog", "0 4 * * *", 2);
    const run = vi.spyOn(service, "runScheduled");
    const at = new Date(2026, 11, 5, 3, 0);
    await service.tick(at);
    expect(run.mock.calls.map((c) => [c[0], c[2]])).toEqual([["shop", at]]);
    // the failure (no release) is recorded, not thrown out of the tick
    expect(service.lastScheduledFailure("shop")?.at).toBe(at.toISOString());
    expect(service.lastScheduledFailure("blog")).toBeUndefined();
  });
});
