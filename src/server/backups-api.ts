/** The backups' HTTP API (docs/backups.md, docs/api.md): thin handlers over the BackupService. */
import { Readable } from "node:stream";
import type { Context, Hono } from "hono";
import { validateAppName } from "../app/name.js";
import { validateBackupId } from "../backup/format.js";
import { keyFromBase64 } from "../backup/secrets.js";
import type { BackupService } from "../backup/service.js";
import { StepTimings } from "../deploy/timings.js";
import { usageError } from "../util/errors.js";
import type { ApiEnv } from "./api.js";
import { ndjsonOperation } from "./ndjson.js";

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const body = await c.req.json().catch(() => ({}));
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw usageError("the body must be a JSON object");
  return body as Record<string, unknown>;
}

export function backupRoutes(
  api: Hono<ApiEnv>,
  backups: BackupService,
  requireApp: (c: Context) => string,
): void {
  const idParam = (c: Context) => validateBackupId(c.req.param("id") ?? "");

  api.get("/api/v1/backups", async (c) => {
    const app = c.req.query("app");
    return c.json(await backups.list(app ? validateAppName(app) : undefined));
  });

  api.post("/api/v1/apps/:app/backups", async (c) => {
    const b = await jsonBody(c);
    if (b.scheduled !== undefined && typeof b.scheduled !== "boolean")
      throw usageError("scheduled must be true or false");
    if (b.scheduled) {
      // what an app's backup timer runs: the app may be gone since, which runScheduled handles (and says)
      const app = validateAppName(c.req.param("app") ?? "");
      return ndjsonOperation((progress) => backups.runScheduled(app, progress));
    }
    const app = requireApp(c);
    return ndjsonOperation((progress) => backups.create(app, progress));
  });

  api.get("/api/v1/backups/:id", async (c) => c.json(await backups.show(idParam(c))));

  api.delete("/api/v1/backups/:id", async (c) =>
    c.json(await backups.destroy(idParam(c), c.req.query("confirm"))),
  );

  api.post("/api/v1/backups/:id/restore", async (c) => {
    const id = idParam(c);
    const b = await jsonBody(c);
    if (b.to !== undefined && typeof b.to !== "string") throw usageError("to must be an app name");
    if (b.key !== undefined && typeof b.key !== "string") throw usageError("key must be base64 text");
    const to = b.to === undefined ? undefined : validateAppName(b.to as string);
    const key = b.key === undefined ? undefined : keyFromBase64(b.key as string);
    // like a deploy's stream, it ends with the durations of its steps (hop backup:restore --timings)
    return ndjsonOperation(
      (progress) =>
        backups.restore(
          id,
          { ...(to ? { to } : {}), force: b.force === true, ...(key ? { key } : {}) },
          progress,
        ),
      undefined,
      new StepTimings(),
    );
  });

  api.get("/api/v1/backups/:id/export", (c) => {
    const id = idParam(c);
    const stream = backups.exportStream(id);
    return new Response(Readable.toWeb(stream) as ReadableStream, {
      headers: {
        "content-type": "application/x-tar",
        "content-disposition": `attachment; filename="hop3-backup-${id}.tar"`,
      },
    });
  });

  api.post("/api/v1/backups/import", async (c) => {
    const body = c.req.raw.body;
    if (!body) throw usageError("send the archive made by hop backup:export as the body");
    return c.json(await backups.import(Readable.fromWeb(body as never)), 201);
  });

  api.put("/api/v1/apps/:app/backup-schedule", async (c) => {
    const app = requireApp(c);
    const b = await jsonBody(c);
    if (typeof b.cron !== "string") throw usageError('give the schedule: { "cron": "0 3 * * *", "keep": 7 }');
    const keep = b.keep === undefined ? 7 : b.keep;
    if (typeof keep !== "number") throw usageError("keep must be a number");
    return c.json({ schedule: await backups.schedule(app, b.cron, keep) });
  });

  api.delete("/api/v1/apps/:app/backup-schedule", async (c) =>
    c.json(await backups.unschedule(requireApp(c))),
  );
}
