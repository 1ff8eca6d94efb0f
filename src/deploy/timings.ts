/**
 * Where a deploy's seconds go: one recorder per deploy, handed down with its Progress (no global state), filled
 * by the steps as they end, sent as the deploy stream's `timings` event (docs/api.md) and shown by
 * `hop deploy --timings` (a table) and `git push` (one line). Sub-steps (the buildpacks, export) are recorded
 * with `sub`, under the step that contains them.
 */

export interface StepTiming {
  step: string;
  ms: number;
  /** A part of the step above it (e.g. one buildpack of the build). */
  sub?: boolean;
}

export class StepTimings {
  private readonly steps: StepTiming[] = [];
  private readonly started: number;

  constructor(private readonly now: () => number = Date.now) {
    this.started = now();
  }

  add(step: string, ms: number, sub = false): void {
    this.steps.push({ step, ms: Math.max(0, Math.round(ms)), ...(sub ? { sub: true } : {}) });
  }

  /**
   * Runs `fn`, recording its duration under `step` whether it succeeds or fails. The step takes its place
   * when it starts, so the sub-steps recorded meanwhile come after it.
   */
  async time<T>(step: string, fn: () => Promise<T>, sub = false): Promise<T> {
    const t0 = this.now();
    const entry: StepTiming = { step, ms: 0, ...(sub ? { sub: true } : {}) };
    this.steps.push(entry);
    try {
      return await fn();
    } finally {
      entry.ms = Math.max(0, Math.round(this.now() - t0));
    }
  }

  /** The steps so far, and the total since the recorder was made (the deploy request arrived). */
  snapshot(): { steps: StepTiming[]; totalMs: number } {
    return { steps: [...this.steps], totalMs: Math.max(0, Math.round(this.now() - this.started)) };
  }
}

/** `fn` timed under `step` when the deploy records timings (a restart or scale does not). */
export function timed<T>(
  t: StepTimings | undefined,
  step: string,
  fn: () => Promise<T>,
  sub = false,
): Promise<T> {
  return t ? t.time(step, fn, sub) : fn();
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

/** Aligned rows for `hop deploy --timings`: sub-steps indented under their step, then the total. */
export function timingsTable(t: { steps: StepTiming[]; totalMs: number }): string[] {
  const rows = [
    ...t.steps.map((s) => [`${s.sub ? "  " : ""}${s.step}`, secs(s.ms)]),
    ["total", secs(t.totalMs)],
  ];
  const width = Math.max(4, ...rows.map((r) => r[0]!.length));
  const numWidth = Math.max(...rows.map((r) => r[1]!.length));
  return [
    `${"STEP".padEnd(width)}  ${"TIME".padStart(numWidth)}`,
    ...rows.map(([name, time]) => `${name!.padEnd(width)}  ${time!.padStart(numWidth)}`),
  ];
}

/** One line for a deploy log (git push): the top-level steps and the total. */
export function timingsSummary(t: { steps: StepTiming[]; totalMs: number }): string {
  const top = t.steps.filter((s) => !s.sub).map((s) => `${s.step} ${(s.ms / 1000).toFixed(1)}s`);
  return `Timings: ${[...top, `total ${(t.totalMs / 1000).toFixed(1)}s`].join(", ")}`;
}

/** A `timings` event's body from an untrusted stream: the well-formed parts only. */
export function readTimingsEvent(ev: unknown): { steps: StepTiming[]; totalMs: number } | undefined {
  if (typeof ev !== "object" || ev === null) return undefined;
  const { steps, totalMs } = ev as { steps?: unknown; totalMs?: unknown };
  if (!Array.isArray(steps) || typeof totalMs !== "number") return undefined;
  const ok = steps.filter(
    (s): s is StepTiming =>
      typeof s === "object" && s !== null && typeof s.step === "string" && typeof s.ms === "number",
  );
  return { steps: ok.map((s) => ({ step: s.step, ms: s.ms, ...(s.sub ? { sub: true } : {}) })), totalMs };
}
