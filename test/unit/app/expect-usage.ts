import { expect } from "vitest";
import { Hop3Error } from "../../../src/util/errors.js";

/** Runs fn, asserts it threw a usage Hop3Error, and returns it for message checks. */
export function expectUsageError(fn: () => unknown): Hop3Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Hop3Error);
    expect((err as Hop3Error).kind).toBe("usage");
    return err as Hop3Error;
  }
  throw new Error("expected a usage error, nothing was thrown");
}

export async function expectUsageErrorAsync(promise: Promise<unknown>): Promise<Hop3Error> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(Hop3Error);
    expect((err as Hop3Error).kind).toBe("usage");
    return err as Hop3Error;
  }
  throw new Error("expected a usage error, nothing was thrown");
}
