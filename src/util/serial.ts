/**
 * Runs async jobs one after another, in call order. A job that fails rejects its own promise only: the next
 * job still runs (a bare `p = p.then(job)` chain would skip every job after a rejection).
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.tail.then(job);
    this.tail = next.catch(() => {});
    return next;
  }
}
