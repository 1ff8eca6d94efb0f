/**
 * The router with the app gateway in front of the apps (issue 9): the gateway is told first, so that an app's
 * socket forwards to its new instances before Caddy sends anything there; Caddy's own configuration only
 * changes when an app gains or loses its socket.
 */
import type { RunningInstance } from "../runtime/containers.js";
import type { AppGateway } from "./app-gateway.js";
import type { AppRoute, Router, RouterStatus } from "./routes.js";

export class GatewayRouter implements Router {
  readonly kind;

  constructor(
    readonly inner: Router,
    readonly gateway: AppGateway,
  ) {
    this.kind = inner.kind;
  }

  async ensureRunning(): Promise<void> {
    // the gateway first: the router mounts its socket directory
    await this.gateway.ensureRunning();
    await this.inner.ensureRunning();
  }

  /** `instances`: the route table's own listing (deploy/routing.ts), not a second one. */
  async apply(routes: AppRoute[], instances: RunningInstance[]): Promise<void> {
    const running = instances.filter((i) => i.state === "running" && i.process === "web");
    await this.gateway.apply(routes, running);
    await this.inner.apply(routes, instances);
  }

  async status(): Promise<RouterStatus> {
    const [router, gateway] = await Promise.all([this.inner.status(), this.gateway.status()]);
    return {
      ...router,
      running: router.running && gateway.running,
      detail: `${router.detail ?? ""}; app gateway ${gateway.container ?? ""}: ${gateway.detail ?? ""}`,
    };
  }

  async stop(): Promise<void> {
    await this.inner.stop();
    await this.gateway.stop();
  }
}
