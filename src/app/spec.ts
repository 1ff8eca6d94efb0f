import { lstat, readFile, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
import { Hop3Error, usageError } from "../util/errors.js";
import { type HttpCheck, type ImportedChecks, parseAppJsonChecks, parseChecksFile } from "./checks.js";
import { emptyTomlEnv, type TomlEnv } from "./env.js";
import { parseEnvFile } from "./envfile.js";
import {
  type AddonSpec,
  type HealthcheckSpec,
  type Hop3Toml,
  type PortSpec,
  parseHop3Toml,
  type VolumeSpec,
} from "./hop3toml.js";
import {
  type CronJob,
  classifyProcesses,
  type ProcessTypes,
  parseProcfile,
  type StaticMapping,
} from "./procfile.js";

/**
 * Everything a repository says about how to build and run it, merged from hop3.toml, Procfile and ENV
 * with the precedence of UPSTREAM.md: hop3.toml > Procfile > defaults.
 */

export interface AppHooks {
  /** Each hook is a list of commands run in order; the first failure stops it. */
  preflight?: string[];
  prebuild?: string[];
  postbuild?: string[];
  prerun?: string[];
}

export interface WsgiSpec {
  /** `wsgi` (Python), `jwsgi` (Java), `rwsgi` (Ruby): the platform supplies the server on PORT. */
  kind: "wsgi" | "jwsgi" | "rwsgi";
  target: string;
}

export interface BuildSpec {
  builder: "auto" | "local" | "buildpacks" | "docker";
  toolchain?: string;
  beforeBuild: string[];
  build: string[];
  afterBuild: string[];
  test: string[];
  packages: string[];
  pipInstall: string[];
  nodeVersion?: string;
  staticDir?: string;
  ignore: string[];
}

export interface RunSpec {
  start?: string;
  beforeRun: string[];
  workers: Record<string, string>;
  /** Seconds. */
  startTimeout?: number;
  packages: string[];
  healthcheck?: string;
  /** Seconds. */
  healthcheckTimeout?: number;
  /** Seconds the release phase may take (at most the server's HOP3_RELEASE_TIMEOUT). */
  releaseTimeout?: number;
}

export interface HealthcheckConfig {
  path: string;
  contains?: string;
  /** Seconds. */
  interval?: number;
  /** Seconds. */
  timeout?: number;
  retries?: number;
  /** Seconds to wait before the first attempt (Dokku's WAIT). */
  wait?: number;
  /** Further paths that must pass too (a CHECKS file or app.json may list several). */
  more?: HttpCheck[];
}

export interface AppSpecFiles {
  /** Paths relative to the repository root. */
  hop3toml?: string;
  procfile?: string;
  containerfile?: "Containerfile" | "Dockerfile";
  envFile?: string;
}

export interface AppSpec {
  /** From [metadata] id, already validated as an app name. */
  name?: string;
  metadata: NonNullable<Hop3Toml["metadata"]>;
  /** Long-running process types, `web` included: type -> command. */
  processes: Record<string, string>;
  wsgi?: WsgiSpec;
  release?: string;
  hooks: AppHooks;
  cron: CronJob[];
  static: StaticMapping[];
  build: BuildSpec;
  run: RunSpec;
  docker: { port?: number; buildArgs: Record<string, string> };
  /** The port the web process listens on, when the repository says so. */
  port?: number;
  ports: PortSpec[];
  healthcheck?: HealthcheckConfig;
  domains: string[];
  /** Variables from the repository's ENV file: the lowest layer. */
  envDefaults: Record<string, string>;
  tomlEnv: TomlEnv;
  addons: AddonSpec[];
  volumes: VolumeSpec[];
  limits: { memory?: string | number; cpu?: number; processes?: number };
  backup: { paths: string[]; exclude: string[] };
  tests: { path: string; status?: number; contains?: string }[];
  files: AppSpecFiles;
  warnings: string[];
  /** How a line was read where another reading was possible (a `cron*` Procfile type run as a process). */
  notes?: string[];
}

/** Configuration files are small; anything bigger is a mistake or an attack on the server's memory. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export async function loadAppSpec(dir: string): Promise<AppSpec> {
  const root = await realpath(dir).catch(() => {
    throw usageError(`app directory ${JSON.stringify(dir)} does not exist`);
  });
  const warnings: string[] = [];

  const tomlFile = await findFirst(root, ["hop3/hop3.toml", "hop3.toml"], warnings);
  const procfileName = await findFirst(root, ["hop3/Procfile", "Procfile"], warnings);
  const envFileName = await findFirst(root, ["hop3/ENV", "ENV"], warnings);
  const containerfile = (await isFile(root, "Containerfile"))
    ? "Containerfile"
    : (await isFile(root, "Dockerfile"))
      ? "Dockerfile"
      : undefined;

  let toml: Hop3Toml = {};
  if (tomlFile) {
    const parsed = parseHop3Toml(await readConfig(root, tomlFile), tomlFile);
    toml = parsed.config;
    warnings.push(...parsed.warnings);
  }
  const procfile = procfileName
    ? classifyProcesses(
        parseProcfile(await readConfig(root, procfileName), procfileName).entries,
        procfileName,
      )
    : undefined;
  const envDefaults = envFileName ? parseEnvFile(await readConfig(root, envFileName), envFileName) : {};

  const files: AppSpecFiles = {};
  if (tomlFile) files.hop3toml = tomlFile;
  if (procfileName) files.procfile = procfileName;
  if (containerfile) files.containerfile = containerfile;
  if (envFileName) files.envFile = envFileName;

  // What Dokku and Heroku-style repositories bring: app.json healthchecks, else a CHECKS file
  let imported: ImportedChecks | undefined;
  if (await isFile(root, "app.json")) imported = parseAppJsonChecks(await readConfig(root, "app.json"));
  if (!imported?.checks.length && (await isFile(root, "CHECKS"))) {
    imported = parseChecksFile(await readConfig(root, "CHECKS"));
  }

  return mergeAppSpec({ toml, procfile, envDefaults, files, warnings, ...(imported ? { imported } : {}) });
}

export interface MergeInput {
  toml: Hop3Toml;
  /** Checks from a Dokku CHECKS file or app.json, used when hop3.toml has none. */
  imported?: ImportedChecks;
  procfile?: ProcessTypes;
  envDefaults?: Record<string, string>;
  files?: AppSpecFiles;
  warnings?: string[];
}

/** The pure half of loadAppSpec: hop3.toml > Procfile > defaults, key by key. */
export function mergeAppSpec(input: MergeInput): AppSpec {
  const { toml } = input;
  const procfile: ProcessTypes = input.procfile ?? { hooks: {}, cron: [], workers: {} };
  const warnings = [...(input.warnings ?? [])];
  const tomlName = input.files?.hop3toml ?? "hop3.toml";
  const procName = input.files?.procfile ?? "Procfile";

  const build: BuildSpec = {
    builder: toml.build?.builder === "nix" ? "auto" : (toml.build?.builder ?? "auto"),
    beforeBuild: list(toml.build?.["before-build"]),
    build: list(toml.build?.build),
    afterBuild: list(toml.build?.["after-build"]),
    test: list(toml.build?.test),
    packages: toml.build?.packages ?? [],
    pipInstall: toml.build?.["pip-install"] ?? [],
    ignore: toml.build?.ignore ?? [],
  };
  if (toml.build?.toolchain !== undefined) build.toolchain = toml.build.toolchain;
  if (toml.build?.["node-version"] !== undefined) build.nodeVersion = toml.build["node-version"];
  if (toml.build?.["static-dir"] !== undefined) build.staticDir = toml.build["static-dir"];

  const run: RunSpec = {
    beforeRun: list(toml.run?.["before-run"]),
    workers: toml.run?.workers ?? {},
    packages: toml.run?.packages ?? [],
  };
  if (toml.run?.start !== undefined) run.start = toml.run.start;
  if (toml.run?.["start-timeout"] !== undefined) run.startTimeout = toml.run["start-timeout"];
  if (toml.run?.healthcheck !== undefined) run.healthcheck = toml.run.healthcheck;
  if (toml.run?.["healthcheck-timeout"] !== undefined)
    run.healthcheckTimeout = toml.run["healthcheck-timeout"];
  if (toml.run?.["release-timeout"] !== undefined) run.releaseTimeout = toml.run["release-timeout"];

  const processes: Record<string, string> = {};
  let wsgi: WsgiSpec | undefined;
  const procfileWsgi = (["wsgi", "jwsgi", "rwsgi"] as const).find((kind) => procfile[kind] !== undefined);
  if (run.start !== undefined) {
    processes.web = run.start;
    if (procfileWsgi) {
      warnings.push(
        `${procName}: "${procfileWsgi}" is ignored because ${tomlName} [run] start sets the web process`,
      );
    }
  } else if (procfile.web !== undefined) {
    processes.web = procfile.web;
  } else if (procfileWsgi) {
    wsgi = { kind: procfileWsgi, target: procfile[procfileWsgi]! };
  }
  Object.assign(processes, procfile.workers, run.workers);

  const hooks: AppHooks = {};
  setHook(hooks, "preflight", [], procfile.hooks.preflight);
  setHook(hooks, "prebuild", build.beforeBuild, procfile.hooks.prebuild);
  setHook(hooks, "postbuild", build.afterBuild, procfile.hooks.postbuild);
  setHook(hooks, "prerun", run.beforeRun, procfile.hooks.prerun);

  let healthcheck: HealthcheckConfig | undefined;
  if (toml.healthcheck) {
    healthcheck = compact<HealthcheckConfig>(toml.healthcheck as HealthcheckSpec);
  } else if (run.healthcheck?.startsWith("/")) {
    healthcheck = { path: run.healthcheck };
  } else if (input.imported && input.imported.checks.length > 0) {
    const [first, ...rest] = input.imported.checks;
    healthcheck = {
      ...first!,
      ...(input.imported.timeout !== undefined ? { timeout: input.imported.timeout } : {}),
      ...(input.imported.wait !== undefined ? { wait: input.imported.wait } : {}),
      ...(rest.length ? { more: rest } : {}),
    };
  }
  if (input.imported) warnings.push(...input.imported.warnings);
  if (healthcheck && healthcheck.timeout === undefined && run.healthcheckTimeout !== undefined) {
    healthcheck.timeout = run.healthcheckTimeout;
  }

  const spec: AppSpec = {
    metadata: toml.metadata ?? {},
    processes,
    hooks,
    cron: procfile.cron,
    static: procfile.static ?? [],
    build,
    run,
    docker: { buildArgs: toml.docker?.["build-args"] ?? {} },
    ports: toml.ports ?? [],
    domains: toml.domains?.list ?? [],
    envDefaults: input.envDefaults ?? {},
    tomlEnv: withAdminEnv(toml),
    addons: toml.addons ?? [],
    volumes: toml.volumes ?? [],
    limits: toml.limits ?? {},
    backup: { paths: toml.backup?.paths ?? [], exclude: toml.backup?.exclude ?? [] },
    tests: toml.test?.validations ?? [],
    files: input.files ?? {},
    warnings,
  };
  if (toml.metadata?.id !== undefined) spec.name = toml.metadata.id;
  if (wsgi) spec.wsgi = wsgi;
  if (procfile.release !== undefined) spec.release = procfile.release;
  if (procfile.notes?.length) spec.notes = procfile.notes;
  if (toml.docker?.port !== undefined) spec.docker.port = toml.docker.port;
  const port = toml.port ?? toml.docker?.port;
  if (port !== undefined) spec.port = port;
  if (healthcheck) spec.healthcheck = healthcheck;
  return spec;
}

/** [admin] becomes HOP3_ADMIN_USER/EMAIL/PASSWORD, unless [env] already sets them. */
function withAdminEnv(toml: Hop3Toml): TomlEnv {
  const env = toml.env ?? emptyTomlEnv();
  const admin = toml.admin;
  if (!admin) return env;
  const result: TomlEnv = {
    ...env,
    values: { ...env.values },
    generated: { ...env.generated },
  };
  const defined = (key: string) =>
    key in env.values || key in env.generated || key in env.refs || key in env.computed;
  if (admin.username !== undefined && !defined("HOP3_ADMIN_USER"))
    result.values.HOP3_ADMIN_USER = admin.username;
  if (admin.email !== undefined && !defined("HOP3_ADMIN_EMAIL")) result.values.HOP3_ADMIN_EMAIL = admin.email;
  if (admin.password !== undefined && !defined("HOP3_ADMIN_PASSWORD")) {
    if (typeof admin.password === "string") result.values.HOP3_ADMIN_PASSWORD = admin.password;
    else {
      result.generated.HOP3_ADMIN_PASSWORD = compact({
        generate: admin.password.generate,
        length: admin.password.length,
      });
    }
  }
  return result;
}

function setHook(hooks: AppHooks, name: keyof AppHooks, fromToml: string[], fromProcfile?: string): void {
  if (fromToml.length > 0) hooks[name] = fromToml;
  else if (fromProcfile !== undefined) hooks[name] = [fromProcfile];
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function compact<T>(value: object): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

// ---------- files ----------

async function findFirst(
  root: string,
  candidates: string[],
  warnings: string[],
): Promise<string | undefined> {
  const present: string[] = [];
  for (const candidate of candidates) {
    if (await isFile(root, candidate)) present.push(candidate);
  }
  if (present.length > 1) {
    warnings.push(`${present.slice(1).join(", ")} ignored: ${present[0]} takes precedence`);
  }
  return present[0];
}

/** True for a regular file (or a symlink to one); anything resolving outside the repository is refused. */
async function isFile(root: string, name: string): Promise<boolean> {
  const path = join(root, name);
  if (!(await lstat(path).catch(() => undefined))) return false;
  const target = await realpath(path).catch(() => undefined);
  if (!target) return false; // a dangling symlink is as good as absent
  const rel = relative(root, target);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw usageError(`${name} resolves to a path outside the repository (symbolic link?)`);
  }
  const info = await stat(target).catch(() => undefined);
  if (!info) return false;
  if (info.isDirectory()) throw usageError(`${name} is a directory, expected a file`);
  return info.isFile();
}

async function readConfig(root: string, name: string): Promise<string> {
  let buffer: Buffer;
  try {
    const target = await realpath(join(root, name));
    const info = await stat(target);
    if (info.size > MAX_CONFIG_BYTES) {
      throw usageError(`${name} is too large (${info.size} bytes; the limit is ${MAX_CONFIG_BYTES})`);
    }
    buffer = await readFile(target);
  } catch (err) {
    if (err instanceof Hop3Error) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? "unknown error";
    throw usageError(`cannot read ${name}: ${code}`);
  }
  if (buffer.includes(0)) throw usageError(`${name} is not a text file`);
  return buffer.toString("utf8");
}
