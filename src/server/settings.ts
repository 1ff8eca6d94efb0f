/** Server settings, all from the environment (12-factor), validated once at start-up. */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { Hop3Error } from "../util/errors.js";

/** The installed tree (dist/.. ): images/, buildpacks/, samples/ live beside dist/. */
export const installDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const port = z.coerce.number().int().min(1).max(65535);

const schema = z.object({
  HOP3_ROOT: z.string().default("/var/lib/hop3"),
  HOP3_BASE_DOMAIN: z
    .string()
    .regex(
      /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
      "a DNS name like hop3.example.org",
    )
    .default("hop3.localhost"),
  HOP3_HTTP_PORT: port.default(80),
  HOP3_HTTPS_PORT: port.default(443),
  HOP3_TLS: z.enum(["auto", "off"]).default("auto"),
  HOP3_ACME_EMAIL: z.string().email().optional(),
  HOP3_ACME_CA: z.string().url().optional(),
  HOP3_ROUTER: z.enum(["caddy", "traefik"]).default("caddy"),
  // dns: deploys change the answers of a responder in the router container instead of reloading Caddy
  HOP3_ROUTER_UPSTREAMS: z.enum(["static", "dns"]).default("dns"),
  HOP3_ROUTER_CONTAINER: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/)
    .default("hop3-router"),
  HOP3_LISTEN: z
    .string()
    .regex(/^[\d.]+:\d+$|^\[[0-9a-f:]+\]:\d+$/, "HOST:PORT")
    .optional(),
  /** PEM certificate and key: the TCP API (HOP3_LISTEN) speaks HTTPS with them. */
  HOP3_API_TLS_CERT: z.string().optional(),
  HOP3_API_TLS_KEY: z.string().optional(),
  HOP3_MAX_UPLOAD: z.coerce
    .number()
    .int()
    .positive()
    .default(512 * 1024 * 1024),
  HOP3_DRAIN_SECONDS: z.coerce.number().min(0).max(300).default(2),
  HOP3_RELEASE_RETENTION: z.coerce.number().int().min(1).max(1000).default(10),
  HOP3_BASE_IMAGE: z.string().default("localhost/hop3/base:bookworm"),
  HOP3_IMAGES_DIR: z.string().default(join(installDir, "images")),
  HOP3_PODMAN_SOCKET: z.string().optional(),
  HOP3_LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

export type ServerSettings = z.infer<typeof schema>;

export function loadSettings(env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Hop3Error(`invalid setting ${issue.path.join(".")}: ${issue.message}`, "usage");
  }
  return parsed.data;
}

export const paths = (root: string) => ({
  db: join(root, "hop3.db"),
  key: join(root, "secret.key"),
  adminToken: join(root, "admin-token"),
  socket: join(root, "run", "hop3.sock"),
  uploads: join(root, "tmp"),
  builds: join(root, "builds"),
  router: join(root, "router"),
  git: join(root, "git"),
});
