/** The catalog's HTTP API (docs/catalog.md, docs/api.md): thin handlers over src/catalog/. */
import type { Context, Hono } from "hono";
import type { CatalogSource } from "../catalog/catalog-source.js";
import type { CatalogInstaller } from "../catalog/installer.js";
import { StepTimings } from "../deploy/timings.js";
import type { Store } from "../store/store.js";
import { usageError } from "../util/errors.js";
import type { ApiEnv } from "./api.js";
import { ndjsonOperation } from "./ndjson.js";

export interface CatalogApiDeps {
  /** The catalog's source and installer, made at the first catalog request (src/server/main.ts). */
  catalog: () => Promise<{ source: CatalogSource; installer: CatalogInstaller }>;
  store: Store;
}

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const body = await c.req.json().catch(() => ({}));
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw usageError("the body must be a JSON object");
  return body as Record<string, unknown>;
}

const optionalString = (v: unknown, what: string): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw usageError(`${what} must be a string`);
  return v;
};

export function catalogRoutes(
  api: Hono<ApiEnv>,
  d: CatalogApiDeps,
  requireApp: (c: Context) => string,
): void {
  api.get("/api/v1/catalog", async (c) => {
    const { catalog, names } = (await d.catalog()).source.usable();
    const { index, origin } = catalog;
    const category = c.req.query("category");
    const installs = d.store.catalog.list();
    const recipes = Object.values(index.recipes)
      .filter((r) => names.includes(r.name) && (!category || r.category === category))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => ({
        name: r.name,
        version: r.version,
        category: r.category,
        description: r.description,
        installed: installs
          .filter((i) => i.recipe === r.name)
          .map((i) => ({ app: i.app, version: i.version, status: i.status })),
      }));
    return c.json({ serial: index.serial, generated: index.generated, origin, recipes });
  });

  api.get("/api/v1/catalog/:name", async (c) => {
    const { recipe, catalog } = (await d.catalog()).source.recipe(c.req.param("name"));
    const h = recipe.hop3;
    return c.json({
      recipe: {
        ...recipe.meta,
        addons: (h.addons ?? []).map((a) => a.type),
        volumes: (h.volumes ?? []).map((v) => v.target),
        validations: h.test?.validations ?? [],
        files: catalog.index.recipes[recipe.meta.name]?.files ?? {},
      },
    });
  });

  api.post("/api/v1/catalog/:name/install", async (c) => {
    const body = await jsonBody(c);
    const answers = body.answers ?? {};
    if (typeof answers !== "object" || answers === null || Array.isArray(answers))
      throw usageError("answers must be an object { KEY: value }");
    for (const [k, v] of Object.entries(answers))
      if (typeof v !== "string") throw usageError(`answers.${k} must be a string`);
    const app = optionalString(body.app, "app");
    const domain = optionalString(body.domain, "domain");
    // every check before the stream starts: a refused install creates nothing and answers 4xx
    const { installer } = await d.catalog();
    const prepared = installer.prepare(c.req.param("name"), {
      ...(app ? { app } : {}),
      ...(domain ? { domain } : {}),
      answers: answers as Record<string, string>,
    });
    // like a deploy's stream, it ends with the durations of its steps (hop catalog:install --timings)
    return ndjsonOperation((progress) => installer.install(prepared, progress), undefined, new StepTimings());
  });

  api.post("/api/v1/catalog/refresh", () =>
    ndjsonOperation(async (progress) => {
      progress.step("Refreshing the catalog");
      return (await d.catalog()).source.refresh(progress.log);
    }),
  );

  api.post("/api/v1/apps/:app/catalog/upgrade", async (c) => {
    const app = requireApp(c);
    const { installer } = await d.catalog();
    return ndjsonOperation((progress) => installer.upgrade(app, progress));
  });
}
