/**
 * `hop doctor` / `hop system:info`: what the server runs on and why (supervisor, router, Podman), and the
 * proof that a deploy can work here: a container on its own network answering through its published port, and
 * the router answering (POST /api/v1/system/check). install.sh runs it before it reports success.
 */
import type { CommandSpec } from "../command-spec.js";
import { formatKeyValues } from "../output.js";

interface Info {
  version: string;
  baseDomain: string;
  router: string;
  routerStatus?: { running: boolean; detail: string | null };
  supervisor: string;
  appGateway?: string;
  cron?: string;
  releaseRetention?: number;
  podman: string | null;
  limits?: {
    app: string;
    build: string;
    enforced: { memory: boolean; cpu: boolean; pids: boolean } | null;
    notEnforced?: string;
  };
}

interface DeployPathReport {
  ok: boolean;
  steps: { name: string; ok: boolean; detail: string; ms: number }[];
  hint?: string;
}

export const doctorCommand: CommandSpec = {
  name: "doctor",
  aliases: ["system:info", "system info", "system status", "system:status", "setup:check"],
  group: "Setup",
  summary: "show the server's version, supervisor (and why), router and Podman; prove the deploy path works",
  maxArgs: 0,
  examples: ["hop doctor", "hop doctor --json"],
  async run(ctx) {
    const info = await ctx.client().json<Info>("/api/v1/info");
    const routerDown = info.routerStatus?.running === false;
    const check = info.podman
      ? await ctx.client().json<DeployPathReport>("/api/v1/system/check", { method: "POST" })
      : undefined;
    const healthy = !!info.podman && !routerDown && check?.ok === true;
    if (ctx.json) {
      ctx.printJson({ ...info, ...(check ? { deployPath: check } : {}) });
      return healthy ? 0 : 1;
    }
    const router = info.routerStatus
      ? `${info.router}: ${info.routerStatus.running ? "" : "DOWN, "}${info.routerStatus.detail ?? ""}`
      : info.router;
    ctx.out(
      formatKeyValues([
        ["server", info.version],
        ["base domain", info.baseDomain],
        ["router", router],
        ["supervisor", info.supervisor],
        ...(info.appGateway ? [["app gateway", info.appGateway] as [string, string]] : []),
        ...(info.cron ? [["cron", info.cron] as [string, string]] : []),
        ...(info.releaseRetention
          ? [["releases kept", String(info.releaseRetention)] as [string, string]]
          : []),
        ["podman", info.podman ?? "NOT REACHABLE"],
        ...(info.limits
          ? ([
              ["default limits", `apps: ${info.limits.app}; builds: ${info.limits.build}`],
              [
                "limits enforced",
                info.limits.notEnforced
                  ? `NO: ${info.limits.notEnforced}`
                  : info.limits.enforced
                    ? "yes (memory, CPU, processes)"
                    : "unknown",
              ],
            ] as [string, string][])
          : []),
        ...(check
          ? check.steps.map(
              (st) =>
                [`check: ${st.name}`, `${st.ok ? "ok" : "FAILED"}  ${st.detail} (${st.ms} ms)`] as [
                  string,
                  string,
                ],
            )
          : []),
      ]),
    );
    if (!info.podman) {
      ctx.err("The server cannot reach Podman: see /var/lib/hop3/log/server.log and podman-service.log");
      return 1;
    }
    if (check && !check.ok) {
      ctx.err(`A deploy cannot work on this host: ${check.hint ?? "see the failed check above"}`);
      return 1;
    }
    if (routerDown) {
      ctx.err(
        "The router does not answer: the server starts it again at its next start, or see `hop logs` of hop3-router",
      );
      return 1;
    }
    return 0;
  },
};
