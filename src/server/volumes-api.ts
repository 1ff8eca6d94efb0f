/** The volumes' HTTP API (docs/api.md): thin handlers over src/deploy/app-volumes.ts. */
import type { Context, Hono } from "hono";
import { destroyVolume, listVolumes } from "../deploy/app-volumes.js";
import type { Platform } from "../deploy/platform.js";
import type { ApiEnv } from "./api.js";

export function volumeRoutes(api: Hono<ApiEnv>, p: Platform, requireApp: (c: Context) => string): void {
  api.get("/api/v1/apps/:app/volumes", async (c) => {
    const app = requireApp(c);
    return c.json({ app, volumes: await listVolumes(p, app) });
  });

  api.delete("/api/v1/apps/:app/volumes/:name", async (c) => {
    const app = requireApp(c);
    return c.json(await destroyVolume(p, app, c.req.param("name"), c.req.query("confirm")));
  });
}
