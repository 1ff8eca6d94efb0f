/**
 * Routes only an admin may call: over the Unix socket (the host's operator) always; over TCP with an admin
 * token. The bearer token itself was checked already for every TCP request (api.ts checkBearer).
 */
import type { Context } from "hono";
import type { Store } from "../store/store.js";
import { Hop3Error } from "../util/errors.js";
import type { ApiEnv } from "./api.js";

/** The token of an `Authorization: Bearer TOKEN` header, or "" when there is none. */
export function bearerToken(authorization: string | undefined): string {
  const auth = authorization ?? "";
  return auth.startsWith("Bearer ") ? auth.slice(7).trim() : "";
}

/** Throws an authorization error naming `what` ("buildpack mappings are changed") unless an admin asks. */
export function requireAdmin(c: Context<ApiEnv>, store: Store, what: string): void {
  if (c.env?.transport === "unix") return;
  const token = bearerToken(c.req.header("authorization"));
  const row = token ? store.verifyToken(token) : undefined;
  if (row?.role !== "admin") {
    throw new Hop3Error(
      `${what} by an admin only`,
      "authorization",
      "use an admin token, or run hop on the server",
    );
  }
}
