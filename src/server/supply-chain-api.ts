/**
 * Provenance and vulnerability audit over HTTP (docs/api.md): thin handlers over src/sbom/provenance-service.ts
 * and src/audit/service.ts. Importing a vulnerability database changes what every app's audit says, so only an
 * admin does it (the Unix socket or an admin token), like buildpack mappings.
 */
import type { Context, Hono } from "hono";
import {
  type ProvenanceContext,
  provenanceMaterials,
  serverPublicKey,
  verifyMaterials,
} from "../sbom/provenance-service.js";
import { keyIdOf, parsePublicKeyPem } from "../sbom/signing-key.js";
import { usageError } from "../util/errors.js";
import { requireAdmin } from "./admin.js";
import type { ApiEnv } from "./api.js";

// the audit (its matchers and packageurl-js) loads at its first use: an idle server never audits
const audit = () => import("../audit/service.js");

function releaseQuery(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const m = /^v?(\d+)$/.exec(value);
  if (!m || Number(m[1]) < 1)
    throw usageError(`invalid release ${JSON.stringify(value)}`, "give it as vN or N");
  return Number(m[1]);
}

export function supplyChainRoutes(
  api: Hono<ApiEnv>,
  ctx: ProvenanceContext,
  requireApp: (c: Context) => string,
): void {
  api.get("/api/v1/provenance/key", (c) => {
    const { pem, keyid } = serverPublicKey(ctx.root);
    return c.json({ algorithm: "ed25519", keyid, publicKey: pem });
  });

  api.get("/api/v1/apps/:app/provenance", async (c) => {
    const app = requireApp(c);
    return c.json(await provenanceMaterials(ctx, app, releaseQuery(c.req.query("release"))));
  });

  /** The checks of `hop sbom:verify`, done by the server; `publicKey` (PEM) replaces the server's key. */
  api.post("/api/v1/apps/:app/provenance/verify", async (c) => {
    const app = requireApp(c);
    const body = (await c.req.json().catch(() => ({}))) as { release?: unknown; publicKey?: unknown };
    const release = releaseQuery(body.release === undefined ? undefined : String(body.release));
    const key =
      typeof body.publicKey === "string"
        ? parsePublicKeyPem(body.publicKey, "publicKey")
        : serverPublicKey(ctx.root).key;
    const materials = await provenanceMaterials(ctx, app, release);
    const report = verifyMaterials(materials, key);
    return c.json({
      app,
      release: materials.release,
      keyid: keyIdOf(key),
      ok: report.ok,
      checked: report.checked,
      ...(report.reason ? { reason: report.reason } : {}),
    });
  });

  api.get("/api/v1/audit", async (c) => {
    // auditApps answers 404 for an app that does not exist
    const { auditApps } = await audit();
    return c.json(await auditApps(ctx.store, ctx.root, c.req.query("app") || undefined));
  });

  api.delete("/api/v1/audit/database", (c) => {
    requireAdmin(c, ctx.store, "the vulnerability database is changed");
    return c.json(ctx.store.vulns.clear());
  });

  api.post("/api/v1/audit/import", async (c) => {
    requireAdmin(c, ctx.store, "the vulnerability database is changed");
    const { importDatabase, MAX_IMPORT_BYTES } = await audit();
    const file = (c.req.query("file") ?? "upload").slice(0, 200);
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > MAX_IMPORT_BYTES) throw usageError(`the database is larger than ${MAX_IMPORT_BYTES} bytes`);
    const content = Buffer.from(await c.req.arrayBuffer());
    if (content.length > MAX_IMPORT_BYTES)
      throw usageError(`the database is larger than ${MAX_IMPORT_BYTES} bytes`);
    return c.json(importDatabase(ctx.store, file, content));
  });
}
