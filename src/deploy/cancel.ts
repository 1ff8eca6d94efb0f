/**
 * `hop deploy:cancel` and the deploy timeouts: the deploy running for an app carries an AbortSignal, and every
 * step that waits on something outside the server (a build, the release phase, Podman) waits on it too
 * (`abortable`). Aborting ends the deploy at its current step as a failure: what it created is removed, the
 * previous release keeps serving, and the app's lock is released at once.
 */
import { Hop3Error } from "../util/errors.js";

const running = new Map<string, AbortController>();

/** Registers the deploy now running for `app`; `end` unregisters it (idempotent). */
export function beginDeploy(app: string): { signal: AbortSignal; end: () => void } {
  const controller = new AbortController();
  running.set(app, controller);
  return {
    signal: controller.signal,
    end: () => {
      if (running.get(app) === controller) running.delete(app);
    },
  };
}

/** Aborts the deploy running for `app`; answers whether there was one. */
export function cancelDeploy(app: string, reason = "the deploy was cancelled (hop deploy:cancel)"): boolean {
  const controller = running.get(app);
  if (!controller) return false;
  // unregistered at once: the next operation on the app (config:set right after) must not see this abort;
  // the aborted deploy holds its own signal and stops at its next step
  running.delete(app);
  controller.abort(new Hop3Error(reason, "deployFailed"));
  return true;
}

/** The signal of the deploy running for `app`, for steps that are not handed it (the release phase). */
export const deploySignal = (app: string): AbortSignal | undefined => running.get(app)?.signal;

/** The reason a signal was aborted with, as the error a step fails with. */
export function abortError(signal: AbortSignal): Hop3Error {
  const r: unknown = signal.reason;
  return r instanceof Hop3Error ? r : new Hop3Error(String((r as Error)?.message ?? r), "deployFailed");
}

/**
 * Waits for `work`, or fails as soon as `signal` aborts (then `onAbort` stops whatever `work` was doing; the
 * step does not wait for it). Without a signal, just `work`.
 */
export async function abortable<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort?: () => Promise<unknown> | unknown,
): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => {});
    void Promise.resolve()
      .then(onAbort)
      .catch(() => {});
    throw abortError(signal);
  }
  let listener: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    listener = () => {
      void Promise.resolve()
        .then(onAbort)
        .catch(() => {});
      reject(abortError(signal));
    };
    signal.addEventListener("abort", listener, { once: true });
  });
  work.catch(() => {}); // its own failure after the abort is of no interest
  try {
    return await Promise.race([work, aborted]);
  } finally {
    if (listener) signal.removeEventListener("abort", listener);
  }
}

/** A signal that aborts after `seconds` with a clear message, or when `parent` aborts. */
export function deadline(seconds: number, what: string, parent?: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(
    () =>
      controller.abort(
        new Hop3Error(`${what} did not finish within ${seconds} s and was stopped`, "deployFailed"),
      ),
    seconds * 1000,
  );
  timer.unref();
  if (parent) {
    const stop = () => {
      clearTimeout(timer);
      controller.abort(parent.reason);
    };
    if (parent.aborted) stop();
    else parent.addEventListener("abort", stop, { once: true });
  }
  controller.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  return controller.signal;
}

/** Between steps: a deploy aborted meanwhile goes no further. */
export function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
