/**
 * Self-healing on hosts without systemd. Podman's restart policy restarts a process that crashes, but not a
 * container that was killed (`podman kill`, the OOM killer acting through it, a runtime hiccup): those stay
 * `exited`. The watchdog listens to Podman's `die` events and sweeps now and then, and starts again every
 * container that the store says should run. Containers Hop3 itself is stopping are left alone.
 */
import type Docker from "dockerode";
import { LABEL } from "./labels.js";

export interface WatchdogOptions {
  /** Whether the container with these labels is part of a formation that should be running now. */
  shouldRun: (labels: Record<string, string>) => boolean;
  /** Ids being stopped on purpose (removal in progress). */
  stopping: ReadonlySet<string>;
  log: (msg: string) => void;
  /** Called after a container was started again (the router may need its table re-applied). */
  onRevived?: () => Promise<void>;
  /** Wait before restarting, so a deliberate stop followed by a removal is not undone. */
  delayMs?: number;
  sweepMs?: number;
}

/**
 * When the watchdog may start a container again: at once the first time, then after a delay that doubles
 * with each restart that did not last (1 s, 2 s, 4 s ... up to a minute), never giving up; a run of a minute
 * or more forgets the failures. The same policy as the quadlet units (RestartSteps=, quadlet/render.ts).
 */
export class RestartBackoff {
  private readonly state = new Map<string, { failures: number; notBefore: number }>();

  constructor(
    private readonly baseMs = 1_000,
    private readonly maxMs = 60_000,
    /** A run at least this long counts as healthy. */
    private readonly healthyMs = 60_000,
  ) {}

  /** Delay before the next restart after `failures` restarts in a row that did not last. */
  delayFor(failures: number): number {
    if (failures <= 0) return 0;
    return Math.min(this.maxMs, this.baseMs * 2 ** (failures - 1));
  }

  /** Whether `id` may be started now; when not, the sweep asks again later. */
  mayStart(id: string, now = Date.now()): boolean {
    return (this.state.get(id)?.notBefore ?? 0) <= now;
  }

  /** Records a restart of `id`, whose last run lasted `ranMs`; answers the wait before the next one. */
  restarted(id: string, ranMs: number, now = Date.now()): number {
    const failures = ranMs >= this.healthyMs ? 1 : (this.state.get(id)?.failures ?? 0) + 1;
    const delay = this.delayFor(failures);
    this.state.set(id, { failures, notBefore: now + delay });
    return delay;
  }

  forget(id: string): void {
    this.state.delete(id);
  }
}

/** Longest event line kept while waiting for its newline (events are small JSON objects). */
const MAX_EVENT_LINE = 64 * 1024;

export class ContainerWatchdog {
  private stopped = false;
  private readonly backoff = new RestartBackoff();
  private events?: NodeJS.ReadableStream;
  private sweepTimer?: NodeJS.Timeout;
  private readonly pending = new Set<string>();

  constructor(
    private readonly docker: Docker,
    private readonly opts: WatchdogOptions,
  ) {}

  start(): void {
    void this.subscribe();
    this.sweepTimer = setInterval(() => void this.sweep(), this.opts.sweepMs ?? 2_000);
    this.sweepTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    (this.events as unknown as { destroy?: () => void })?.destroy?.();
  }

  private async subscribe(): Promise<void> {
    while (!this.stopped) {
      try {
        const stream = (await this.docker.getEvents({
          filters: { type: ["container"], event: ["die"], label: [`${LABEL.managed}=true`] },
        })) as NodeJS.ReadableStream;
        this.events = stream;
        let buffered = "";
        await new Promise<void>((resolve) => {
          stream.on("data", (chunk: Buffer) => {
            buffered += chunk.toString("utf8");
            if (buffered.length > MAX_EVENT_LINE && !buffered.includes("\n")) buffered = "";
            let nl = buffered.indexOf("\n");
            while (nl >= 0) {
              const line = buffered.slice(0, nl).trim();
              buffered = buffered.slice(nl + 1);
              if (line) this.onEvent(line);
              nl = buffered.indexOf("\n");
            }
          });
          stream.on("end", resolve);
          stream.on("error", () => resolve());
          stream.on("close", resolve);
        });
      } catch {
        // the API socket may be restarting: try again shortly
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, 2000));
    }
  }

  private onEvent(line: string): void {
    let ev: { id?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
    try {
      ev = JSON.parse(line);
    } catch {
      return;
    }
    const id = ev.Actor?.ID ?? ev.id;
    if (id) this.schedule(id);
  }

  private schedule(id: string): void {
    if (this.pending.has(id)) return;
    this.pending.add(id);
    setTimeout(() => {
      this.pending.delete(id);
      void this.revive(id);
    }, this.opts.delayMs ?? 500).unref();
  }

  /** Starts the container again if it is still there, not running, and meant to run. */
  private async revive(id: string): Promise<void> {
    if (this.stopped || this.opts.stopping.has(id)) return;
    try {
      const info = await this.docker.getContainer(id).inspect();
      if (info.State.Running || info.State.Restarting) return;
      const labels = info.Config.Labels ?? {};
      // shouldRun decides for every kind (process instances, addons); one-offs never qualify
      if (!this.opts.shouldRun(labels)) {
        this.backoff.forget(id);
        return;
      }
      // backing off: the sweep schedules it again once the delay is over
      if (!this.backoff.mayStart(id)) return;
      const ranMs = Date.parse(info.State.FinishedAt) - Date.parse(info.State.StartedAt);
      const next = this.backoff.restarted(id, Number.isFinite(ranMs) ? ranMs : 0);
      this.opts.log(
        `${info.Name.replace(/^\//, "")} stopped (exit ${info.State.ExitCode}); starting it again` +
          (next > 1000 ? ` (if it stops again, next try in ${Math.round(next / 1000)} s)` : ""),
      );
      await this.docker.getContainer(id).start();
      await this.opts.onRevived?.();
    } catch {
      // removed meanwhile, or the API is busy: the next sweep looks again
    }
  }

  private async sweep(): Promise<void> {
    if (this.stopped) return;
    try {
      const list = await this.docker.listContainers({
        all: true,
        filters: { label: [`${LABEL.managed}=true`], status: ["exited"] },
      });
      for (const c of list) if (!this.opts.stopping.has(c.Id)) this.schedule(c.Id);
    } catch {
      // try at the next sweep
    }
  }
}
