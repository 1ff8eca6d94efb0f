/**
 * Backups (docs/backups.md): `hop backup` (= backup:list), backup:create, show, restore, destroy, export,
 * import, schedule, unschedule. Exports and imports stream: a backup never sits in memory on either side.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { pipeline } from "node:stream/promises";
import { Hop3Error, usageError } from "../../util/errors.js";
import type { CommandSpec } from "../command-spec.js";
import { appPath, type CliContext } from "../context.js";
import { formatKeyValues, formatMiB, formatTable, relativeTime } from "../output.js";
import { runOperation } from "../render.js";

interface Summary {
  id: string;
  app: string;
  createdAt: string;
  size: number;
  release: number;
  addons: string[];
  trigger: string;
}
interface Listing {
  backups: Summary[];
  failures: { app: string; at: string; error: string }[];
  schedules: { app: string; cron: string; keep: number }[];
}

const backupPath = (id: string, rest = "") => `/api/v1/backups/${encodeURIComponent(id)}${rest}`;
const explicitApp = (ctx: CliContext) => ctx.opt("app") ?? (ctx.io.env.HOP3_APP || undefined);

async function errorOf(res: IncomingMessage): Promise<Hop3Error> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  const raw = Buffer.concat(chunks).toString("utf8");
  try {
    const e = (JSON.parse(raw) as { error?: { message: string; kind: string; hint?: string } }).error;
    if (e?.message) return new Hop3Error(e.message, e.kind as "error", e.hint);
  } catch {
    // not JSON
  }
  return new Hop3Error(`server answered HTTP ${res.statusCode}: ${raw.slice(0, 200)}`, "network");
}

export const backupListCommand: CommandSpec = {
  name: "backup:list",
  aliases: ["backup", "backups", "backup list", "backups:list"],
  group: "Backups",
  summary: "list backups (with -a, one app's), schedules and failed scheduled runs",
  maxArgs: 0,
  examples: ["hop backup", "hop backup:list -a shop", "hop backup:list --json"],
  async run(ctx) {
    const app = explicitApp(ctx);
    const body = await ctx
      .client()
      .json<Listing>(`/api/v1/backups${app ? `?app=${encodeURIComponent(app)}` : ""}`);
    if (ctx.json) {
      ctx.printJson(body);
      return 0;
    }
    if (body.backups.length === 0)
      ctx.out(`No backups${app ? ` of ${app}` : ""}. Make one: hop backup:create -a APP`);
    else
      ctx.out(
        formatTable(
          ["ID", "APP", "RELEASE", "SIZE", "ADDONS", "TRIGGER", "CREATED"],
          body.backups.map((b) => [
            b.id,
            b.app,
            `v${b.release}`,
            formatMiB(b.size),
            b.addons.join(", ") || "-",
            b.trigger,
            relativeTime(b.createdAt),
          ]),
        ),
      );
    for (const s of body.schedules) ctx.out(`Scheduled: ${s.app} at "${s.cron}", keeping ${s.keep}`);
    for (const f of body.failures) {
      ctx.err(
        ctx.paintErr.red(`!      scheduled backup of ${f.app} FAILED ${relativeTime(f.at)}: ${f.error}`),
      );
    }
    return body.failures.length ? 1 : 0;
  },
};

export const backupCreateCommand: CommandSpec = {
  name: "backup:create",
  aliases: ["backup create", "backups:create"],
  group: "Backups",
  summary: "back up an app: its release's image, config (sealed), volumes and addon dumps",
  maxArgs: 0,
  usesApp: true,
  options: [
    {
      name: "scheduled",
      type: "boolean",
      description:
        "run the app's scheduled backup (what its systemd timer runs): its --keep retention, a failure recorded",
    },
  ],
  examples: ["hop backup:create -a shop", "hop backup:create -a shop --scheduled"],
  async run(ctx) {
    const app = await ctx.app();
    const scheduled = ctx.flag("scheduled");
    return runOperation(
      ctx,
      appPath(app, "/backups"),
      scheduled ? { method: "POST", json: { scheduled: true } } : { method: "POST" },
      (r) => `${scheduled ? "Scheduled backup" : "Backup"} ${r.id} of ${app} created`,
    );
  },
};

export const backupShowCommand: CommandSpec = {
  name: "backup:show",
  aliases: ["backup show", "backup:info"],
  group: "Backups",
  summary: "show a backup and verify every file's checksum again",
  args: "ID",
  minArgs: 1,
  maxArgs: 1,
  examples: ["hop backup:show 20260104_030000_k3x9q2"],
  async run(ctx) {
    const body = await ctx.client().json<{
      metadata: Record<string, unknown> & { files: Record<string, { size: number; sha256: string }> };
      problems: string[];
      intact: boolean;
    }>(backupPath(ctx.args[0]!));
    if (ctx.json) ctx.printJson(body);
    else {
      const m = body.metadata;
      const release = m.release as { number: number; image: string };
      ctx.out(`=== ${m.id}`);
      ctx.out(
        formatKeyValues([
          ["App", String(m.app)],
          ["Created", `${m.created_at} (${relativeTime(String(m.created_at))})`],
          ["Release", `v${release.number} (${release.image})`],
          ["Hop3", String(m.hop3_version)],
          [
            "Files",
            Object.entries(m.files)
              .map(([n, f]) => `${n}  ${formatMiB(f.size)}  ${f.sha256.slice(0, 16)}`)
              .join("\n"),
          ],
          ["Checksums", body.intact ? "all verified" : `DAMAGED: ${body.problems.join("; ")}`],
        ]),
      );
    }
    return body.intact ? 0 : 1;
  },
};

export const backupRestoreCommand: CommandSpec = {
  name: "backup:restore",
  aliases: ["backup restore"],
  group: "Backups",
  summary: "restore a backup (checksums verified first): release, config, volumes, addon data; then start",
  args: "ID",
  minArgs: 1,
  maxArgs: 1,
  options: [
    { name: "to", type: "string", value: "NEW_APP", description: "restore into a new app of that name" },
    { name: "force", type: "boolean", description: "replace an existing app (and its addons' data)" },
    {
      name: "key-file",
      type: "string",
      value: "PATH",
      description: "the backup key of the server that made it (default: this server's)",
    },
    {
      name: "timings",
      type: "boolean",
      description:
        "print how long each step took (checksums, each addon's start and load, volumes, image, start)",
    },
  ],
  examples: [
    "hop backup:restore 20260104_030000_k3x9q2",
    "hop backup:restore 20260104_030000_k3x9q2 --to shop-copy",
    "hop backup:restore 20260104_030000_k3x9q2 --key-file ./old-server-backup.key",
  ],
  async run(ctx) {
    const id = ctx.args[0]!;
    const keyFile = ctx.opt("key-file");
    const key = keyFile ? readFileSync(keyFile).toString("base64") : undefined;
    const to = ctx.opt("to");
    return runOperation(
      ctx,
      backupPath(id, "/restore"),
      { method: "POST", json: { ...(to ? { to } : {}), force: ctx.flag("force"), ...(key ? { key } : {}) } },
      (r) => `Restored ${id} as ${r.app}${r.url ? `: ${r.url}` : ""}`,
      ctx.flag("timings"),
    );
  },
};

export const backupDestroyCommand: CommandSpec = {
  name: "backup:destroy",
  aliases: ["backup destroy", "backup:delete"],
  group: "Backups",
  summary: "delete a backup",
  args: "ID",
  minArgs: 1,
  maxArgs: 1,
  options: [{ name: "confirm", type: "string", value: "ID", description: "ID must be the backup's id" }],
  examples: ["hop backup:destroy 20260104_030000_k3x9q2 --confirm 20260104_030000_k3x9q2"],
  async run(ctx) {
    const id = ctx.args[0]!;
    if (ctx.opt("confirm") !== id)
      throw usageError(`destroying backup ${id} needs confirmation`, `pass --confirm ${id}`);
    const r = await ctx
      .client()
      .json<{ destroyed: string }>(backupPath(id, `?confirm=${encodeURIComponent(id)}`), {
        method: "DELETE",
      });
    if (ctx.json) ctx.printJson(r);
    else ctx.out(`Destroyed backup ${r.destroyed}`);
    return 0;
  },
};

export const backupExportCommand: CommandSpec = {
  name: "backup:export",
  aliases: ["backup export"],
  group: "Backups",
  summary: "write a backup as a tar to stdout (to move it to another server)",
  args: "ID",
  minArgs: 1,
  maxArgs: 1,
  examples: ["hop backup:export 20260104_030000_k3x9q2 > shop.tar"],
  async run(ctx) {
    if ((ctx.io.stdout as { isTTY?: boolean }).isTTY) {
      throw usageError(
        "a backup archive is not for a terminal",
        `redirect it: hop backup:export ${ctx.args[0]} > backup.tar`,
      );
    }
    const res = await ctx.client().request(backupPath(ctx.args[0]!, "/export"));
    if ((res.statusCode ?? 500) >= 400) throw await errorOf(res);
    await pipeline(res, ctx.io.stdout, { end: false });
    return 0;
  },
};

export const backupImportCommand: CommandSpec = {
  name: "backup:import",
  aliases: ["backup import"],
  group: "Backups",
  summary: "add a backup exported by backup:export, read from stdin (checked before it is listed)",
  maxArgs: 0,
  examples: ["hop backup:import < shop.tar"],
  async run(ctx) {
    if (ctx.io.stdin.isTTY)
      throw usageError("the archive is read from stdin", "hop backup:import < backup.tar");
    const r = await ctx.client().json<{ id: string; app: string }>("/api/v1/backups/import", {
      method: "POST",
      body: ctx.io.stdin as unknown as NodeJS.ReadableStream as never,
      contentType: "application/x-tar",
    });
    if (ctx.json) ctx.printJson(r);
    else ctx.out(`Imported backup ${r.id} of ${r.app}`);
    return 0;
  },
};

export const backupScheduleCommand: CommandSpec = {
  name: "backup:schedule",
  aliases: ["backup schedule"],
  group: "Backups",
  summary: 'back up an app on a cron schedule ("0 3 * * *"), keeping the N newest',
  args: "CRON",
  minArgs: 1,
  maxArgs: 1,
  usesApp: true,
  options: [{ name: "keep", type: "string", value: "N", description: "backups kept (default 7)" }],
  examples: ['hop backup:schedule -a shop "0 3 * * *" --keep 7'],
  async run(ctx) {
    const app = await ctx.app();
    const keep = Number(ctx.opt("keep") ?? "7");
    const r = await ctx
      .client()
      .json<{ schedule: { cron: string; keep: number } }>(appPath(app, "/backup-schedule"), {
        method: "PUT",
        json: { cron: ctx.args[0], keep },
      });
    if (ctx.json) ctx.printJson(r);
    else ctx.out(`${app} is backed up at "${r.schedule.cron}" (server time), keeping ${r.schedule.keep}`);
    return 0;
  },
};

export const backupUnscheduleCommand: CommandSpec = {
  name: "backup:unschedule",
  aliases: ["backup unschedule"],
  group: "Backups",
  summary: "stop an app's scheduled backups (existing backups stay)",
  maxArgs: 0,
  usesApp: true,
  async run(ctx) {
    const app = await ctx.app();
    const r = await ctx
      .client()
      .json<{ removed: boolean }>(appPath(app, "/backup-schedule"), { method: "DELETE" });
    if (ctx.json) ctx.printJson(r);
    else ctx.out(r.removed ? `${app} is no longer backed up on a schedule` : `${app} had no backup schedule`);
    return 0;
  },
};

export const BACKUP_COMMANDS: CommandSpec[] = [
  backupListCommand,
  backupCreateCommand,
  backupShowCommand,
  backupRestoreCommand,
  backupDestroyCommand,
  backupExportCommand,
  backupImportCommand,
  backupScheduleCommand,
  backupUnscheduleCommand,
];
