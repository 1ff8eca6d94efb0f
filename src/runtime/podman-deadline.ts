/**
 * A bound on the Podman API calls that should answer quickly (create, start, inspect, stop, remove): a wedged
 * Podman service must fail the operation with a clear message, not hold the app's lock forever. Streams (builds,
 * logs, attach, wait) have their own bounds (the build and release timeouts, deploy:cancel), never this one.
 */
import { Hop3Error } from "../util/errors.js";

let limitMs = 120_000;

/** HOP3_PODMAN_TIMEOUT, set once by the server at start. */
export function setPodmanTimeout(seconds: number): void {
  limitMs = seconds * 1000;
}

export function podmanCall<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Hop3Error(
            `Podman did not answer within ${limitMs / 1000} s (${what})`,
            "error",
            "see /var/lib/hop3/log/podman-service.log; HOP3_PODMAN_TIMEOUT sets the bound",
          ),
        ),
      limitMs,
    );
    timer.unref();
  });
  work.catch(() => {});
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
