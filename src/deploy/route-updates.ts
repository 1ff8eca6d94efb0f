/**
 * Route updates, one at a time across all apps, each with a version number. Every update computes the table
 * when its turn comes (never before), so a table computed later is always applied later: two concurrent
 * deploys can never leave an older table in the router after a newer one. Callers that queue while a table
 * is being computed are served by the next one, not one each.
 */
import { Serial } from "../util/serial.js";

export interface RouteUpdateResult<T> {
  version: number;
  result: T;
}

export class RouteUpdates<T> {
  private readonly serial = new Serial();
  private requested = 0;
  /** The newest request a table was computed for; requests up to it are served. */
  private served = 0;
  private last?: RouteUpdateResult<T>;
  private version = 0;
  /** The version the router runs; an apply never goes below it. */
  applied = 0;

  constructor(
    private readonly compute: () => Promise<T>,
    private readonly apply: (table: T, version: number) => Promise<void>,
  ) {}

  /** Resolves once a table computed after this call is in the router. */
  update(): Promise<RouteUpdateResult<T>> {
    const ticket = ++this.requested;
    return this.serial.run(async () => {
      if (this.served >= ticket && this.last) return this.last;
      const covers = this.requested; // everything asked so far sees the table computed now
      const version = ++this.version;
      const table = await this.compute();
      if (version <= this.applied) throw new Error(`route table v${version} is older than v${this.applied}`);
      await this.apply(table, version);
      this.applied = version;
      this.served = covers;
      this.last = { version, result: table };
      return this.last;
    });
  }
}
