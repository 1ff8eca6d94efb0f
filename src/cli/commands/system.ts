/** `hop doctor` / `hop system:info`: what the server runs on and why (supervisor, router, Podman). */
import type { CommandSpec } from "../command-spec.js";
import { formatKeyValues } from "../output.js";

interface Info {
  version: string;
  baseDomain: string;
  router: string;
  supervisor: string;
  podman: string | null;
}

export const doctorCommand: CommandSpec = {
  name: "doctor",
  aliases: ["system:info", "system info", "system status", "system:status", "setup:check"],
  group: "Setup",
  summary: "show the server's version, supervisor (and why), router and Podman",
  maxArgs: 0,
  examples: ["hop doctor", "hop doctor --json"],
  async run(ctx) {
    const info = await ctx.client().json<Info>("/api/v1/info");
    if (ctx.json) {
      ctx.printJson(info);
      return info.podman ? 0 : 1;
    }
    ctx.out(
      formatKeyValues([
        ["server", info.version],
        ["base domain", info.baseDomain],
        ["router", info.router],
        ["supervisor", info.supervisor],
        ["podman", info.podman ?? "NOT REACHABLE"],
      ]),
    );
    if (!info.podman) {
      ctx.err("The server cannot reach Podman: see /var/lib/hop3/log/server.log and podman-service.log");
      return 1;
    }
    return 0;
  },
};
