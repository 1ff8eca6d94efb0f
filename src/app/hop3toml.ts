import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import { usageError } from "../util/errors.js";
import {
  type EnvPolicy,
  emptyTomlEnv,
  MAX_SECRET_LENGTH,
  MIN_SECRET_LENGTH,
  SECRET_KINDS,
  type SecretKind,
  type TomlEnv,
} from "./env.js";
import { ENV_KEY_PATTERN as ENV_KEY, envValueProblem } from "./env-vars.js";
import { APP_NAME_RULE, isValidAppName, quoteForMessage } from "./name.js";
import { isReservedProcessType, PROCESS_TYPE_PATTERN } from "./procfile.js";

/*
 * hop3.toml, as accepted (UPSTREAM.md is the contract; every key is optional):
 *   [metadata]    id (the app name), version, title, description, author, license, homepage, website,
 *                 repository, upstream_version, categories[], tags[]
 *   [build]       builder (auto|local|buildpacks|docker), toolchain, before-build, build, after-build, test
 *                 (string or list), packages[], pip-install[], node-version, static-dir, ignore[]
 *   [run]         start, before-run (string or list), workers{name = command}, start-timeout, packages[],
 *                 healthcheck, healthcheck-timeout
 *   [env]         scalars; _policy; NAME = { generate, length }; NAME = { from, key }; [env.computed]
 *   [domains]     list[] ("_" = catch-all, alone)
 *   port = N | [port] web = N;  [[ports]] number, protocol (tcp|udp), name, source (CIDR)
 *   [docker]      port, build-args{}
 *   [healthcheck] path ("/..."), contains, interval, timeout (seconds or "10s"), retries
 *   [[addons]]    type (postgres|mysql|redis|s3), name, extra options
 *   [[volumes]]   name, target (absolute), type (persist|tmpfs|bind), source (bind), size, mode
 *   [limits]      memory ("512M"), cpu, processes
 *   [backup]      paths[], exclude[]
 *   [admin]       username, email, password (string or { generate, length })
 *   [test]        [[test.validations]] path, status, contains
 * Unknown sections and keys are errors; [waf], [nix], [contexts.*], [cli], [probe] only warn.
 */

export const UNSUPPORTED_SECTIONS = ["waf", "nix", "contexts", "cli", "probe"] as const;

/**
 * Keys Hop3 accepts (catalog apps and other tools write them) but does not act on: each gets a warning with its
 * line, so nobody believes a setting protects or configures something it does not. Remove an entry when the
 * key starts to work.
 */
const NOT_ACTED_ON: { path: string[]; why: string }[] = [
  { path: ["ports"], why: "no extra port is published, and `source` restricts no one" },
  { path: ["backup"], why: "Hop3 makes no backups of app data yet" },
  { path: ["test"], why: "deploys run no validations; the health check is [healthcheck]" },
  { path: ["build", "toolchain"], why: "the buildpacks detect the toolchain from the repository" },
  { path: ["build", "test"], why: "builds run no tests; run them in [build] build or a Containerfile" },
  { path: ["build", "packages"], why: "no system package is installed; use a Containerfile" },
  { path: ["build", "pip-install"], why: "use requirements.txt" },
  { path: ["build", "node-version"], why: 'the Node.js buildpack reads "engines.node" in package.json' },
  { path: ["run", "packages"], why: "no system package is installed; use a Containerfile" },
];

/** Sections other tools or older Hop3 catalogs use, and where that setting lives here. */
const SECTION_HINTS: Record<string, string> = {
  app: "the app name is [metadata] id; the builder is [build] builder",
  web: "the web port is `port = N` or [port] web = N",
  resources: "memory and CPU limits go in [limits]",
  processes: "extra processes go in [run] workers",
  scheduler: "scheduled jobs go in the Procfile as `cron: M H DOM MON DOW command`",
  provider: "services are declared with [[addons]] type = ...",
  providers: "services are declared with [[addons]] type = ...",
  addon: "the section is [[addons]]",
  volume: "the section is [[volumes]]",
  domain: "the section is [domains] list = [...]",
  environment: "variables go in [env]",
};

// ---------- schema ----------

const strict = <T extends z.ZodRawShape>(shape: T) => z.object(shape).strict();
const text = z.string();
const nonEmpty = z.string().min(1, "must not be empty");
const stringList = z.array(z.string());
const commands = z.union([nonEmpty, z.array(nonEmpty)], {
  errorMap: () => ({ message: "expected a command (string) or a list of commands" }),
});
const scalar = z
  .union([z.string(), z.number(), z.boolean()], {
    errorMap: () => ({ message: "expected a string, number or boolean" }),
  })
  .transform(String);
const portNumber = z.number().int("must be a whole number").min(1).max(65535);
const seconds = z.union(
  [
    z.number().positive(),
    z
      .string()
      .regex(/^\d+(\.\d+)?(ms|s|m|h)$/)
      .transform(toSeconds),
  ],
  { errorMap: () => ({ message: 'expected a duration: seconds as a number, or a string like "10s", "2m"' }) },
);
const hostname = z
  .string()
  .refine(
    (h) =>
      h === "_" ||
      /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(h),
    { message: 'expected a lowercase hostname (e.g. "example.com", "*.example.com") or "_"' },
  );
const resourceName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, "expected lowercase letters, digits and hyphens, starting with a letter");

const metadataSchema = strict({
  id: z.string(),
  version: scalar,
  title: text,
  description: text,
  author: text,
  license: text,
  homepage: text,
  website: text,
  repository: text,
  upstream_version: scalar,
  categories: stringList,
  tags: stringList,
}).partial();

const buildSchema = strict({
  builder: z.enum(["auto", "local", "buildpacks", "docker", "nix"]),
  toolchain: nonEmpty,
  "before-build": commands,
  build: commands,
  "after-build": commands,
  test: commands,
  packages: stringList,
  "pip-install": stringList,
  "node-version": scalar,
  "static-dir": nonEmpty,
  ignore: stringList,
}).partial();

const runSchema = strict({
  start: nonEmpty,
  "before-run": commands,
  workers: z.record(nonEmpty),
  "start-timeout": seconds,
  packages: stringList,
  healthcheck: nonEmpty,
  "healthcheck-timeout": seconds,
  // the release phase's own bound, at most the server's HOP3_RELEASE_TIMEOUT
  "release-timeout": seconds,
}).partial();

const domainsSchema = strict({ list: z.array(hostname) }).partial();

const portSchema = z.union([portNumber, strict({ web: portNumber })], {
  errorMap: () => ({ message: "expected a port number (1-65535) or a table with `web = N`" }),
});

const portsSchema = z.array(
  strict({
    number: portNumber,
    protocol: z.enum(["tcp", "udp"]).default("tcp"),
    name: text.optional(),
    source: z
      .string()
      .regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, "expected an IP address or CIDR, e.g. 10.0.0.0/8")
      .optional(),
  }),
);

const dockerSchema = strict({ port: portNumber, "build-args": z.record(scalar) }).partial();

const healthcheckSchema = strict({
  path: z.string().startsWith("/", 'must start with "/"').default("/"),
  contains: text.optional(),
  interval: seconds.optional(),
  timeout: seconds.optional(),
  retries: z.number().int().min(0).optional(),
});

const addonsSchema = z.array(
  z
    .object({
      type: z.enum(["postgres", "mysql", "mariadb", "redis", "s3"]),
      name: resourceName.optional(),
    })
    .passthrough(),
);

const volumesSchema = z.array(
  strict({
    name: resourceName.optional(),
    target: z.string().startsWith("/", "must be an absolute path in the container"),
    type: z.enum(["persist", "tmpfs", "bind"]).default("persist"),
    source: nonEmpty.optional(),
    size: z
      .string()
      .regex(/^\d+(\.\d+)?[KMGT]i?B?$/i, 'expected a size like "512M" or "2G"')
      .optional(),
    mode: text.optional(),
  }),
);

const limitsSchema = strict({
  memory: z.union([z.string().regex(/^\d+(\.\d+)?[KMGT]?i?B?$/i), z.number().int().positive()], {
    errorMap: () => ({ message: 'expected a size like "512M" or "2G", or a number of bytes' }),
  }),
  cpu: z.number().positive(),
  processes: z.number().int().positive(),
}).partial();

const backupSchema = strict({ paths: stringList, exclude: stringList }).partial();

const generatedSecretSchema = strict({
  generate: z.enum(SECRET_KINDS),
  length: z.number().int().min(MIN_SECRET_LENGTH).max(MAX_SECRET_LENGTH).optional(),
});

const adminSchema = strict({
  username: nonEmpty,
  email: nonEmpty,
  password: z.union([nonEmpty, generatedSecretSchema], {
    errorMap: (issue, ctx) =>
      issue.code === "invalid_union"
        ? { message: 'expected a string or { generate = "password", length = N }' }
        : { message: ctx.defaultError },
  }),
}).partial();

const testSchema = strict({
  validations: z.array(
    strict({
      path: z.string().startsWith("/", 'must start with "/"'),
      status: z.number().int().min(100).max(599).optional(),
      contains: text.optional(),
    }),
  ),
}).partial();

const hop3TomlSchema = strict({
  metadata: metadataSchema,
  build: buildSchema,
  run: runSchema,
  domains: domainsSchema,
  port: portSchema,
  ports: portsSchema,
  docker: dockerSchema,
  healthcheck: healthcheckSchema,
  addons: addonsSchema,
  volumes: volumesSchema,
  limits: limitsSchema,
  backup: backupSchema,
  admin: adminSchema,
  test: testSchema,
}).partial();

type RawHop3Toml = z.infer<typeof hop3TomlSchema>;

/** The validated file; keys keep the spelling of hop3.toml, except `port` (a number) and `env` (sorted). */
export type Hop3Toml = Omit<RawHop3Toml, "port"> & { port?: number; env?: TomlEnv };
export type AddonSpec = NonNullable<RawHop3Toml["addons"]>[number];
export type VolumeSpec = NonNullable<RawHop3Toml["volumes"]>[number];
export type PortSpec = NonNullable<RawHop3Toml["ports"]>[number];
export type HealthcheckSpec = NonNullable<RawHop3Toml["healthcheck"]>;

export const KNOWN_SECTIONS = [...Object.keys(hop3TomlSchema.shape), "env"];

// ---------- parsing ----------

interface Issue {
  path: (string | number)[];
  message: string;
}

export function parseHop3Toml(source: string, file = "hop3.toml"): { config: Hop3Toml; warnings: string[] } {
  let data: Record<string, unknown>;
  try {
    data = parseToml(source) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = (err.message.split("\n")[0] ?? "").replace(/^Invalid TOML document:\s*/, "");
      throw usageError(
        `${file}:${err.line}:${err.column}: ${reason}`,
        "fix the TOML syntax and deploy again",
      );
    }
    throw usageError(`${file}: cannot parse: ${err instanceof Error ? err.message : String(err)}`);
  }

  const lines = locateKeys(source);
  const where = (path: (string | number)[]) => {
    const line = lineOf(lines, path);
    return line === undefined ? file : `${file}:${line}`;
  };
  const warnings: string[] = [];
  const issues: Issue[] = [];

  const { env: rawEnv, ...rest } = data;
  for (const section of Object.keys(rest)) {
    if ((UNSUPPORTED_SECTIONS as readonly string[]).includes(section)) {
      warnings.push(`${where([section])}: [${section}] is not supported yet, ignored`);
      delete rest[section];
    } else if (!KNOWN_SECTIONS.includes(section)) {
      const hint = SECTION_HINTS[section];
      issues.push({
        path: [section],
        message: `unknown section [${formatKey(section)}]${hint ? ` (${hint})` : ""}; known sections: ${KNOWN_SECTIONS.join(", ")}`,
      });
      delete rest[section];
    }
  }

  const parsed = hop3TomlSchema.safeParse(rest);
  if (!parsed.success) issues.push(...parsed.error.issues.flatMap(zodIssueToIssues));
  const env = rawEnv === undefined ? undefined : validateEnv(rawEnv, issues);

  if (parsed.success) issues.push(...crossChecks(parsed.data));

  if (issues.length > 0) {
    const messages = issues
      .map((issue) => ({
        line: lineOf(lines, issue.path) ?? 0,
        text: `${where(issue.path)}: ${issue.message}`,
      }))
      .sort((a, b) => a.line - b.line)
      .map((m) => m.text);
    throw usageError(
      [...new Set(messages)].join("\n"),
      `see the hop3.toml reference; ${file} was not deployed`,
    );
  }

  const raw = parsed.success ? parsed.data : {};
  for (const { path, why } of NOT_ACTED_ON) {
    if (hasPath(raw, path)) {
      const name = path.length === 1 ? (path[0] === "ports" ? "[[ports]]" : `[${path[0]}]`) : path.join(".");
      warnings.push(`${where(path)}: ${name} is not acted on yet, ignored: ${why}`);
    }
  }
  if (raw.run?.healthcheck !== undefined && !raw.run.healthcheck.startsWith("/")) {
    warnings.push(
      `${where(["run", "healthcheck"])}: run.healthcheck is used only as a path ("/health"); a command is ignored: use [healthcheck] path`,
    );
  }
  const { port, ...others } = raw;
  const config: Hop3Toml = { ...others };
  if (port !== undefined) config.port = typeof port === "number" ? port : port.web;
  if (env !== undefined) config.env = env;
  return { config, warnings };
}

/** Rules across keys, checked once the shapes are right. */
function crossChecks(config: RawHop3Toml): Issue[] {
  const issues: Issue[] = [];
  const id = config.metadata?.id;
  if (id !== undefined && !isValidAppName(id)) {
    issues.push({
      path: ["metadata", "id"],
      message: `metadata.id ${quoteForMessage(id)} is not a valid app name: it must be ${APP_NAME_RULE}`,
    });
  }
  // [admin] values become HOP3_ADMIN_* variables: the same rule as [env]
  for (const [key, value] of Object.entries(config.admin ?? {})) {
    const problem = typeof value === "string" ? envValueProblem(value) : undefined;
    if (problem) issues.push({ path: ["admin", key], message: `admin.${key} ${problem}` });
  }
  if (config.build?.builder === "nix") {
    issues.push({
      path: ["build", "builder"],
      message:
        'build.builder = "nix": the nix builder is not supported; use "auto" (buildpacks) or "docker" (a Containerfile/Dockerfile)',
    });
  }
  for (const type of Object.keys(config.run?.workers ?? {})) {
    const path = ["run", "workers", type];
    if (!PROCESS_TYPE_PATTERN.test(type) || type.length > 63) {
      issues.push({
        path,
        message: `run.workers: invalid process type ${quoteForMessage(type)}: use 1 to 63 letters, digits, "_" or "-"`,
      });
    } else if (isReservedProcessType(type)) {
      issues.push({
        path,
        message: `run.workers.${type}: "${type}" has a special role and cannot name a worker (${type === "web" ? "the web process is [run] start" : "declare it in the Procfile"})`,
      });
    }
  }
  const domains = config.domains?.list ?? [];
  if (domains.includes("_") && domains.length > 1) {
    issues.push({
      path: ["domains", "list"],
      message: 'domains.list: "_" (catch-all) must be the only entry',
    });
  }
  const dupDomain = domains.find((d, i) => domains.indexOf(d) !== i);
  if (dupDomain) {
    issues.push({ path: ["domains", "list"], message: `domains.list: "${dupDomain}" is listed twice` });
  }
  const addonNames = new Set<string>();
  config.addons?.forEach((addon, i) => {
    const key = `${addon.type}/${addon.name ?? ""}`;
    if (addonNames.has(key)) {
      issues.push({
        path: ["addons", i],
        message: `addons[${i}]: a ${addon.type} addon named ${addon.name ? `"${addon.name}"` : "after the app"} is declared twice`,
      });
    }
    addonNames.add(key);
  });
  config.volumes?.forEach((volume, i) => {
    if (volume.type === "bind" && !volume.source) {
      issues.push({ path: ["volumes", i], message: `volumes[${i}]: a bind volume needs a source` });
    }
    if (volume.type !== "bind" && volume.source !== undefined) {
      issues.push({
        path: ["volumes", i, "source"],
        message: `volumes[${i}].source: only bind volumes take a source`,
      });
    }
  });
  const targets = config.volumes?.map((v) => v.target) ?? [];
  const dupTarget = targets.find((t, i) => targets.indexOf(t) !== i);
  if (dupTarget) {
    issues.push({ path: ["volumes"], message: `volumes: target "${dupTarget}" is mounted twice` });
  }
  return issues;
}

function validateEnv(raw: unknown, issues: Issue[]): TomlEnv | undefined {
  if (!isTable(raw)) {
    issues.push({ path: ["env"], message: `env: expected a table, got ${describe(raw)}` });
    return undefined;
  }
  const env = emptyTomlEnv();
  for (const [key, value] of Object.entries(raw)) {
    const path = ["env", key];
    const name = `env.${formatKey(key)}`;
    if (key === "_policy") {
      if (value === "keep-existing" || value === "override") env.policy = value as EnvPolicy;
      else {
        issues.push({
          path,
          message: `${name}: expected "keep-existing" or "override", got ${describeValue(value)}`,
        });
      }
      continue;
    }
    if (key === "computed" && isTable(value) && !("generate" in value) && !("from" in value)) {
      for (const [ckey, template] of Object.entries(value)) {
        const cname = `env.computed.${formatKey(ckey)}`;
        if (!ENV_KEY.test(ckey)) {
          issues.push({ path: ["env", "computed", ckey], message: `${cname}: invalid variable name` });
        } else if (typeof template !== "string") {
          issues.push({
            path: ["env", "computed", ckey],
            message: `${cname}: expected a string template like "\${VAR}", got ${describe(template)}`,
          });
        } else if (envValueProblem(template)) {
          issues.push({ path: ["env", "computed", ckey], message: `${cname} ${envValueProblem(template)}` });
        } else env.computed[ckey] = template;
      }
      continue;
    }
    if (!ENV_KEY.test(key)) {
      issues.push({
        path,
        message: `${name}: invalid variable name: use letters, digits and "_", not starting with a digit`,
      });
      continue;
    }
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      const problem = envValueProblem(String(value));
      if (problem) {
        issues.push({
          path,
          message: `${name} ${problem}: values cannot contain control characters other than tab`,
        });
      } else env.values[key] = String(value);
    } else if (isTable(value) && "generate" in value) {
      const secret = generatedSecretSchema.safeParse(value);
      if (secret.success) {
        env.generated[key] = { generate: secret.data.generate as SecretKind, length: secret.data.length };
        if (secret.data.length === undefined) delete env.generated[key]!.length;
      } else {
        const nested = secret.error.issues.map((sub) => ({ ...sub, path: [...path, ...sub.path] }));
        issues.push(...nested.flatMap(zodIssueToIssues));
      }
    } else if (isTable(value) && "from" in value) {
      const { from, key: refKey, ...extra } = value;
      if (typeof from !== "string" || from === "" || typeof refKey !== "string" || refKey === "") {
        issues.push({
          path,
          message: `${name}: an addon reference needs from = "<addon>" and key = "<VARIABLE>"`,
        });
      } else if (Object.keys(extra).length > 0) {
        issues.push({
          path,
          message: `${name}: unknown key "${Object.keys(extra)[0]}" in an addon reference`,
        });
      } else env.refs[key] = { from, key: refKey };
    } else {
      issues.push({
        path,
        message: `${name}: expected a string, number, boolean, { generate = "${SECRET_KINDS.join("|")}", length = N } or { from = "<addon>", key = "<VARIABLE>" }, got ${describe(value)}`,
      });
    }
  }
  return env;
}

// ---------- messages ----------

function zodIssueToIssues(issue: z.ZodIssue): Issue[] {
  const path = issue.path;
  const name = formatPath(path);
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      path: [...path, key],
      message: `unknown key "${formatPath([...path, key])}"`,
    }));
  }
  if (issue.code === "invalid_type" && issue.received === "undefined") {
    const parent = formatPath(path.slice(0, -1));
    const key = String(path[path.length - 1]);
    const expected = issue.expected.includes("|") ? ` (one of ${issue.expected.replaceAll("'", '"')})` : "";
    return [{ path, message: `${parent || "hop3.toml"}: missing required key "${key}"${expected}` }];
  }
  if (issue.code === "invalid_type") {
    const got = article(issue.received);
    return [{ path, message: `${name}: expected ${article(issue.expected)}, got ${got}` }];
  }
  if (issue.code === "invalid_enum_value") {
    return [
      {
        path,
        message: `${name}: expected one of ${issue.options.map((o) => JSON.stringify(o)).join(", ")}, got ${quoteForMessage(issue.received)}`,
      },
    ];
  }
  if (issue.code === "too_small" || issue.code === "too_big") {
    const bound = issue.code === "too_small" ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
    const what = issue.type === "string" ? "characters" : issue.type === "array" ? "entries" : "";
    return [{ path, message: `${name}: must be ${bound}${what ? ` ${what}` : ""}` }];
  }
  return [{ path, message: `${name}: ${issue.message}` }];
}

function article(type: string): string {
  const names: Record<string, string> = {
    array: "a list",
    object: "a table",
    string: "a string",
    number: "a number",
    integer: "a whole number",
    float: "a decimal number",
    boolean: "a boolean",
    date: "a date",
  };
  return names[type] ?? type;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return "a date";
  if (isTable(value)) return "a table";
  return article(typeof value);
}

function describeValue(value: unknown): string {
  return typeof value === "string" ? quoteForMessage(value) : describe(value);
}

function formatKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

function formatPath(path: (string | number)[]): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === "number") return `${out}[${part}]`;
    return out === "" ? formatKey(part) : `${out}.${formatKey(part)}`;
  }, "");
}

function hasPath(value: unknown, path: string[]): boolean {
  let at = value;
  for (const key of path) {
    if (!isTable(at) || !Object.hasOwn(at, key) || at[key] === undefined) return false;
    at = at[key];
  }
  return true;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function toSeconds(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value)!;
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2] as "ms" | "s" | "m" | "h"];
  return Number(match[1]) * factor;
}

// ---------- line numbers ----------

const BARE_OR_QUOTED = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')`;
const DOTTED_KEY = String.raw`${BARE_OR_QUOTED}(?:\s*\.\s*${BARE_OR_QUOTED})*`;
const ARRAY_TABLE = new RegExp(String.raw`^\s*\[\[\s*(${DOTTED_KEY})\s*\]\]`);
const TABLE = new RegExp(String.raw`^\s*\[\s*(${DOTTED_KEY})\s*\]`);
const KEY_VALUE = new RegExp(String.raw`^\s*(${DOTTED_KEY})\s*=(.*)$`);

function splitDottedKey(key: string): string[] {
  const parts = key.match(new RegExp(BARE_OR_QUOTED, "g")) ?? [];
  return parts.map((p) => {
    if (p.startsWith('"')) {
      try {
        return JSON.parse(p) as string;
      } catch {
        return p.slice(1, -1);
      }
    }
    return p.startsWith("'") ? p.slice(1, -1) : p;
  });
}

/**
 * Maps each key path ("build.before-build", "addons.1.type") to the line that defines it.
 * A light scan of the text, good enough to point at a line: the TOML itself was already parsed.
 */
export function locateKeys(source: string): Map<string, number> {
  const found = new Map<string, number>();
  const arrayCounts = new Map<string, number>();
  let table: string[] = [];
  let openMultiline: string | null = null;

  const record = (path: string[], line: number) => {
    for (let i = 1; i <= path.length; i++) {
      const key = path.slice(0, i).join(".");
      if (!found.has(key)) found.set(key, line);
    }
  };
  // Inserts the current index after each array-of-tables prefix: [[a]] then [a.b] is a.<n>.b.
  const resolve = (keys: string[]) => {
    const out: string[] = [];
    for (const key of keys) {
      out.push(key);
      const count = arrayCounts.get(out.join("."));
      if (count !== undefined) out.push(String(count));
    }
    return out;
  };

  source.split(/\r?\n|\r/).forEach((raw, index) => {
    const line = index + 1;
    if (openMultiline) {
      if (raw.split(openMultiline).length % 2 === 0) openMultiline = null;
      return;
    }
    let match = ARRAY_TABLE.exec(raw);
    if (match) {
      const keys = splitDottedKey(match[1]!);
      const parent = resolve(keys.slice(0, -1));
      const base = [...parent, keys[keys.length - 1]!].join(".");
      const next = (arrayCounts.get(base) ?? -1) + 1;
      arrayCounts.set(base, next);
      table = [...parent, keys[keys.length - 1]!, String(next)];
      record(table, line);
      return;
    }
    match = TABLE.exec(raw);
    if (match) {
      table = resolve(splitDottedKey(match[1]!));
      record(table, line);
      return;
    }
    match = KEY_VALUE.exec(raw);
    if (match) {
      record([...table, ...splitDottedKey(match[1]!)], line);
      const value = match[2] ?? "";
      for (const delimiter of ['"""', "'''"]) {
        if (value.split(delimiter).length % 2 === 0) openMultiline = delimiter;
      }
    }
  });
  return found;
}

function lineOf(lines: Map<string, number>, path: (string | number)[]): number | undefined {
  for (let i = path.length; i > 0; i--) {
    const line = lines.get(path.slice(0, i).join("."));
    if (line !== undefined) return line;
  }
  return undefined;
}
