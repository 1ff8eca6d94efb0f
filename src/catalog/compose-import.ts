/**
 * `hop catalog:import`: a Docker Compose file (Coolify templates, Dokploy blueprints, CapRover one-click apps)
 * into a recipe directory. The main web service becomes the app (its image: upstream_image and the
 * Containerfile's FROM), well-known database services become [[addons]] with the app's references to them
 * mapped to the addon's variables, named volumes become [[volumes]], environment becomes [env]. Whatever has no
 * Hop3 equivalent is listed in `unmapped` (printed and written to IMPORT.md), never dropped silently.
 * Pure: the caller reads the YAML, validates it against the Compose schema and writes the files.
 */
import { usageError } from "../util/errors.js";

type Obj = Record<string, unknown>;

export interface ImportOptions {
  /** The recipe's (and app's) name. */
  name: string;
  /** The main service, when the file has several candidates. */
  service?: string;
  /** Where the file came from, for IMPORT.md. */
  source: string;
  /** Comment lines at the top of the file ("# slogan: ..."), Coolify's metadata. */
  headerComments?: Record<string, string>;
}

export type AddonType = "postgres" | "mariadb" | "redis";

export interface ImportResult {
  main: string;
  image: string;
  port?: number;
  addons: { service: string; type: AddonType }[];
  env: Record<string, EnvValue>;
  volumes: { name: string; target: string }[];
  questions: { key: string; prompt: string; default?: string; pattern?: string }[];
  healthPath?: string;
  /** What was mapped, in words, for IMPORT.md. */
  mapped: string[];
  /** What was not, each with its place in the file and why. */
  unmapped: string[];
  files: Record<string, string>;
}

export type EnvValue = string | { generate: "password" | "hex" } | { from: AddonType; key: string };

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The addon type a database image stands for, if any. */
export function addonTypeOfImage(image: string): AddonType | undefined {
  const repo =
    image
      .replace(/[:@].*$/, "")
      .split("/")
      .pop() ?? "";
  if (/^(postgres|postgis|postgresql)$/.test(repo)) return "postgres";
  if (/^(mysql|mariadb)$/.test(repo)) return "mariadb";
  if (/^(redis|valkey|keydb)$/.test(repo)) return "redis";
  return undefined;
}

/** The variables of each addon type, by what a Compose database service calls them. */
const DB_ENV: Record<AddonType, Record<string, string>> = {
  postgres: { POSTGRES_PASSWORD: "PGPASSWORD", POSTGRES_USER: "PGUSER", POSTGRES_DB: "PGDATABASE" },
  mariadb: {
    MYSQL_PASSWORD: "MYSQL_PASSWORD",
    MYSQL_USER: "MYSQL_USER",
    MYSQL_DATABASE: "MYSQL_DATABASE",
    MARIADB_PASSWORD: "MYSQL_PASSWORD",
    MARIADB_USER: "MYSQL_USER",
    MARIADB_DATABASE: "MYSQL_DATABASE",
  },
  redis: {},
};
const URL_KEY: Record<AddonType, string> = {
  postgres: "DATABASE_URL",
  mariadb: "DATABASE_URL",
  redis: "REDIS_URL",
};
const HOST_KEY: Record<AddonType, string> = {
  postgres: "PGHOST",
  mariadb: "MYSQL_HOST",
  redis: "REDIS_HOST",
};
/** Database env the addon makes its own (root passwords, flags): mapped, nothing to carry over. */
const DB_OWN = /^(POSTGRES_|PG|MYSQL_|MARIADB_|REDIS_)/;

function envOf(service: Obj): Record<string, string | undefined> {
  const env = service.environment;
  const out: Record<string, string | undefined> = {};
  if (Array.isArray(env)) {
    for (const e of env) {
      const s = String(e);
      const eq = s.indexOf("=");
      if (eq < 0) out[s] = undefined;
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    }
  } else if (isObj(env)) {
    for (const [k, v] of Object.entries(env)) out[k] = v === null || v === undefined ? undefined : String(v);
  }
  return out;
}

/** The container port a service publishes (`8080:80` -> 80, `3000`, long syntax), or expose. */
function portOf(service: Obj, env: Record<string, string | undefined>): number | undefined {
  for (const p of Array.isArray(service.ports) ? service.ports : []) {
    if (isObj(p) && typeof p.target === "number") return p.target;
    const m = /(?:^|:)(\d+)(?:\/tcp)?$/.exec(String(p));
    if (m) return Number(m[1]);
  }
  for (const e of Array.isArray(service.expose) ? service.expose : []) {
    const m = /^(\d+)/.exec(String(e));
    if (m) return Number(m[1]);
  }
  // Coolify: SERVICE_FQDN_<NAME>_3000 / SERVICE_URL_<NAME>_3000 name the port the proxy targets
  for (const k of Object.keys(env)) {
    const m = /^SERVICE_(?:FQDN|URL)_(?:[A-Z0-9]+_)?(\d+)$/.exec(k);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** An HTTP path in a health check command (`curl -f http://localhost:3000/api/heartbeat`). */
function healthPathOf(service: Obj): { path: string; port?: number } | undefined {
  const hc = service.healthcheck;
  if (!isObj(hc)) return undefined;
  const test = Array.isArray(hc.test) ? hc.test.join(" ") : String(hc.test ?? "");
  const m = /https?:\/\/(?:localhost|127\.0\.0\.1|0\.0\.0\.0)(?::(\d+))?(\/[^\s"'|;&]*)?/.exec(test);
  if (!m) return undefined;
  return { path: m[2] ?? "/", port: m[1] ? Number(m[1]) : test.includes("https://") ? 443 : 80 };
}

/** [REGISTRY[:PORT]/]PATH[:TAG][@sha256:DIGEST], Docker's reference grammar (lowercase path, tag of 128). */
const IMAGE_REFERENCE =
  /^(?:[A-Za-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
/**
 * The short syntax's source is a host path when it starts with `.`, `/` or `~`, or with a variable (`$HOME`,
 * `${PWD}/data`): Compose expands it to a path of the host, never a named volume.
 */
const HOST_PATH = /^[./~$]/;
const looksSecret = (key: string) => /(PASSWORD|PASSWD|SECRET|TOKEN|_KEY$|^KEY$|SALT)/i.test(key);
const resourceName = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .replace(/-+$/, "")
    .slice(0, 63) || "data";

/**
 * CapRover one-click apps are Compose with `$$cap_` variables and two extra keys: the variables become
 * questions, `$$cap_appname` the app's name, and the file a plain Compose document.
 */
export function fromCapRover(
  doc: Obj,
  name: string,
): { doc: Obj; questions: ImportResult["questions"]; unmapped: string[] } {
  const questions: ImportResult["questions"] = [];
  const unmapped: string[] = [];
  const oneClick = isObj(doc.caproverOneClickApp) ? doc.caproverOneClickApp : {};
  const keyOf = (id: string) => id.replace(/^\$\$cap_/, "").toUpperCase();
  for (const v of Array.isArray(oneClick.variables) ? oneClick.variables : []) {
    if (!isObj(v) || typeof v.id !== "string") continue;
    const pattern = typeof v.validRegex === "string" ? /^\/(.*)\/[a-z]*$/.exec(v.validRegex)?.[1] : undefined;
    questions.push({
      key: keyOf(v.id),
      prompt: String(v.label ?? v.id),
      ...(v.defaultValue !== undefined ? { default: String(v.defaultValue) } : {}),
      ...(pattern ? { pattern } : {}),
    });
  }
  let text = JSON.stringify({ services: doc.services, ...(doc.volumes ? { volumes: doc.volumes } : {}) });
  text = text
    .replaceAll("$$cap_appname", name)
    .replace(/\$\$cap_([A-Za-z0-9_]+)/g, (_, id: string) => `\${${id.toUpperCase()}}`);
  const out = JSON.parse(text) as Obj;
  if (isObj(out.services)) {
    for (const [s, svc] of Object.entries(out.services)) {
      // an image is fixed in a recipe: its variables take their defaults
      if (isObj(svc) && typeof svc.image === "string" && svc.image.includes("${")) {
        const image = svc.image.replace(
          /\$\{([A-Z0-9_]+)\}/g,
          (m, k: string) => questions.find((x) => x.key === k)?.default ?? m,
        );
        unmapped.push(
          `services.${s}.image ${svc.image}: chosen at install in CapRover; fixed here to ${image} (the questions' defaults)`,
        );
        svc.image = image;
      }
      if (isObj(svc) && isObj(svc.caproverExtra) && String(svc.caproverExtra.notExposeAsWebApp) === "true")
        svc["x-hop3-not-web"] = true;
      if (isObj(svc) && "caproverExtra" in svc) {
        unmapped.push(
          `services.${s}.caproverExtra: ${JSON.stringify(svc.caproverExtra)} (CapRover's own settings)`,
        );
        delete svc.caproverExtra;
      }
    }
  }
  const instructions = isObj(oneClick.instructions) ? oneClick.instructions : {};
  if (instructions.end)
    unmapped.push(`caproverOneClickApp.instructions.end: review it for the post-install notes`);
  return { doc: out, questions, unmapped };
}

/** `validate` checks the Compose document (CapRover files once made plain Compose) and throws on a bad one. */
export function importCompose(
  input: Obj,
  opts: ImportOptions,
  validate: (doc: Obj) => void = () => {},
): ImportResult {
  const mapped: string[] = [];
  const unmapped: string[] = [];
  let questions: ImportResult["questions"] = [];
  let doc = input;
  const capRover = "captainVersion" in doc || "caproverOneClickApp" in doc;
  if (capRover || "caproverOneClickApp" in doc) {
    const cap = fromCapRover(doc, opts.name);
    doc = cap.doc;
    questions = cap.questions;
    unmapped.push(...cap.unmapped);
    mapped.push(`CapRover variables -> questions: ${questions.map((q) => q.key).join(", ") || "(none)"}`);
  }
  validate(doc);
  const services = isObj(doc.services) ? (doc.services as Record<string, Obj>) : {};
  const names = Object.keys(services);
  if (names.length === 0) throw usageError(`${opts.source}: no services`);
  const dbType = (s: string) => addonTypeOfImage(String(services[s]?.image ?? ""));
  const apps = names.filter((s) => !dbType(s));
  let main = opts.service;
  if (main !== undefined && !services[main])
    throw usageError(
      `${opts.source}: no service ${JSON.stringify(main)}`,
      `its services: ${names.join(", ")}`,
    );
  if (!main) {
    const web = apps.filter((s) => {
      const svc = services[s]!;
      const env = envOf(svc);
      return (
        (Array.isArray(svc.ports) && svc.ports.length > 0) ||
        (svc.labels !== undefined && JSON.stringify(svc.labels).includes("traefik")) ||
        Object.keys(env).some((k) => /^SERVICE_(FQDN|URL)_/.test(k)) ||
        (svc["x-hop3-not-web"] !== true &&
          apps.filter((a) => services[a]!["x-hop3-not-web"] !== true).length === 1)
      );
    });
    if (web.length === 1) main = web[0];
    else if (apps.length === 1) main = apps[0];
    else
      throw usageError(
        `${opts.source}: cannot tell the main web service among ${(web.length ? web : apps).join(", ")}`,
        "name it: hop catalog:import FILE --service NAME",
      );
  }
  const svc = services[main!]!;
  if (typeof svc.image !== "string")
    throw usageError(
      `${opts.source}: services.${main}.image is missing: only services with an image are imported (a build: section needs its sources)`,
    );
  const image = svc.image;
  // it becomes the Containerfile's FROM line: a newline or a space would add build steps of the file's choosing
  if (!IMAGE_REFERENCE.test(image))
    throw usageError(
      `${opts.source}: services.${main}.image ${q(image.slice(0, 200))} is not an image reference`,
      "an image reference is [REGISTRY/]NAME[:TAG][@sha256:DIGEST], e.g. ghcr.io/org/app:1.2",
    );
  mapped.push(`services.${main} (${image}) -> the app: upstream_image and the Containerfile's FROM`);

  // databases -> addons
  const addons: ImportResult["addons"] = [];
  for (const s of names) {
    const t = dbType(s);
    if (!t) continue;
    if (addons.some((a) => a.type === t)) {
      unmapped.push(`services.${s}: a second ${t} service; the recipe has one ${t} addon`);
      continue;
    }
    addons.push({ service: s, type: t });
    mapped.push(
      `services.${s} (${services[s]!.image}) -> [[addons]] type = "${t}" (its data lives in the addon's volume)`,
    );
    for (const [k, v] of Object.entries(envOf(services[s]!))) {
      if (!DB_OWN.test(k))
        unmapped.push(`services.${s}.environment.${k}=${v ?? ""}: no setting of the ${t} addon`);
    }
    for (const key of Object.keys(services[s]!)) {
      if (
        ![
          "x-hop3-not-web",
          "image",
          "environment",
          "volumes",
          "restart",
          "healthcheck",
          "container_name",
          "networks",
          "expose",
          "command",
        ].includes(key)
      )
        unmapped.push(`services.${s}.${key}: not carried over to the ${t} addon`);
      else if (key === "command")
        unmapped.push(
          `services.${s}.command ${JSON.stringify(services[s]!.command)}: the ${t} addon runs with Hop3's settings`,
        );
    }
  }
  const dbValues = new Map<string, { type: AddonType; key: string }>();
  for (const a of addons) {
    for (const [k, v] of Object.entries(envOf(services[a.service]!))) {
      const key = DB_ENV[a.type][k];
      if (key && v) dbValues.set(v, { type: a.type, key });
    }
  }

  // environment
  const env: Record<string, EnvValue> = {};
  const appEnv = envOf(svc);
  for (const [k, raw] of Object.entries(appEnv)) {
    if (/^SERVICE_(FQDN|URL)_/.test(k) && raw === undefined) {
      mapped.push(
        `environment.${k} (Coolify's URL of the app) -> Hop3 gives the app its URL and hostnames (APP_URL...)`,
      );
      continue;
    }
    if (raw === undefined) {
      unmapped.push(
        `services.${main}.environment.${k}: no value (taken from the host's environment in Compose)`,
      );
      continue;
    }
    const value = raw;
    const viaDb = addons.find(
      (a) =>
        value.includes(`@${a.service}:`) ||
        value.includes(`@${a.service}/`) ||
        value.includes(`//${a.service}:`),
    );
    const hostRef = addons.find(
      (a) =>
        value === a.service ||
        value.startsWith(`${a.service}:`) ||
        new RegExp(`^srv-captain--${opts.name}-${a.service.replace(/^.*-/, "")}(:\\d+)?$`).test(value) ||
        value.endsWith(`--${a.service}`) ||
        value.replace(/:\d+$/, "").endsWith(`--${a.service}`),
    );
    if (viaDb) {
      env[k] = { from: viaDb.type, key: URL_KEY[viaDb.type] };
      mapped.push(
        `environment.${k} (a URL of ${viaDb.service}) -> { from = "${viaDb.type}", key = "${URL_KEY[viaDb.type]}" }`,
      );
    } else if (hostRef) {
      env[k] = { from: hostRef.type, key: HOST_KEY[hostRef.type] };
      mapped.push(
        `environment.${k} (the host of ${hostRef.service}) -> { from = "${hostRef.type}", key = "${HOST_KEY[hostRef.type]}" }`,
      );
      if (/:\d+$/.test(value) && hostRef.type !== "redis")
        unmapped.push(
          `services.${main}.environment.${k}=${value}: the port is dropped; the addon's standard port is used`,
        );
    } else if (dbValues.has(value)) {
      const ref = dbValues.get(value)!;
      env[k] = { from: ref.type, key: ref.key };
      mapped.push(`environment.${k} (the database's value) -> { from = "${ref.type}", key = "${ref.key}" }`);
    } else if (/^\$\{?SERVICE_(PASSWORD|USER|BASE64|REALBASE64)_/.test(value)) {
      env[k] = { generate: /PASSWORD|USER/.test(value) ? "password" : "hex" };
      mapped.push(
        `environment.${k} (Coolify's generated ${value}) -> { generate = "${(env[k] as { generate: string }).generate}" }`,
      );
    } else if (/^\$\{?[A-Za-z_][A-Za-z0-9_]*(:?-[^}]*)?\}?$/.test(value)) {
      const ref = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}?$/.exec(value)!;
      const question = questions.find((q) => q.key === ref[1]);
      if (question) {
        if (ref[1] !== k) env[k] = `\${${ref[1]}}`;
        mapped.push(`environment.${k} -> the answer to question ${ref[1]}`);
        if (ref[1] !== k)
          unmapped.push(
            `services.${main}.environment.${k}=${value}: set to the answer ${ref[1]} by [env.computed]; check it`,
          );
      } else if (looksSecret(k)) {
        env[k] = { generate: "password" };
        mapped.push(
          `environment.${k}=${value} (a secret the operator provides in Compose) -> { generate = "password" }`,
        );
      } else {
        questions.push({
          key: k,
          prompt: `${k} (${value} in ${opts.source})`,
          ...(ref[2] ? { default: ref[2] } : {}),
        });
        mapped.push(`environment.${k}=${value} -> a question asked at install`);
      }
    } else if (value.includes("$")) {
      unmapped.push(
        `services.${main}.environment.${k}=${value}: interpolation of other variables; set it with hop config:set`,
      );
    } else {
      env[k] = value;
    }
  }
  // a question only the database or an image used has nothing left to set: the addon makes its credentials
  const used = (key: string) =>
    Object.entries(env).some(([k, v]) => k === key || (typeof v === "string" && v.includes(`\${${key}}`)));
  for (const x of questions.filter((x) => !used(x.key)))
    unmapped.push(
      `question ${x.key} (${x.prompt}): not asked; it set the database or an image, which the recipe fixes`,
    );
  questions = questions.filter((x) => used(x.key));
  const plain = Object.keys(env).filter((k) => typeof env[k] === "string");
  if (plain.length) mapped.push(`environment: ${plain.join(", ")} -> [env]`);

  // volumes
  const volumes: ImportResult["volumes"] = [];
  for (const v of Array.isArray(svc.volumes) ? svc.volumes : []) {
    const spec = isObj(v)
      ? {
          source: v.source as string | undefined,
          target: String(v.target ?? ""),
          type: String(v.type ?? "volume"),
        }
      : (() => {
          const parts = String(v).split(":");
          return parts.length === 1
            ? { source: undefined, target: parts[0]!, type: "volume" }
            : { source: parts[0], target: parts[1]!, type: HOST_PATH.test(parts[0]!) ? "bind" : "volume" };
        })();
    if (spec.type !== "volume") {
      unmapped.push(
        `services.${main}.volumes: ${JSON.stringify(v)}: a ${spec.type} mount of the host; put the file in the recipe and COPY it in the Containerfile, or use a volume`,
      );
      continue;
    }
    const name = resourceName(spec.source ?? spec.target.split("/").filter(Boolean).join("-"));
    volumes.push({ name, target: spec.target });
    mapped.push(
      `volume ${spec.source ?? "(anonymous)"}:${spec.target} -> [[volumes]] name = "${name}" (persist)`,
    );
  }

  // port, health
  const health = healthPathOf(svc);
  let port = portOf(svc, appEnv) ?? health?.port;
  if (port) mapped.push(`port ${port} -> port = ${port}`);
  else if (capRover) {
    port = 80;
    mapped.push("no port: CapRover's default container HTTP port 80 -> port = 80");
  }
  if (!port)
    unmapped.push(
      `services.${main}: no published port, expose or health check URL: set \`port = N\` in hop3.toml`,
    );
  if (health)
    mapped.push(`healthcheck (GET ${health.path}) -> [healthcheck] path and a [[test.validations]]`);

  // the rest of the main service
  const handled = new Set([
    "x-hop3-not-web",
    "image",
    "environment",
    "volumes",
    "ports",
    "expose",
    "healthcheck",
    "depends_on",
    "restart",
    "container_name",
  ]);
  for (const [key, value] of Object.entries(svc)) {
    if (handled.has(key)) continue;
    unmapped.push(`services.${main}.${key}: ${JSON.stringify(value).slice(0, 200)}`);
  }
  for (const s of apps) {
    if (s !== main)
      unmapped.push(
        `services.${s} (${services[s]!.image ?? "a build"}): another service; Hop3 runs one image per app: make it a worker ([run] workers) or a second app`,
      );
  }
  for (const key of Object.keys(doc)) {
    if (key === "services" || key === "volumes" || key === "version" || key === "name") continue;
    unmapped.push(
      `${key}: ${JSON.stringify(doc[key]).slice(0, 200)} (top-level ${key} have no recipe equivalent)`,
    );
  }

  const result = {
    main: main!,
    image,
    ...(port ? { port } : {}),
    addons,
    env,
    volumes,
    questions,
    ...(health ? { healthPath: health.path } : {}),
    mapped,
    unmapped,
  };
  return { ...result, files: renderRecipe(result, opts) };
}

/**
 * A TOML basic string. JSON's quoting is TOML's but for two characters TOML forbids that JSON leaves alone or
 * escapes its own way: DEL, and lone surrogates (JSON writes \ud800, an escape TOML refuses), which become U+FFFD.
 */
const q = (s: string) =>
  JSON.stringify(
    s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"),
  ).replace(/\x7f/g, "\\u007f");
const tomlKey = (k: string) => (/^[A-Za-z0-9_-]+$/.test(k) ? k : q(k));

function upstreamOf(image: string, comments: Record<string, string>): string {
  if (comments.documentation && /^https?:\/\//.test(comments.documentation)) return comments.documentation;
  const repo = image.replace(/[:@].*$/, "");
  if (repo.startsWith("ghcr.io/")) return `https://github.com/${repo.slice("ghcr.io/".length)}`;
  const hub = repo.replace(/^docker\.io\//, "");
  return hub.includes("/") ? `https://hub.docker.com/r/${hub}` : `https://hub.docker.com/_/${hub}`;
}

/** The recipe's files: catalog.toml, hop3.toml, Containerfile and IMPORT.md (the mapping and what is left). */
export function renderRecipe(r: Omit<ImportResult, "files">, opts: ImportOptions): Record<string, string> {
  const comments = opts.headerComments ?? {};
  const tag = /:([^@/]+)(@|$)/.exec(r.image)?.[1];
  const version =
    tag && /^[0-9A-Za-z][0-9A-Za-z.+~_-]*$/.test(tag) && tag !== "latest"
      ? `${tag}-imported`
      : "0.0.0-imported";
  const ref =
    r.image.includes("/") && /^[a-z0-9.-]+(:\d+)?\//.test(r.image) && r.image.split("/")[0]!.includes(".")
      ? r.image
      : `docker.io/${r.image.includes("/") ? "" : "library/"}${r.image}`;
  const categories = [
    "cms",
    "wiki",
    "collaboration",
    "communication",
    "development",
    "monitoring",
    "tools",
    "productivity",
    "files",
  ];
  const category = categories.includes(comments.category ?? "") ? comments.category! : "tools";
  const catalog = [
    `name = ${q(opts.name)}`,
    `version = ${q(version)}`,
    `upstream = ${q(upstreamOf(r.image, comments))}`,
    `license = "NOASSERTION"  # set the app's SPDX licence id`,
    `description = ${q((comments.slogan ?? `${opts.name}, imported from ${opts.source}`).slice(0, 200))}`,
    `category = ${q(category)}`,
    `maintainer = "Imported by hop catalog:import: review before publishing"`,
    `upstream_image = ${q(ref.replace(/:latest$/, ""))}`,
    "",
    "[resources]",
    `memory = "512M"`,
    `disk = "1G"`,
    ...r.questions.flatMap((x) => [
      "",
      "[[questions]]",
      `key = ${q(x.key)}`,
      `prompt = ${q(x.prompt)}`,
      ...(x.default !== undefined ? [`default = ${q(x.default)}`] : []),
      ...(x.pattern ? [`pattern = ${q(x.pattern)}`] : []),
    ]),
    "",
    "[notes]",
    `post_install = ${q(`Imported from ${opts.source}; see IMPORT.md for what was not mapped.`)}`,
    "",
  ].join("\n");
  const envLines = Object.entries(r.env).map(([k, v]) =>
    typeof v === "string"
      ? v.includes("${")
        ? `computed.${tomlKey(k)} = ${q(v)}`
        : `${tomlKey(k)} = ${q(v)}`
      : "generate" in v
        ? `${tomlKey(k)} = { generate = ${q(v.generate)} }`
        : `${tomlKey(k)} = { from = ${q(v.from)}, key = ${q(v.key)} }`,
  );
  const validationPath = r.healthPath ?? "/";
  const hop3 = [
    `# Made by hop catalog:import from ${opts.source} (service ${r.main}); see IMPORT.md`,
    // the bare key first: after a table header it would belong to that table
    ...(r.port ? [`port = ${r.port}`, ""] : []),
    "[build]",
    `builder = "docker"`,
    "",
    ...(envLines.length ? ["[env]", ...envLines, ""] : []),
    ...r.addons.flatMap((a) => ["[[addons]]", `type = ${q(a.type)}`, ""]),
    ...r.volumes.flatMap((v) => [
      "[[volumes]]",
      `name = ${q(v.name)}`,
      `target = ${q(v.target)}`,
      `type = "persist"`,
      "",
    ]),
    "[healthcheck]",
    `path = ${q(validationPath)}`,
    "",
    "[[test.validations]]",
    `path = ${q(validationPath)}`,
    "status = 200",
    "",
  ].join("\n");
  const containerfile = [
    `# The upstream image, used where a registry answers. On a host without one, replace this with a build from`,
    `# the distribution's packages or npm (see the catalog's other recipes).`,
    `FROM ${ref}`,
    "",
  ].join("\n");
  const report = [
    `# Import report: ${opts.name}`,
    "",
    `Source: ${opts.source}, main service \`${r.main}\`.`,
    "",
    "## Mapped",
    "",
    ...r.mapped.map((m) => `- ${m}`),
    "",
    "## Not mapped (review each)",
    "",
    ...(r.unmapped.length ? r.unmapped.map((m) => `- ${m}`) : ["- nothing"]),
    "",
  ].join("\n");
  return { "catalog.toml": catalog, "hop3.toml": hop3, Containerfile: containerfile, "IMPORT.md": report };
}

/** Coolify's header comments (`# slogan: ...`, `# category: cms`) as a map. */
export function headerComments(yamlText: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of yamlText.split("\n")) {
    const m = /^#\s*([a-z_]+):\s*(.+)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
    else if (!line.startsWith("#") && line.trim() !== "") break;
  }
  return out;
}
