import { describe, expect, it } from "vitest";
import { planRelease } from "../../../src/deploy/plan.js";
import {
  buildLimitOptions,
  buildLimits,
  effectiveLimits,
  enforceable,
  enforcementOf,
  hostConfigLimits,
  parseSize,
  releaseLimits,
} from "../../../src/runtime/limits.js";

const MiB = 1024 * 1024;

describe("parseSize", () => {
  it("reads hop3.toml sizes as Podman does (binary units)", () => {
    expect(parseSize("512M")).toBe(512 * MiB);
    expect(parseSize("2G")).toBe(2048 * MiB);
    expect(parseSize("1.5GiB")).toBe(1536 * MiB);
    expect(parseSize("256mb")).toBe(256 * MiB);
    expect(parseSize(64 * MiB)).toBe(64 * MiB);
  });
  it("refuses garbage and sizes Podman would refuse, with a usage error", () => {
    expect(() => parseSize("lots")).toThrow(/expected a size like "512M"/);
    expect(() => parseSize("1K", "[limits] memory")).toThrow(
      /\[limits\] memory: "1K" is below the minimum of 6 MiB/,
    );
  });
});

describe("effectiveLimits", () => {
  const defaults = { memoryBytes: 1024 * MiB, pids: 2048 };
  it("the app's [limits] win, the platform's defaults fill the rest", () => {
    expect(effectiveLimits({ memory: "512M", cpu: 0.5 }, defaults)).toEqual({
      memoryBytes: 512 * MiB,
      cpus: 0.5,
      pids: 2048,
    });
    expect(effectiveLimits(undefined, defaults)).toEqual(defaults);
  });
  it("0 in the settings means no limit", () => {
    expect(effectiveLimits({}, { memoryBytes: 0, cpus: 0, pids: 0 })).toEqual({});
  });
  it("every container of a release gets them: process instances (the plan) and one-offs alike", () => {
    const all = { memory: true, cpu: true, pids: true };
    const limits = releaseLimits(
      { limits: { memory: "256M", processes: 50 } },
      { app: defaults, enforced: all },
    );
    expect(limits).toEqual({ memoryBytes: 256 * MiB, pids: 50 });
    const plans = planRelease({
      app: "a",
      release: 1,
      image: "i",
      processes: { web: "x", worker: "y" },
      scale: {},
      env: {},
      webPort: 5000,
      hostNames: ["a.example"],
      generation: "g",
      limits,
    });
    expect(plans.map((p) => p.limits)).toEqual([limits, limits]);
  });
});

describe("what each runtime writes", () => {
  const l = { memoryBytes: 512 * MiB, cpus: 1.5, pids: 64 };
  it("Podman API HostConfig: swap held to the memory limit, CPUs in nano-CPUs", () => {
    expect(hostConfigLimits(l)).toEqual({
      Memory: 512 * MiB,
      MemorySwap: 512 * MiB,
      NanoCpus: 1_500_000_000,
      PidsLimit: 64,
    });
    expect(hostConfigLimits(undefined)).toEqual({});
  });
  it("build API options", () => {
    expect(buildLimitOptions(l)).toEqual({
      memory: 512 * MiB,
      memswap: 512 * MiB,
      cpuperiod: 100_000,
      cpuquota: 150_000,
    });
  });
});

describe("enforcementOf (hop doctor)", () => {
  it("rootless on cgroup v1 enforces nothing, and says why", () => {
    const e = enforcementOf({ cgroupVersion: "v1", cgroupControllers: [], rootless: true });
    expect(e).toMatchObject({ memory: false, cpu: false, pids: false });
    expect(e.reason).toMatch(/cgroup v1/);
  });
  it("cgroup v2 enforces the delegated controllers", () => {
    expect(
      enforcementOf({ cgroupVersion: "v2", cgroupControllers: ["cpu", "memory", "pids"], rootless: true }),
    ).toEqual({ memory: true, cpu: true, pids: true });
    const partial = enforcementOf({
      cgroupVersion: "v2",
      cgroupControllers: ["memory", "pids"],
      rootless: true,
    });
    expect(partial.cpu).toBe(false);
    expect(partial.reason).toMatch(/cpu are not delegated/);
  });
});

describe("enforceable", () => {
  const asked = { memoryBytes: 256 * MiB, cpus: 0.5, pids: 50 };
  it("asks only for the limits the host enforces: runc fails a container for one it cannot", () => {
    // the systemd test host: cgroup v2 with no controller delegated to the user (pids limit: "openat2 ... failed")
    const none = enforcementOf({ cgroupVersion: "2", cgroupControllers: [] });
    expect(enforceable(asked, none)).toEqual({});
    expect(releaseLimits({ limits: { processes: 50 } }, { app: asked, enforced: none })).toEqual({});
    // rootless cgroup v1 (this build machine): Podman 4.3's builder fails every RUN step with a memory limit
    expect(
      buildLimits({ build: asked, enforced: enforcementOf({ cgroupVersion: "1", rootless: true }) }),
    ).toEqual({});
    const memoryOnly = enforcementOf({ cgroupVersion: "2", cgroupControllers: ["memory"] });
    expect(enforceable(asked, memoryOnly)).toEqual({ memoryBytes: 256 * MiB });
  });
  it("asks for none while enforcement is unknown", () => {
    expect(enforceable(asked, undefined)).toEqual({});
    expect(buildLimits({ build: asked })).toEqual({});
  });
  it("keeps every limit where all are enforced", () => {
    const all = enforcementOf({ cgroupVersion: "2", cgroupControllers: ["cpu", "memory", "pids"] });
    expect(enforceable(asked, all)).toEqual(asked);
  });
});
