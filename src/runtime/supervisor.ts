/**
 * One planner, two supervisors (issue: production runtime). A supervisor turns a ContainerPlan into a
 * running, restarted-when-it-dies container and removes it again. Both kinds produce ordinary Podman
 * containers with Hop3's labels, so finding, inspecting and reading logs stays the same.
 */
import type Docker from "dockerode";
import type { ContainerPlan } from "../deploy/plan.js";
import { type RunningInstance, removeContainer, startContainer } from "./containers.js";

export interface Supervisor {
  readonly kind: "podman" | "quadlet";
  /** Why this supervisor was chosen, for `hop3 doctor` and `GET /api/v1/info`. */
  readonly reason: string;
  start(plan: ContainerPlan): Promise<RunningInstance>;
  remove(instance: Pick<RunningInstance, "id" | "name">): Promise<void>;
  /** Forgets whatever the supervisor keeps for these volumes (quadlet `.volume` units) before they go. */
  dropVolumes?(names: string[]): Promise<void>;
}

/**
 * Podman alone, for hosts without systemd: restart policy `always` (conmon restarts a crashed process) plus
 * a watchdog that starts again what was killed (see container-watchdog.ts).
 */
export class PodmanSupervisor implements Supervisor {
  readonly kind = "podman" as const;
  /** Containers being removed on purpose: the watchdog must not revive them. */
  readonly stopping = new Set<string>();

  constructor(
    private readonly docker: Docker,
    readonly reason = "systemd is not running on this host",
  ) {}

  start(plan: ContainerPlan): Promise<RunningInstance> {
    return startContainer(this.docker, plan);
  }

  async remove(instance: Pick<RunningInstance, "id" | "name">): Promise<void> {
    this.stopping.add(instance.id);
    try {
      await removeContainer(this.docker, instance.id);
    } finally {
      // keep the mark a little longer than the watchdog's delay: its `die` event may still be in flight
      setTimeout(() => this.stopping.delete(instance.id), 10_000).unref();
    }
  }
}
