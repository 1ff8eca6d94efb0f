/**
 * Runs `job` over `items`, at most `limit` at a time, and waits for every job to end before it returns or
 * throws: a failed job never leaves its siblings running behind the caller's clean-up (a bare Promise.all
 * rejects at the first failure while the others still write). Throws the first failure in item order.
 */
export async function allSettledLimit<T, R>(
  items: readonly T[],
  limit: number,
  job: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: "fulfilled", value: await job(items[i] as T, i) };
      } catch (reason) {
        results[i] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<R>).value);
}

/** Runs independent steps side by side; waits for all of them, then throws the first failure (in order). */
export function allSettledSteps(steps: readonly (() => Promise<unknown>)[]): Promise<unknown[]> {
  return allSettledLimit(steps, steps.length, (step) => step());
}
