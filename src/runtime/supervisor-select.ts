/**
 * Which supervisor runs apps on this host: quadlets when systemd, a reachable user manager, Podman >= 4.4
 * and cgroup v2 are all there, else Podman's own restart policies. The reason is shown by `hop3 doctor`.
 */
import { existsSync, readFileSync } from "node:fs";
import type Docker from "dockerode";
import { Hop3Error } from "../util/errors.js";
import { compareVersions, QUADLET_MIN_VERSION } from "./quadlet/keys.js";
import { QuadletSupervisor } from "./quadlet-supervisor.js";
import { PodmanSupervisor, type Supervisor } from "./supervisor.js";

export interface HostFacts {
  /** Name of PID 1 (`/proc/1/comm`), e.g. "systemd", "tini", "process_api". */
  pid1: string;
  /** sd_booted(): /run/systemd/system exists. */
  systemdBooted: boolean;
  /** `systemctl --user is-system-running` output, or undefined when the user manager does not answer. */
  userManager?: string;
  /** Why the user manager did not answer (stderr). */
  userManagerError?: string;
  podmanVersion?: string;
  /** "1" or "2" as Podman reports it. */
  cgroupVersion?: string;
  /** systemd's version (`systemctl --version`): decides the units' restart back-off (quadlet/render.ts). */
  systemdVersion?: number;
}

export interface SupervisorChoice {
  kind: "podman" | "quadlet";
  reason: string;
}

/** Pure: the decision from the facts and HOP3_SUPERVISOR. */
export function chooseSupervisor(facts: HostFacts, forced?: string): SupervisorChoice {
  if (forced && forced !== "podman" && forced !== "quadlet" && forced !== "auto") {
    throw new Hop3Error(`HOP3_SUPERVISOR=${forced} is not valid`, "usage", "use podman, quadlet or auto");
  }
  if (forced === "podman") return { kind: "podman", reason: "forced by HOP3_SUPERVISOR=podman" };
  const missing: string[] = [];
  if (!facts.systemdBooted || facts.pid1 !== "systemd") {
    missing.push(`systemd is not running (PID 1 is ${facts.pid1 || "unknown"})`);
  } else if (facts.userManager === undefined) {
    missing.push(
      `the systemd user manager does not answer${facts.userManagerError ? ` (${facts.userManagerError})` : ""}`,
    );
  }
  if (!facts.podmanVersion) missing.push("the Podman version is unknown");
  else if (compareVersions(facts.podmanVersion, QUADLET_MIN_VERSION) < 0) {
    missing.push(`podman ${facts.podmanVersion} < ${QUADLET_MIN_VERSION}`);
  }
  if (facts.cgroupVersion !== "2") missing.push(`cgroup v${facts.cgroupVersion ?? "?"} (quadlets need v2)`);
  if (missing.length === 0) {
    return {
      kind: "quadlet",
      reason: `${forced === "quadlet" ? "forced by HOP3_SUPERVISOR=quadlet; " : ""}systemd user manager ${facts.userManager}, podman ${facts.podmanVersion}, cgroup v2`,
    };
  }
  if (forced === "quadlet") {
    throw new Hop3Error(
      `HOP3_SUPERVISOR=quadlet, but quadlets cannot work here: ${missing.join("; ")}`,
      "error",
      "unset HOP3_SUPERVISOR to fall back to Podman restart policies",
    );
  }
  return { kind: "podman", reason: missing.join("; ") };
}

/** Adapter: looks at this host. */
export async function hostFacts(docker: Docker): Promise<HostFacts> {
  const pid1 = existsSync("/proc/1/comm") ? readFileSync("/proc/1/comm", "utf8").trim() : "";
  const systemdBooted = existsSync("/run/systemd/system");
  const facts: HostFacts = { pid1, systemdBooted };
  if (systemdBooted) {
    // loaded at its first use: only systemd hosts run it, and it is ~8 MiB of an idle server
    const { execa } = await import("execa");
    const r = await execa("systemctl", ["--user", "is-system-running"], { reject: false, timeout: 10_000 });
    const state = r.stdout.trim();
    // Non-zero for "degraded"/"starting" too: any state word means the manager answered.
    if (/^(initializing|starting|running|degraded|maintenance|stopping)$/.test(state))
      facts.userManager = state;
    else facts.userManagerError = (r.stderr || state).trim().split("\n")[0];
    const v = await execa("systemctl", ["--version"], { reject: false, timeout: 10_000 });
    const m = /^systemd (\d+)/.exec(v.stdout.trim());
    if (m) facts.systemdVersion = Number(m[1]);
  }
  try {
    const v = (await docker.version()) as Docker.DockerVersion & {
      Components?: { Name: string; Version: string }[];
    };
    facts.podmanVersion = v.Components?.find((c) => /podman/i.test(c.Name))?.Version ?? v.Version;
    const info = (await docker.info()) as { CgroupVersion?: string };
    if (info.CgroupVersion) facts.cgroupVersion = String(info.CgroupVersion);
  } catch {
    // Facts stay unknown; the choice explains it.
  }
  return facts;
}

/** `forced`: HOP3_SUPERVISOR from the server's settings. */
export async function selectSupervisor(
  docker: Docker,
  forced: "quadlet" | "podman" | undefined,
  log: (msg: string) => void = () => {},
): Promise<Supervisor> {
  const facts = await hostFacts(docker);
  const choice = chooseSupervisor(facts, forced);
  if (choice.kind === "podman") return new PodmanSupervisor(docker, choice.reason);
  const supervisor = new QuadletSupervisor(docker, {
    podmanVersion: facts.podmanVersion!,
    ...(facts.systemdVersion ? { systemdVersion: facts.systemdVersion } : {}),
    reason: choice.reason,
    log,
  });
  // After a boot, let systemd finish starting the app units before the server reconciles, or it would
  // find no containers and start duplicates.
  const state = await supervisor.settle(120_000);
  log(`quadlet supervisor: user manager ${state}`);
  return supervisor;
}
