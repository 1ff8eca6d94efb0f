import { describe, expect, it } from "vitest";
import type { Platform } from "../../../src/deploy/platform.js";
import { type CronRunner, CronScheduler } from "../../../src/runtime/scheduler.js";

const job = (name: string, schedule: string) => ({ name, schedule, command: `echo ${name}` });

function setup(running = new Set<string>()) {
  const apps = [
    { name: "a", desiredState: "running", jobs: [job("cron", "* * * * *"), job("cron-hourly", "0 * * * *")] },
    { name: "stopped", desiredState: "stopped", jobs: [job("cron", "* * * * *")] },
    { name: "old", desiredState: "running", jobs: undefined },
  ];
  const store = {
    listApps: () => apps.map(({ name, desiredState }) => ({ name, desiredState })),
    currentRelease: (name: string) => {
      const app = apps.find((a) => a.name === name);
      return { number: 1, image: "img", spec: app?.jobs ? { cron: app.jobs } : {} };
    },
  };
  const ran: string[] = [];
  const logs: string[] = [];
  const runner = {
    isRunning: async (app: string, name: string) => running.has(`${app}/${name}`),
    run: async (app: string, j: { name: string }) => {
      ran.push(`${app}/${j.name}`);
      return { exitCode: 0, container: "c" };
    },
  } as unknown as CronRunner;
  const p = { store, log: (m: string) => logs.push(m) } as unknown as Platform;
  return { scheduler: new CronScheduler(p, runner), ran, logs };
}

describe("CronScheduler.tick", () => {
  it("runs the due jobs of running apps only", async () => {
    const { scheduler, ran } = setup();
    expect(await scheduler.tick(new Date(2025, 5, 2, 10, 0, 0, 20))).toEqual(["a/cron", "a/cron-hourly"]);
    expect(await scheduler.tick(new Date(2025, 5, 2, 10, 1))).toEqual(["a/cron"]);
    await new Promise((r) => setTimeout(r, 0));
    expect(ran).toEqual(["a/cron", "a/cron-hourly", "a/cron"]);
  });

  it("handles a minute once, even when the timer fires again or late within it", async () => {
    const { scheduler } = setup();
    expect(await scheduler.tick(new Date(2025, 5, 2, 10, 5, 0, 30))).toEqual(["a/cron"]);
    expect(await scheduler.tick(new Date(2025, 5, 2, 10, 5, 59, 999))).toEqual([]);
    expect(await scheduler.tick(new Date(2025, 5, 2, 10, 4))).toEqual([]);
    expect(await scheduler.tick(new Date(2025, 5, 2, 10, 6))).toEqual(["a/cron"]);
  });

  it("skips a job whose previous run is still going, and says so", async () => {
    const { scheduler, logs } = setup(new Set(["a/cron"]));
    expect(await scheduler.tick(new Date(2025, 5, 2, 11, 0))).toEqual(["a/cron-hourly"]);
    expect(logs.join("\n")).toMatch(/a cron is still running; skipping/);
  });
});
