/**
 * Server settings, all from the environment (12-factor: /etc/hop3/hop3.env), validated once at start-up by one
 * schema that holds every default. The parts of the server get what they need from the functions below
 * (router, builds, platform), never from process.env: a setting is documented, parsed and defaulted here only.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { BuildpacksSettings } from "../build/buildpacks-builder.js";
import type { BuildNetwork } from "../build/cnb/build-network.js";
import type { PlatformSettings } from "../deploy/platform.js";
import type { RouterSettings } from "../router/routes.js";
import { parseSize } from "../runtime/limits.js";
import { Hop3Error } from "../util/errors.js";
import type { ExtractLimits } from "./upload.js";

/** The installed tree (dist/.. ): images/, buildpacks/, samples/ live beside dist/. */
export const installDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export const DEFAULT_ROOT = "/var/lib/hop3";
export const DEFAULT_BASE_IMAGE = "localhost/hop3/base:bookworm";

const port = z.coerce.number().int().min(1).max(65535);
/** Bytes: "512M", "2G" or a number; "0" = no limit. */
const size = z.union([z.number(), z.string()]).transform((v, ctx) => {
  if (v === 0 || v === "0") return 0;
  try {
    return parseSize(v);
  } catch (err) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
    return z.NEVER;
  }
});
/** A word setting: case and surrounding spaces do not matter (`HOP3_TLS=" Off"`). */
const word = <const T extends [string, ...string[]]>(values: T) =>
  z.preprocess((v) => (typeof v === "string" ? v.trim().toLowerCase() : v), z.enum(values));
const optionalText = z.preprocess((v) => (v === "" ? undefined : v), z.string().optional());

const schema = z.object({
  HOP3_ROOT: z.string().default(DEFAULT_ROOT),
  HOP3_BASE_DOMAIN: z
    .string()
    .regex(
      /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
      "a DNS name like hop3.example.org",
    )
    .default("hop3.localhost"),
  HOP3_HTTP_PORT: port.default(80),
  HOP3_HTTPS_PORT: port.default(443),
  HOP3_TLS: word(["auto", "off"]).default("auto"),
  HOP3_ACME_EMAIL: z.preprocess((v) => (v === "" ? undefined : v), z.string().email().optional()),
  HOP3_ACME_CA: z.preprocess((v) => (v === "" ? undefined : v), z.string().url().optional()),
  /** PEM file trusted when talking to HOP3_ACME_CA (a private CA, or Pebble in tests). */
  HOP3_ACME_CA_ROOT: optionalText.refine((f) => f === undefined || existsSync(f), "no such file"),
  HOP3_ROUTER: word(["caddy", "traefik"]).default("caddy"),
  // dns: deploys change the answers of a responder in the router container instead of reloading Caddy
  HOP3_ROUTER_UPSTREAMS: word(["static", "dns"]).default("dns"),
  // on: web processes publish no port; the app gateway on their networks forwards to them (Caddy only;
  // Traefik keeps published ports). off: each web process publishes a loopback port. auto (the default): on
  // wherever the router can dial the gateway (Caddy), off with Traefik (docs/routing.md)
  HOP3_APP_GATEWAY: word(["on", "off", "auto"]).default("auto"),
  /** quadlet or podman; unset: chosen from what the host has (src/runtime/supervisor-select.ts). */
  HOP3_SUPERVISOR: z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
    word(["quadlet", "podman"]).optional(),
  ),
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
  // Bounds of an extracted source tree (uploads and git pushes): a 65 KB tar bomb must not fill the disk.
  HOP3_MAX_EXTRACTED_SIZE: size.default("2G"),
  HOP3_MAX_EXTRACTED_ENTRIES: z.coerce.number().int().positive().default(200_000),
  // Default resource limits of app containers (processes, release phase, `hop run`, cron) where hop3.toml
  // [limits] says nothing; 0 = none. Builds get their own. Not enforced where the host cannot (hop doctor).
  HOP3_APP_MEMORY: size.default("1G"),
  HOP3_APP_CPUS: z.coerce.number().min(0).default(0),
  HOP3_APP_PIDS: z.coerce.number().int().min(0).default(2048),
  HOP3_BUILD_MEMORY: size.default("4G"),
  HOP3_BUILD_CPUS: z.coerce.number().min(0).default(0),
  HOP3_BUILD_PIDS: z.coerce.number().int().min(0).default(4096),
  // Timeouts, seconds: a build or release phase that hangs fails and releases the app's lock.
  HOP3_BUILD_TIMEOUT: z.coerce.number().int().positive().default(3600),
  HOP3_RELEASE_TIMEOUT: z.coerce.number().int().positive().default(1800),
  HOP3_PODMAN_TIMEOUT: z.coerce.number().int().positive().default(120),
  HOP3_DRAIN_SECONDS: z.coerce.number().min(0).max(300).default(2),
  HOP3_RELEASE_RETENTION: z.coerce.number().int().min(1).max(1000).default(10),
  HOP3_BASE_IMAGE: z.string().default(DEFAULT_BASE_IMAGE),
  HOP3_IMAGES_DIR: z.string().default(join(installDir, "images")),
  HOP3_BUILDPACKS_DIR: z.string().default(join(installDir, "buildpacks")),
  /** Extra directories (colon-separated) from which apps may name local buildpacks. */
  HOP3_BUILDPACKS_PATHS: z.string().default(""),
  HOP3_CNB_STACK: z.string().default("bookworm"),
  /** Extra CA certificates for build steps: a PEM file, `none`, or (unset) the host's bundle when present. */
  HOP3_BUILD_CA_FILE: optionalText,
  HOP3_BUILD_HTTP_PROXY: optionalText,
  HOP3_BUILD_HTTPS_PROXY: optionalText,
  HOP3_BUILD_NO_PROXY: optionalText,
  /** Default PIP_INDEX_URL of Python builds (a PyPI mirror for hosts without PyPI); an app's config var wins. */
  HOP3_BUILD_PIP_INDEX_URL: z.preprocess((v) => (v === "" ? undefined : v), z.string().url().optional()),
  /** The key that seals backups' secrets (created on first backup); default HOP3_ROOT/backup.key. */
  HOP3_BACKUP_KEY_FILE: optionalText,
  /** Where `hop catalog:refresh` fetches a newer signed catalog: URL/index.json, .sig, catalog.tar.gz. */
  HOP3_CATALOG_URL: z.preprocess((v) => (v === "" ? undefined : v), z.string().url().optional()),
  /** build: addon images are always built from Debian's packages, a registry is never asked (docs/addons.md). */
  HOP3_ADDON_IMAGES: word(["auto", "build"]).default("auto"),
  HOP3_PODMAN_SOCKET: z.string().optional(),
  HOP3_LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

export type ServerSettings = z.infer<typeof schema>;

export function loadSettings(env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.join(".");
    throw new Hop3Error(
      `invalid setting ${key}=${JSON.stringify(env[key] ?? "")}: ${issue.message}`,
      "usage",
      "fix it in /etc/hop3/hop3.env (docs/operations.md lists the settings)",
    );
  }
  if (parsed.data.HOP3_HTTP_PORT === parsed.data.HOP3_HTTPS_PORT) {
    throw new Hop3Error(
      `invalid settings: HOP3_HTTP_PORT and HOP3_HTTPS_PORT are both ${parsed.data.HOP3_HTTP_PORT}`,
      "usage",
    );
  }
  return parsed.data;
}

/**
 * Whether apps are reached through the app gateway: asked for (`on`, or `auto` under the quadlet supervisor),
 * and a router that can dial its sockets.
 */
export const usesAppGateway = (s: ServerSettings): boolean =>
  s.HOP3_ROUTER === "caddy" && s.HOP3_APP_GATEWAY !== "off";

/** What the server says of the app gateway at its start, in `hop doctor` and /api/v1/info: which, and why. */
export function appGatewayState(s: ServerSettings): string {
  const setting = `HOP3_APP_GATEWAY=${s.HOP3_APP_GATEWAY}`;
  if (usesAppGateway(s)) return `on (${setting}): web processes publish no port`;
  const why = s.HOP3_APP_GATEWAY !== "off" ? "Traefik cannot dial Unix sockets" : setting;
  return `off (${why}): web processes publish a port on 127.0.0.1`;
}

/** Every setting the server reads, with its default: for docs tests and `hop doctor`. */
export const settingNames = Object.keys(schema.shape);

export function routerSettingsOf(s: ServerSettings): RouterSettings {
  return {
    httpPort: s.HOP3_HTTP_PORT,
    httpsPort: s.HOP3_HTTPS_PORT,
    tls: s.HOP3_TLS,
    upstreams: s.HOP3_ROUTER_UPSTREAMS,
    ...(s.HOP3_ACME_EMAIL ? { acmeEmail: s.HOP3_ACME_EMAIL } : {}),
    ...(s.HOP3_ACME_CA ? { acmeCa: s.HOP3_ACME_CA } : {}),
    ...(s.HOP3_ACME_CA_ROOT ? { acmeCaRootFile: s.HOP3_ACME_CA_ROOT } : {}),
  };
}

const SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

export function buildNetworkOf(s: ServerSettings, hostBundle = SYSTEM_CA_BUNDLE): BuildNetwork {
  const ca = s.HOP3_BUILD_CA_FILE ?? (existsSync(hostBundle) ? hostBundle : undefined);
  return {
    ...(ca && ca !== "none" ? { caFile: ca } : {}),
    ...(s.HOP3_BUILD_HTTP_PROXY ? { httpProxy: s.HOP3_BUILD_HTTP_PROXY } : {}),
    ...(s.HOP3_BUILD_HTTPS_PROXY ? { httpsProxy: s.HOP3_BUILD_HTTPS_PROXY } : {}),
    ...(s.HOP3_BUILD_NO_PROXY ? { noProxy: s.HOP3_BUILD_NO_PROXY } : {}),
    ...(s.HOP3_BUILD_PIP_INDEX_URL ? { pipIndexUrl: s.HOP3_BUILD_PIP_INDEX_URL } : {}),
  };
}

export function buildpacksSettingsOf(s: ServerSettings): BuildpacksSettings {
  return {
    root: s.HOP3_ROOT,
    buildpacksDir: s.HOP3_BUILDPACKS_DIR,
    imagesDir: s.HOP3_IMAGES_DIR,
    baseImage: s.HOP3_BASE_IMAGE,
    stack: s.HOP3_CNB_STACK,
    allowedBuildpackRoots: [
      ...s.HOP3_BUILDPACKS_PATHS.split(":").filter(Boolean),
      "/etc/hop3/buildpacks",
      "/usr/local/lib/hop3/buildpacks",
    ],
    network: buildNetworkOf(s),
  };
}

export function platformSettingsOf(s: ServerSettings): PlatformSettings {
  return {
    root: s.HOP3_ROOT,
    baseDomain: s.HOP3_BASE_DOMAIN,
    httpPort: s.HOP3_HTTP_PORT,
    httpsPort: s.HOP3_HTTPS_PORT,
    tls: s.HOP3_TLS,
    drainSeconds: s.HOP3_DRAIN_SECONDS,
    retention: s.HOP3_RELEASE_RETENTION,
    baseImage: s.HOP3_BASE_IMAGE,
    limits: {
      app: { memoryBytes: s.HOP3_APP_MEMORY, cpus: s.HOP3_APP_CPUS, pids: s.HOP3_APP_PIDS },
      build: { memoryBytes: s.HOP3_BUILD_MEMORY, cpus: s.HOP3_BUILD_CPUS, pids: s.HOP3_BUILD_PIDS },
    },
    timeouts: {
      buildSeconds: s.HOP3_BUILD_TIMEOUT,
      releaseSeconds: s.HOP3_RELEASE_TIMEOUT,
      podmanSeconds: s.HOP3_PODMAN_TIMEOUT,
    },
  };
}

export const extractLimitsOf = (s: ServerSettings): ExtractLimits => ({
  maxBytes: s.HOP3_MAX_EXTRACTED_SIZE,
  maxEntries: s.HOP3_MAX_EXTRACTED_ENTRIES,
});

/** The catalog's places: the bundled one, the refreshed one, the trusted public keys (docs/catalog.md). */
export const catalogSettingsOf = (s: ServerSettings) => ({
  bundledDir: join(installDir, "catalog"),
  refreshedDir: join(s.HOP3_ROOT, "catalog"),
  keyDirs: [join(installDir, "catalog", "keys"), join(s.HOP3_ROOT, "catalog-keys")],
  ...(s.HOP3_CATALOG_URL ? { url: s.HOP3_CATALOG_URL } : {}),
});

export const paths = (root: string) => ({
  db: join(root, "hop3.db"),
  key: join(root, "secret.key"),
  adminToken: join(root, "admin-token"),
  socket: join(root, "run", "hop3.sock"),
  uploads: join(root, "tmp"),
  builds: join(root, "builds"),
  router: join(root, "router"),
  gateway: join(root, "gateway"),
  git: join(root, "git"),
});
