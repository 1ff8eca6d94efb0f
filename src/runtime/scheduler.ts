/**
 * Cron on the Podman supervisor path: the server ticks once a minute and runs the due jobs of every running
 * app's current release in one-off containers (io.hop3.role=cron, io.hop3.cron=NAME). Finished runs are
 * kept (the last few per job) so `hop logs` shows their output as `cron.NAME` and `hop cron:list` their exit
 * codes. Which jobs run when is decided by the pure functions of cron.ts.
 */
import type { CronJob } from "../app/procfile.js";
import type { Platform } from "../deploy/platform.js";
import type { ReleaseSpec } from "../deploy/release-spec.js";
import { releaseMounts } from "../deploy/volumes.js";
import type { ReleaseRow } from "../store/store.js";
import { Hop3Error } from "../util/errors.js";
import { lineSplitter } from "../util/line-splitter.js";
import { listOneOffs, statusOf } from "./containers.js";
import { cronJobCommand, cronJobEnv, cronSource, dueJobs, minuteOf } from "./cron.js";
import { releaseLimits } from "./limits.js";
import { createOneOffContainer, oneOffEnv, pruneFinished, requireCurrentRelease } from "./run-session.js";

/** Finished runs kept per job. */
export const KEEP_CRON_RUNS = 5;

export interface CronRunInfo {
  container: string;
  state: string;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
}

export const cronJobsOf = (release: ReleaseRow | undefined): CronJob[] =>
  ((release?.spec as ReleaseSpec | undefined)?.cron ?? []) as CronJob[];

/** Runs cron jobs, at most one run of a job at a time. */
export class CronRunner {
  /** `app/job` of runs this server is starting or waiting for. */
  private readonly running = new Set<string>();

  constructor(private readonly p: Platform) {}

  async isRunning(app: string, job: string): Promise<boolean> {
    if (this.running.has(`${app}/${job}`)) return true;
    // a run started before a server restart is still Podman's
    const runs = await listOneOffs(this.p.docker, app, "cron");
    return runs.some((c) => c.cron === job && c.state === "running");
  }

  /**
   * Runs a job of the app's current release to its end and answers its exit code. `onLine` receives its
   * output as it comes. A job already running is a conflict.
   */
  async run(
    app: string,
    job: CronJob,
    onLine?: (line: string) => void,
  ): Promise<{ exitCode: number; container: string }> {
    const key = `${app}/${job.name}`;
    const busy = () =>
      new Hop3Error(`cron job ${job.name} of ${app} is already running`, "conflict", "wait for it to finish");
    // claimed before any await: two calls in the same tick cannot both pass
    if (this.running.has(key)) throw busy();
    this.running.add(key);
    try {
      const runs = await listOneOffs(this.p.docker, app, "cron");
      if (runs.some((c) => c.cron === job.name && c.state === "running")) throw busy();
      const { docker } = this.p;
      const release = requireCurrentRelease(this.p, app);
      const container = await createOneOffContainer(docker, {
        app,
        release: release.number,
        image: release.image!,
        cmd: cronJobCommand(job),
        env: oneOffEnv(this.p, app, release, cronJobEnv(job)),
        mounts: releaseMounts(app, release.spec as ReleaseSpec | undefined, this.p.settings.root),
        limits: releaseLimits(release.spec as ReleaseSpec | undefined, this.p.settings.limits),
        role: "cron",
        source: cronSource(job.name),
        cron: job.name,
      });
      await container.start();
      let output: Promise<void> = Promise.resolve();
      if (onLine) {
        // logs, not attach: they hold everything from the start, even if the job is already done
        const stream = (await container.logs({
          follow: true,
          stdout: true,
          stderr: true,
        })) as unknown as NodeJS.ReadableStream;
        const sink = lineSplitter(onLine);
        output = new Promise<void>((resolve) => {
          stream.on("end", resolve);
          stream.on("close", resolve);
          stream.on("error", () => resolve());
        }).then(() => {
          sink.end();
        });
        docker.modem.demuxStream(stream, sink, sink);
      }
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      await Promise.race([output, new Promise((r) => setTimeout(r, 2000))]);
      const name =
        (await container.inspect().catch(() => undefined))?.Name.replace(/^\//, "") ?? container.id;
      await pruneFinished(docker, app, "cron", KEEP_CRON_RUNS, (c) => c.cron === job.name).catch(() => {});
      return { exitCode: StatusCode, container: name };
    } finally {
      this.running.delete(key);
    }
  }

  /** The newest run of each job of an app, as Podman still knows it. */
  async lastRuns(app: string): Promise<Map<string, CronRunInfo>> {
    const out = new Map<string, CronRunInfo>();
    const runs = await listOneOffs(this.p.docker, app, "cron");
    const newest = new Map<string, (typeof runs)[number]>();
    for (const r of runs) if (r.cron) newest.set(r.cron, r); // oldest first: the last one wins
    for (const [job, c] of newest) {
      try {
        const info = await this.p.docker.getContainer(c.id).inspect();
        const finished = info.State.Status === "exited";
        out.set(job, {
          container: c.name,
          state: info.State.Status,
          startedAt: validTime(info.State.StartedAt),
          finishedAt: finished ? validTime(info.State.FinishedAt) : null,
          exitCode: finished ? info.State.ExitCode : null,
        });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    }
    return out;
  }
}

/** Podman answers the zero time for "never". */
function validTime(t: string | undefined): string | null {
  if (!t || t.startsWith("0001-")) return null;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export interface SchedulerOptions {
  now?: () => Date;
  log?: (msg: string) => void;
}

/**
 * Ticks at the start of every minute. The next tick is computed from the clock each time (no drift), a
 * minute is handled at most once (no double runs when a timer fires early or a tick was slow), and ticks
 * never wait for the jobs they start.
 */
export class CronScheduler {
  private timer: NodeJS.Timeout | undefined;
  private lastMinute = -1;
  private readonly now: () => Date;
  private readonly log: (msg: string) => void;

  constructor(
    private readonly p: Platform,
    private readonly runner: CronRunner,
    opts: SchedulerOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
    this.log = opts.log ?? p.log;
  }

  start(): void {
    this.arm();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const now = this.now().getTime();
    const next = minuteOf(new Date(now)).getTime() + 60_000;
    // a little past the boundary: timers may fire a millisecond early
    this.timer = setTimeout(() => this.fire(), next - now + 20);
  }

  private fire(): void {
    const minute = minuteOf(this.now());
    this.arm();
    void this.tick(minute).catch((err) => this.log(`cron: tick failed: ${(err as Error).message}`));
  }

  /** Starts the jobs due in `minute`; answers `app/job` of those started. A minute is handled once. */
  async tick(minute: Date): Promise<string[]> {
    const t = minuteOf(minute).getTime();
    if (t <= this.lastMinute) return [];
    this.lastMinute = t;
    const started: string[] = [];
    for (const app of this.p.store.listApps()) {
      if (app.desiredState !== "running") continue;
      const jobs = dueJobs(cronJobsOf(this.p.store.currentRelease(app.name)), minute);
      for (const job of jobs) {
        if (await this.runner.isRunning(app.name, job.name)) {
          this.log(`cron: ${app.name} ${job.name} is still running; skipping this run`);
          continue;
        }
        started.push(`${app.name}/${job.name}`);
        this.log(`cron: ${app.name} ${job.name}: ${job.command}`);
        void this.runner
          .run(app.name, job)
          .then((r) => this.log(`cron: ${app.name} ${job.name} exited with code ${r.exitCode}`))
          .catch((err) => this.log(`cron: ${app.name} ${job.name} failed: ${(err as Error).message}`));
      }
    }
    return started;
  }
}
