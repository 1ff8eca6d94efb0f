/** Commands about apps as a whole: list, create, show, destroy. */
import { usageError } from "../../util/errors.js";
import type { CommandSpec } from "../command-spec.js";
import { appPath } from "../context.js";
import { formatKeyValues, formatTable, relativeTime } from "../output.js";
import { runOperation } from "../render.js";
import {
  appFromArgOrContext,
  ask,
  type RestoreSummary,
  releaseLabel,
  restoreFailureLine,
  text,
} from "./shared.js";

interface AppSummary {
  name: string;
  state?: string;
  url?: string;
  release?: unknown;
  createdAt?: string;
  /** The last scheduled backup failed (src/backup). */
  backupFailed?: { at: string; error: string };
  /** A restore running into the app, or one that did not finish (backup/restore-recovery.ts). */
  restore?: RestoreSummary;
}

export const appsCommand: CommandSpec = {
  name: "apps",
  aliases: ["app list", "apps list", "apps:list"],
  group: "Apps",
  summary: "list your apps",
  maxArgs: 0,
  examples: ["hop apps", "hop apps --json"],
  async run(ctx) {
    const body = await ctx.client().json<{ apps: AppSummary[] }>("/api/v1/apps");
    if (ctx.json) {
      ctx.printJson(body);
      return 0;
    }
    if (body.apps.length === 0) {
      ctx.out(
        "No apps yet. Deploy one with `hop deploy DIR --app NAME` or create it with `hop create NAME`.",
      );
      return 0;
    }
    const rows = body.apps.map((a) => [
      a.name,
      text(a.state),
      releaseLabel(a.release),
      text(a.url),
      relativeTime(a.createdAt),
    ]);
    ctx.out(formatTable(["NAME", "STATE", "RELEASE", "URL", "CREATED"], rows));
    // a failed scheduled backup is never silent (docs/backups.md), nor a restore that did not finish
    for (const a of body.apps) {
      const restore = restoreFailureLine(a.name, a.restore);
      if (restore) ctx.err(ctx.paintErr.red(restore));
      if (a.backupFailed) {
        ctx.err(
          ctx.paintErr.red(
            `!      ${a.name}: scheduled backup FAILED ${relativeTime(a.backupFailed.at)}: ${a.backupFailed.error}`,
          ),
        );
      }
    }
    return 0;
  },
};

export const createCommand: CommandSpec = {
  name: "create",
  aliases: ["apps:create", "app create"],
  group: "Apps",
  summary: "create an empty app",
  args: "NAME",
  minArgs: 0,
  maxArgs: 1,
  usesApp: true,
  description:
    "Creates the app without deploying anything. `hop deploy` creates the app on first deploy anyway.",
  examples: ["hop create myapp", "hop apps:create --app myapp"],
  async run(ctx) {
    const name = ctx.args[0] ?? ctx.opt("app");
    if (!name) throw usageError("hop create: missing app name", "usage: hop create NAME");
    const body = await ctx
      .client()
      .json<{ app: AppSummary }>("/api/v1/apps", { method: "POST", json: { name } });
    if (ctx.json) ctx.printJson(body);
    else ctx.out(`Created ${body.app?.name ?? name}${body.app?.url ? `: ${body.app.url}` : ""}`);
    return 0;
  },
};

function processSummary(processes: unknown): string {
  if (Array.isArray(processes)) {
    const counts = new Map<string, number>();
    for (const p of processes) {
      const type = p && typeof p === "object" && "type" in p ? String(p.type) : "?";
      counts.set(type, (counts.get(type) ?? 0) + 1);
    }
    return [...counts].map(([t, n]) => `${t}=${n}`).join(", ") || "-";
  }
  if (processes && typeof processes === "object") {
    return (
      Object.entries(processes)
        .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
        .join(", ") || "-"
    );
  }
  return text(processes);
}

export const statusCommand: CommandSpec = {
  name: "info",
  aliases: ["apps:info", "app status", "status"],
  group: "Apps",
  summary: "show an app's state, URL and current release",
  args: "[APP]",
  maxArgs: 1,
  usesApp: true,
  examples: ["hop info", "hop app status myapp"],
  async run(ctx) {
    const app = await appFromArgOrContext(ctx);
    const body = await ctx
      .client()
      .json<{ app: AppSummary & { domains?: string[]; processes?: unknown } }>(appPath(app));
    if (ctx.json) {
      ctx.printJson(body);
      return 0;
    }
    const a = body.app;
    ctx.out(`=== ${a.name}`);
    ctx.out(
      formatKeyValues([
        ["State", text(a.state)],
        ["URL", text(a.url)],
        ["Domains", a.domains?.length ? a.domains.join(", ") : "-"],
        ["Release", releaseLabel(a.release)],
        ["Processes", processSummary(a.processes)],
        ["Created", relativeTime(a.createdAt) || "-"],
        ...(a.restore
          ? [
              [
                "Restore",
                a.restore.status === "restoring"
                  ? `backup ${a.restore.backup}: in progress${a.restore.step ? ` (${a.restore.step})` : ""}`
                  : `FAILED ${relativeTime(a.restore.at)}: ${a.restore.error ?? ""}`,
              ] as [string, string],
            ]
          : []),
      ]),
    );
    return 0;
  },
};

export const destroyCommand: CommandSpec = {
  name: "destroy",
  aliases: ["apps:destroy", "app destroy"],
  group: "Apps",
  summary: "delete an app, its releases, config and data",
  args: "[APP]",
  maxArgs: 1,
  usesApp: true,
  options: [
    {
      name: "confirm",
      type: "string",
      value: "NAME",
      description: "skip the question: NAME must be the app's name",
    },
    { name: "yes", short: "y", type: "boolean", description: "skip the question" },
  ],
  description:
    "On a terminal, asks you to type the app name. Scripts must pass --confirm NAME (or -y): nothing is ever " +
    "destroyed without one of them.",
  examples: ["hop destroy --app myapp", "hop destroy myapp --confirm myapp"],
  async run(ctx) {
    const app = await appFromArgOrContext(ctx);
    const confirm = ctx.opt("confirm");
    if (confirm !== undefined) {
      if (confirm !== app) {
        throw usageError(
          `--confirm ${JSON.stringify(confirm)} does not match the app name ${JSON.stringify(app)}`,
        );
      }
    } else if (!ctx.flag("yes")) {
      if (!ctx.io.stdin.isTTY) {
        throw usageError(
          `hop destroy needs a confirmation to destroy ${app}`,
          `not on a terminal: pass --confirm ${app} (or -y)`,
        );
      }
      ctx.err(ctx.paintErr.red(`!      This destroys ${app}: its containers, releases, config and data.`));
      const answer = (await ask(ctx, "Type the app name to confirm: ")).trim();
      if (answer !== app)
        throw usageError(`confirmation ${JSON.stringify(answer)} did not match ${app}; nothing done`);
    }
    return runOperation(
      ctx,
      appPath(app),
      { method: "DELETE", query: { confirm: app } },
      (r) => `${text(r.destroyed ?? app)} destroyed`,
    );
  },
};
