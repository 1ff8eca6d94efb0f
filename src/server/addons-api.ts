/** The addons' HTTP API (docs/api.md, docs/addons.md): thin handlers over the AddonService. */
import type { Context, Hono } from "hono";
import type { ClientAction } from "../addons/plugin.js";
import { type AddonService, parseExposePort, validateAddonName } from "../addons/service.js";
import { validateAppName } from "../app/name.js";
import { usageError } from "../util/errors.js";
import type { ApiEnv } from "./api.js";
import { ndjsonOperation } from "./ndjson.js";

const ACTIONS: readonly ClientAction[] = ["cli", "dump", "restore", "info"];
const isSize = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v > 0 && v <= 10_000;

async function jsonBody(c: Context, example: string): Promise<Record<string, unknown>> {
  const body = await c.req.json().catch(() => undefined);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw usageError(`the body must be JSON: ${example}`);
  }
  return body as Record<string, unknown>;
}

const optionalString = (b: Record<string, unknown>, key: string): string | undefined => {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw usageError(`${key} must be a string`);
  return v;
};

export function addonRoutes(api: Hono<ApiEnv>, addons: AddonService): void {
  const nameParam = (c: Context) => validateAddonName(c.req.param("name") ?? "");
  const by = (c: Context) => (c.env?.transport === "unix" ? "local" : "token");
  // `pg:info NAME` on a redis addon is a usage error that says so
  const typeQuery = (c: Context) => c.req.query("type") || undefined;

  api.get("/api/v1/addons", async (c) => {
    const app = c.req.query("app");
    const list = await addons.list();
    return c.json({
      addons: app ? list.filter((a) => a.apps.some((t) => t.app === validateAppName(app))) : list,
    });
  });

  api.post("/api/v1/addons", async (c) => {
    const b = await jsonBody(c, '{ "type": "postgres", "name": "shop-db" }');
    const type = optionalString(b, "type");
    if (!type) throw usageError('give the addon type: { "type": "postgres" }');
    const name = optionalString(b, "name");
    if (name !== undefined) validateAddonName(name);
    const extensions = b.extensions;
    return ndjsonOperation((progress) => addons.create(type, name, { extensions }, progress));
  });

  api.get("/api/v1/addons/:name", async (c) => c.json({ addon: await addons.describe(nameParam(c)) }));

  api.get("/api/v1/addons/:name/credentials", (c) => c.json(addons.credentials(nameParam(c), typeQuery(c))));

  api.get("/api/v1/addons/:name/report", async (c) => {
    const name = nameParam(c);
    return c.json({ name, report: await addons.report(name, typeQuery(c)) });
  });

  api.delete("/api/v1/addons/:name", (c) => {
    const name = nameParam(c);
    const confirm = c.req.query("confirm");
    return ndjsonOperation((progress) => addons.destroy(name, confirm, progress));
  });

  // addons:expose / addons:unexpose: published on 127.0.0.1 only (for an SSH tunnel)
  api.put("/api/v1/addons/:name/expose", async (c) => {
    const name = nameParam(c);
    const b = await jsonBody(c, '{ "port": 15432 }');
    const port = parseExposePort(b.port);
    return ndjsonOperation((progress) => addons.expose(name, port, progress));
  });

  api.delete("/api/v1/addons/:name/expose", (c) => {
    const name = nameParam(c);
    return ndjsonOperation((progress) => addons.expose(name, undefined, progress));
  });

  api.post("/api/v1/addons/:name/attachments", async (c) => {
    const name = nameParam(c);
    const b = await jsonBody(c, '{ "app": "shop", "as": "CACHE" }');
    const app = validateAppName(optionalString(b, "app") ?? "");
    const prefix = optionalString(b, "as");
    return ndjsonOperation((progress) => addons.attach(name, app, prefix, progress, by(c)));
  });

  api.delete("/api/v1/addons/:name/attachments/:app", (c) => {
    const name = nameParam(c);
    const app = validateAppName(c.req.param("app"));
    return ndjsonOperation((progress) => addons.detach(name, app, progress, by(c)));
  });

  // a client session, attached to like `hop run` (GET /api/v1/runs/:id/attach, then /wait)
  api.post("/api/v1/addons/:name/sessions", async (c) => {
    const name = nameParam(c);
    const b = await jsonBody(c, '{ "action": "cli", "args": [], "tty": true }');
    const action = b.action as ClientAction;
    if (!ACTIONS.includes(action)) throw usageError(`action must be one of ${ACTIONS.join(", ")}`);
    const args = b.args ?? [];
    if (
      !Array.isArray(args) ||
      args.length > 100 ||
      args.some((a) => typeof a !== "string" || a.includes("\0"))
    ) {
      throw usageError("args must be a list of at most 100 strings");
    }
    for (const key of ["tty", "interactive"] as const) {
      if (b[key] !== undefined && typeof b[key] !== "boolean")
        throw usageError(`${key} must be true or false`);
    }
    const session = await addons.openSession(name, optionalString(b, "type"), action, args as string[], {
      tty: b.tty === true,
      interactive: b.interactive === true,
      ...(isSize(b.cols) ? { cols: b.cols } : {}),
      ...(isSize(b.rows) ? { rows: b.rows } : {}),
    });
    return c.json(session, 201);
  });
}
