/** One operation at a time per app: two pushes of the same app queue instead of racing. */
const tails = new Map<string, Promise<unknown>>();

export function withAppLock<T>(app: string, fn: () => Promise<T>): Promise<T> {
  const prev = tails.get(app) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => {});
  tails.set(app, tail);
  void tail.then(() => {
    if (tails.get(app) === tail) tails.delete(app);
  });
  return run;
}
