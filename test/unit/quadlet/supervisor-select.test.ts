import { describe, expect, it } from "vitest";
import { chooseSupervisor, type HostFacts } from "../../../src/runtime/supervisor-select.js";

const good: HostFacts = {
  pid1: "systemd",
  systemdBooted: true,
  userManager: "degraded",
  podmanVersion: "5.4.2",
  cgroupVersion: "2",
};

describe("chooseSupervisor", () => {
  it("picks quadlets when everything is there", () => {
    const c = chooseSupervisor(good);
    expect(c.kind).toBe("quadlet");
    expect(c.reason).toContain("podman 5.4.2");
  });

  it("falls back to podman on a host without systemd, saying what PID 1 is", () => {
    const c = chooseSupervisor({
      pid1: "tini",
      systemdBooted: false,
      podmanVersion: "4.3.1",
      cgroupVersion: "1",
    });
    expect(c.kind).toBe("podman");
    expect(c.reason).toBe(
      "systemd is not running (PID 1 is tini); podman 4.3.1 < 4.4; cgroup v1 (quadlets need v2)",
    );
  });

  it("falls back when the user manager does not answer", () => {
    const c = chooseSupervisor({
      ...good,
      userManager: undefined,
      userManagerError: "Failed to connect to bus",
    });
    expect(c).toEqual({
      kind: "podman",
      reason: "the systemd user manager does not answer (Failed to connect to bus)",
    });
  });

  it("falls back for podman 4.3", () => {
    expect(chooseSupervisor({ ...good, podmanVersion: "4.3.1" }).reason).toBe("podman 4.3.1 < 4.4");
    expect(chooseSupervisor({ ...good, podmanVersion: "4.4.0" }).kind).toBe("quadlet");
  });

  it("obeys HOP3_SUPERVISOR", () => {
    expect(chooseSupervisor(good, "podman")).toEqual({
      kind: "podman",
      reason: "forced by HOP3_SUPERVISOR=podman",
    });
    expect(chooseSupervisor(good, "quadlet").reason).toMatch(/^forced by HOP3_SUPERVISOR=quadlet/);
    expect(() => chooseSupervisor({ ...good, cgroupVersion: "1" }, "quadlet")).toThrow(/cgroup v1/);
    expect(() => chooseSupervisor(good, "docker")).toThrow(/not valid/);
  });
});
