/**
 * A release's life, as one state machine: the only way a release's status changes.
 *
 *   pending -> building -> built -> started -> healthy -> routed -> active -> superseded
 *   (pending -> built directly when the image already exists: config changes, rollbacks)
 *   any state before active -> failed, with the step that failed
 *
 * 'active' can only follow 'routed': a release is recorded as serving only once the router serves it, so a
 * failure at the switch leaves the previous release active (and its instances running).
 */
import type { ReleasePatch, ReleaseRow, ReleaseStatus, Store } from "../store/store.js";
import { Hop3Error } from "../util/errors.js";

export type ReleaseState =
  | "pending"
  | "building"
  | "built"
  | "started"
  | "healthy"
  | "routed"
  | "active"
  | "superseded"
  | "failed";

/** Where a deploy failed, as recorded with a failed release. */
export type FailedStep =
  | "build"
  | "env"
  | "release"
  | "start"
  | "health"
  | "route"
  | "activate"
  | "interrupted";

export type ReleaseEvent =
  | { type: "build" }
  | { type: "built" }
  | { type: "started" }
  | { type: "healthy" }
  | { type: "routed" }
  | { type: "activate" }
  | { type: "supersede" }
  | { type: "fail"; step: FailedStep };

const NEXT: Partial<Record<ReleaseEvent["type"], Partial<Record<ReleaseState, ReleaseState>>>> = {
  build: { pending: "building" },
  built: { pending: "built", building: "built" },
  started: { built: "started" },
  healthy: { started: "healthy" },
  routed: { healthy: "routed" },
  activate: { routed: "active" },
  supersede: { active: "superseded" },
};

/** The steps that can fail from each state: the step being attempted, never one already passed. */
const FAILABLE: Partial<Record<ReleaseState, readonly FailedStep[]>> = {
  pending: ["build", "interrupted"],
  building: ["build", "interrupted"],
  built: ["env", "release", "start", "interrupted"],
  started: ["health", "interrupted"],
  healthy: ["route", "interrupted"],
  routed: ["activate", "interrupted"],
};

export const IN_PROGRESS: readonly ReleaseState[] = [
  "pending",
  "building",
  "built",
  "started",
  "healthy",
  "routed",
];

/** The pure transition function: the next state, or a thrown error for a transition the life does not allow. */
export function nextState(state: ReleaseState, event: ReleaseEvent): ReleaseState {
  if (event.type === "fail") {
    if (FAILABLE[state]?.includes(event.step)) return "failed";
    throw illegal(state, `fail at ${event.step}`);
  }
  const next = NEXT[event.type]?.[state];
  if (!next) throw illegal(state, event.type);
  return next;
}

function illegal(state: ReleaseState, what: string): Hop3Error {
  return new Hop3Error(`illegal release transition: ${what} from ${state}`, "error");
}

/**
 * How a state is stored: the releases table keeps its coarse status (what `hop releases` shows and the
 * database constrains: one 'active' per app) and the fine state or the failed step in `step`.
 */
export function storedAs(
  state: ReleaseState,
  failedStep?: FailedStep,
): { status: ReleaseStatus; step: string | null } {
  switch (state) {
    case "pending":
    case "building":
    case "active":
    case "superseded":
      return { status: state, step: null };
    case "failed":
      return { status: "failed", step: failedStep ?? null };
    default:
      return { status: "deploying", step: state };
  }
}

/** The state of a stored release (rows written before steps were recorded count as 'built' while deploying). */
export function stateOf(row: { status: ReleaseStatus; step?: string | null }): ReleaseState {
  switch (row.status) {
    case "deploying":
      return (["built", "started", "healthy", "routed"] as const).find((s) => s === row.step) ?? "built";
    case "rolled-back":
      return "superseded";
    default:
      return row.status;
  }
}

/** Data recorded with a transition (image, spec, error...): never a status. */
export type TransitionData = ReleasePatch;

/** Applies an event to a stored release: checks it with nextState, then writes status, step and data at once. */
export function transition(
  store: Store,
  release: Pick<ReleaseRow, "id" | "app">,
  event: ReleaseEvent,
  data: TransitionData = {},
): ReleaseState {
  const row = store.getReleaseById(release.id);
  if (!row) throw new Hop3Error(`release ${release.id} does not exist`, "notFound");
  const next = nextState(stateOf(row), event);
  const finished = next === "active" || next === "failed" ? { finishedAt: new Date().toISOString() } : {};
  if (next === "active") {
    const previous = store.currentRelease(row.app);
    if (previous && previous.id !== row.id) nextState(stateOf(previous), { type: "supersede" });
    // one transaction: this release active, the previous one superseded
    store.activateRelease(row.app, row.id, { ...data, ...finished });
    return next;
  }
  const stored = storedAs(next, event.type === "fail" ? event.step : undefined);
  store.setReleaseState(row.id, stored.status, stored.step, { ...data, ...finished });
  return next;
}

/** The step being attempted in a state: what failed when a failure carries no more precise step. */
export function attemptedStep(state: ReleaseState): FailedStep {
  const steps: Partial<Record<ReleaseState, FailedStep>> = {
    pending: "build",
    building: "build",
    built: "start",
    started: "health",
    healthy: "route",
    routed: "activate",
  };
  const step = steps[state];
  if (!step) throw illegal(state, "fail");
  return step;
}

/**
 * Records a failure with its step (the one being attempted unless given) and message; answers the message.
 * A release that already ended (failed, active) is left as it is.
 */
export function fail(
  store: Store,
  release: Pick<ReleaseRow, "id" | "app">,
  err: unknown,
  step?: FailedStep,
): string {
  const message = err instanceof Error ? err.message : String(err);
  const row = store.getReleaseById(release.id);
  const state = row ? stateOf(row) : "failed";
  if (IN_PROGRESS.includes(state)) {
    // a step that cannot fail from here (a caller's mistake) must not hide the error being recorded
    const at = step && FAILABLE[state]?.includes(step) ? step : attemptedStep(state);
    transition(store, release, { type: "fail", step: at }, { error: message });
  }
  return message;
}
