/**
 * Release SBOMs over HTTP (docs/api.md): GET /api/v1/apps/:app/sbom (?release=N, ?format=cyclonedx|spdx) and
 * GET /api/v1/apps/:app/sbom/diff?from=A&to=B. Thin handlers over src/sbom/lookup.ts, diff.ts, spdx.ts.
 */
import type { Context, Hono } from "hono";
import { diffSboms } from "../sbom/diff.js";
import { incompleteNotes } from "../sbom/document.js";
import { loadReleaseSbom } from "../sbom/lookup.js";
import type { Store } from "../store/store.js";
import { usageError } from "../util/errors.js";
import type { ApiEnv } from "./api.js";

function releaseParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const m = /^v?(\d{1,9})$/.exec(value);
  if (!m || Number(m[1]) < 1)
    throw usageError(`invalid ${name} ${JSON.stringify(value)}`, "give it as vN or N");
  return Number(m[1]);
}

export function sbomRoutes(
  api: Hono<ApiEnv>,
  ctx: { store: Store; root: string },
  requireApp: (c: Context) => string,
): void {
  api.get("/api/v1/apps/:app/sbom", async (c) => {
    const app = requireApp(c);
    const format = c.req.query("format") ?? "cyclonedx";
    if (format !== "cyclonedx" && format !== "spdx")
      throw usageError(`unknown format ${JSON.stringify(format)}`, "use cyclonedx or spdx");
    const { release, doc } = await loadReleaseSbom(
      ctx.store,
      ctx.root,
      app,
      releaseParam(c.req.query("release"), "release"),
    );
    return c.json({
      app,
      release: release.number,
      format,
      incomplete: incompleteNotes(doc),
      // SPDX output loads the SPDX licence list: only when asked for (memory of the idle server)
      sbom: format === "spdx" ? (await import("../sbom/spdx.js")).toSpdx(doc) : doc,
    });
  });

  api.get("/api/v1/apps/:app/sbom/diff", async (c) => {
    const app = requireApp(c);
    const from = releaseParam(c.req.query("from"), "from");
    const to = releaseParam(c.req.query("to"), "to");
    if (from === undefined || to === undefined) throw usageError("give the two releases: ?from=vA&to=vB");
    const a = await loadReleaseSbom(ctx.store, ctx.root, app, from);
    const b = await loadReleaseSbom(ctx.store, ctx.root, app, to);
    return c.json({ app, from: from, to: to, ...diffSboms(a.doc, b.doc) });
  });
}
