/**
 * Buildpack URL mappings over HTTP (docs/api.md): `GET/POST/DELETE /api/v1/buildpacks/maps`. They change how
 * every app builds, so only an admin changes them: the Unix socket (the host's operator) or an admin token.
 * `POST /api/v1/buildpacks/prepare` builds the stack images ahead of the first buildpack deploy (admin too:
 * minutes of the host's CPU).
 */
import { existsSync, realpathSync } from "node:fs";
import { join, sep } from "node:path";
import type { Hono } from "hono";
import type { BuildpackCatalog } from "../build/buildpacks-builder.js";
import { parseMapTarget } from "../build/cnb/buildpack-urls.js";
import { listBuildpackMaps, removeBuildpackMap, setBuildpackMap } from "../store/buildpack-maps.js";
import type { Store } from "../store/store.js";
import { Hop3Error, usageError } from "../util/errors.js";
import { requireAdmin } from "./admin.js";
import type { ApiEnv } from "./api.js";
import { ndjsonOperation } from "./ndjson.js";

/** Refuses, when the mapping is made, a target the next build would not find. */
function checkTarget(target: string, catalog: BuildpackCatalog | undefined): void {
  const t = parseMapTarget(target);
  if (!catalog) return;
  if (t.kind === "id") {
    const ids = catalog.ids();
    if (!ids.includes(t.id)) {
      throw usageError(`this server has no buildpack ${t.id}`, `its buildpacks: ${ids.sort().join(", ")}`);
    }
  } else if (t.kind === "path") {
    const real = existsSync(t.path) ? realpathSync(t.path) : undefined;
    const roots = catalog.allowedRoots.filter((r) => existsSync(r)).map((r) => realpathSync(r));
    if (!real || !roots.some((r) => real === r || real.startsWith(`${r}${sep}`))) {
      throw usageError(
        `${t.path} is not in a directory the server allows buildpacks from`,
        `allowed: ${catalog.allowedRoots.join(", ")} (HOP3_BUILDPACKS_PATHS adds more)`,
      );
    }
    if (!existsSync(join(real, "buildpack.toml"))) throw usageError(`${t.path} holds no buildpack.toml`);
  }
}

const MAPS_CHANGED = "buildpack mappings are changed";

export function buildpackRoutes(api: Hono<ApiEnv>, store: Store, catalog?: BuildpackCatalog): void {
  api.get("/api/v1/buildpacks/maps", (c) => c.json({ maps: listBuildpackMaps(store) }));

  api.post("/api/v1/buildpacks/prepare", (c) => {
    requireAdmin(c, store, "the stack images are built");
    const prepare = catalog?.prepare;
    if (!prepare) throw new Hop3Error("this server does not build with buildpacks", "notFound");
    return ndjsonOperation(async (progress) => {
      progress.step("Preparing the buildpacks' stack images");
      const started = Date.now();
      const images = await prepare((line) => progress.log(line));
      return { ...images, seconds: Math.round((Date.now() - started) / 100) / 10 };
    });
  });

  api.post("/api/v1/buildpacks/maps", async (c) => {
    requireAdmin(c, store, MAPS_CHANGED);
    const body = (await c.req.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    const url = body?.url;
    const target = body?.target;
    if (typeof url !== "string" || typeof target !== "string" || !url.trim() || !target.trim()) {
      throw usageError(
        'the body must be JSON: { "url": "https://github.com/org/bp.git", "target": "hop3/nodejs" }',
      );
    }
    checkTarget(target, catalog);
    return c.json(setBuildpackMap(store, url, target), 201);
  });

  api.delete("/api/v1/buildpacks/maps", (c) => {
    requireAdmin(c, store, MAPS_CHANGED);
    const url = c.req.query("url");
    if (!url) throw usageError("give the URL: DELETE /api/v1/buildpacks/maps?url=...");
    return c.json(removeBuildpackMap(store, url));
  });
}
