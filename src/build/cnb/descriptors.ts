/**
 * The TOML files of the Buildpack API (buildpack.toml, order.toml, the detect build plan, <layer>.toml,
 * launch.toml), parsed and validated. Older buildpack APIs (top-level launch/build/cache keys, string
 * commands) are accepted so that third-party buildpacks run unmodified.
 */
import { parse } from "smol-toml";
import { Hop3Error } from "../../util/errors.js";

export interface GroupEntry {
  id: string;
  version?: string;
  optional: boolean;
}

export type Order = GroupEntry[][];

export interface BuildpackDescriptor {
  api: string;
  id: string;
  version: string;
  name?: string;
  homepage?: string;
  /** When true, user-provided env vars are not set in bin/detect's and bin/build's environment. */
  clearEnv: boolean;
  /** Present for composite (meta) buildpacks, which have no bin/ of their own. */
  order?: Order;
}

export interface Requirement {
  name: string;
  metadata?: Record<string, unknown>;
}

export interface PlanAlternative {
  provides: { name: string }[];
  requires: Requirement[];
}

/** What a bin/detect wrote to CNB_BUILD_PLAN_PATH: the first alternative, then each [[or]]. */
export type DetectPlan = PlanAlternative[];

export interface LayerTypes {
  launch: boolean;
  build: boolean;
  cache: boolean;
}

export interface LayerContent {
  types: LayerTypes;
  metadata: Record<string, unknown>;
}

export interface ProcessDef {
  type: string;
  /** Executable and fixed arguments. */
  command: string[];
  /** Default arguments, replaced by the user's when any are given (Buildpack API 0.9+). */
  args: string[];
  default: boolean;
  workingDir?: string;
}

export interface LaunchToml {
  processes: ProcessDef[];
  labels: { key: string; value: string }[];
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
const PROCESS_TYPE = /^[A-Za-z0-9_.-]+$/;

function fail(file: string, message: string): never {
  throw new Hop3Error(`${file}: ${message}`, "deployFailed");
}

function parseToml(text: string, file: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (err) {
    fail(file, `not valid TOML: ${(err as Error).message.split("\n")[0]}`);
  }
}

const isTable = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);

function tables(v: unknown, file: string, key: string): Record<string, unknown>[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every(isTable)) fail(file, `${key} must be an array of tables`);
  return v;
}

function str(v: unknown, file: string, key: string): string {
  if (typeof v !== "string" || v === "") fail(file, `${key} must be a non-empty string`);
  return v;
}

function optStr(v: unknown, file: string, key: string): string | undefined {
  return v === undefined ? undefined : str(v, file, key);
}

function bool(v: unknown, file: string, key: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") fail(file, `${key} must be true or false`);
  return v;
}

function parseOrder(value: unknown, file: string): Order {
  return tables(value, file, "order").map((o, i) =>
    tables(o.group, file, `order[${i}].group`).map((g, j) => {
      const id = str(g.id, file, `order[${i}].group[${j}].id`);
      if (!ID.test(id)) fail(file, `invalid buildpack id ${JSON.stringify(id)}`);
      const version = optStr(g.version, file, `order[${i}].group[${j}].version`);
      return { id, ...(version ? { version } : {}), optional: bool(g.optional, file, "optional") };
    }),
  );
}

export function parseOrderToml(text: string, file = "order.toml"): Order {
  const order = parseOrder(parseToml(text, file).order, file);
  if (order.length === 0) fail(file, "no [[order]] groups");
  return order;
}

export function parseBuildpackToml(text: string, file = "buildpack.toml"): BuildpackDescriptor {
  const doc = parseToml(text, file);
  const api = doc.api === undefined ? "0.2" : str(doc.api, file, "api");
  if (!/^\d+\.\d+$/.test(api)) fail(file, `api ${JSON.stringify(api)} is not a Buildpack API version`);
  if (!isTable(doc.buildpack)) fail(file, "missing the [buildpack] table");
  const bp = doc.buildpack;
  const id = str(bp.id, file, "buildpack.id");
  if (!ID.test(id) || id === "app" || id === "config" || id === "sbom") {
    fail(file, `invalid buildpack id ${JSON.stringify(id)}`);
  }
  const version = str(bp.version, file, "buildpack.version");
  const out: BuildpackDescriptor = { api, id, version, clearEnv: bool(bp["clear-env"], file, "clear-env") };
  const name = optStr(bp.name, file, "buildpack.name");
  if (name) out.name = name;
  const homepage = optStr(bp.homepage, file, "buildpack.homepage");
  if (homepage) out.homepage = homepage;
  if (doc.order !== undefined) out.order = parseOrder(doc.order, file);
  return out;
}

function parseAlternative(t: Record<string, unknown>, file: string): PlanAlternative {
  return {
    provides: tables(t.provides, file, "provides").map((p) => ({ name: str(p.name, file, "provides.name") })),
    requires: tables(t.requires, file, "requires").map((r) => {
      const name = str(r.name, file, "requires.name");
      if (r.metadata !== undefined && !isTable(r.metadata)) fail(file, "requires.metadata must be a table");
      // Buildpack API < 0.3 put metadata beside name; keep it so older buildpacks still see it.
      const extra = Object.fromEntries(Object.entries(r).filter(([k]) => k !== "name" && k !== "metadata"));
      const metadata = { ...extra, ...((r.metadata as Record<string, unknown> | undefined) ?? {}) };
      return Object.keys(metadata).length > 0 ? { name, metadata } : { name };
    }),
  };
}

export function parseDetectPlan(text: string, file = "plan.toml"): DetectPlan {
  if (!text.trim()) return [];
  const doc = parseToml(text, file);
  const first = parseAlternative(doc, file);
  const or = tables(doc.or, file, "or").map((t) => parseAlternative(t, file));
  const empty = first.provides.length === 0 && first.requires.length === 0;
  return empty && or.length === 0 ? [] : [first, ...or];
}

export function parseLayerToml(text: string, file = "layer.toml"): LayerContent {
  const doc = parseToml(text, file);
  // API 0.6+: a [types] table; earlier: top-level keys.
  const src = isTable(doc.types) ? doc.types : doc;
  const metadata = doc.metadata === undefined ? {} : doc.metadata;
  if (!isTable(metadata)) fail(file, "metadata must be a table");
  return {
    types: {
      launch: bool(src.launch, file, "launch"),
      build: bool(src.build, file, "build"),
      cache: bool(src.cache, file, "cache"),
    },
    metadata,
  };
}

function stringList(v: unknown, file: string, key: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) fail(file, `${key} must be strings`);
  return v as string[];
}

export function parseLaunchToml(text: string, file = "launch.toml"): LaunchToml {
  const doc = parseToml(text, file);
  const processes = tables(doc.processes, file, "processes").map((p): ProcessDef => {
    const type = str(p.type, file, "processes.type");
    if (!PROCESS_TYPE.test(type)) fail(file, `invalid process type ${JSON.stringify(type)}`);
    const args = stringList(p.args, file, "processes.args");
    let command: string[];
    let procArgs = args;
    if (typeof p.command === "string") {
      // Buildpack API < 0.9: a string run by a shell unless `direct = true`.
      if (p.direct === true) command = [p.command];
      else {
        command = ["/bin/sh", "-c", [p.command, ...args.map(shellQuote)].join(" ")];
        procArgs = [];
      }
    } else {
      command = stringList(p.command, file, "processes.command");
    }
    if (command.length === 0 || command[0] === "") fail(file, `process ${type} has no command`);
    const workingDir = optStr(p["working-dir"], file, "processes.working-dir");
    return {
      type,
      command,
      args: procArgs,
      default: bool(p.default, file, "processes.default"),
      ...(workingDir ? { workingDir } : {}),
    };
  });
  const labels = tables(doc.labels, file, "labels").map((l) => ({
    key: str(l.key, file, "labels.key"),
    value: typeof l.value === "string" ? l.value : fail(file, "labels.value must be a string"),
  }));
  return { processes, labels };
}

/** A word the POSIX shell reads back unchanged. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `<layers>/<id>`: buildpack ids may contain slashes, which layer directories escape. */
export function escapeId(id: string): string {
  return id.replace(/\//g, "_");
}

export function isValidLayerName(name: string): boolean {
  return /^[A-Za-z0-9_.@+-]+$/.test(name) && name !== "." && name !== "..";
}
