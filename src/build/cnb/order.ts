/**
 * Which buildpack groups to try: the server's order.toml, or the app's own list (`.buildpacks`, one
 * per line, or project.toml's [[io.buildpacks.group]]), with composite buildpacks expanded.
 */
import { parse } from "smol-toml";
import { Hop3Error } from "../../util/errors.js";
import type { BuildpackDescriptor, GroupEntry, Order } from "./descriptors.js";

/** Where an app-given buildpack comes from. */
export type BuildpackRef =
  | { kind: "local"; name: string; version?: string }
  | { kind: "path"; path: string }
  | { kind: "git"; url: string; ref?: string };

const GIT_URL = /^(https?:\/\/|git@[\w.-]+:|ssh:\/\/|git:\/\/)\S+$/;

/** One line of `.buildpacks` or one project.toml `uri`/`id`. */
export function parseBuildpackRef(line: string, where: string): BuildpackRef {
  const s = line.trim();
  if (GIT_URL.test(s) || s.endsWith(".git")) {
    const [url, ref] = s.split("#", 2) as [string, string | undefined];
    if (ref !== undefined && !/^[\w./-]+$/.test(ref))
      throw bad(where, `invalid git ref ${JSON.stringify(ref)}`);
    return { kind: "git", url, ...(ref ? { ref } : {}) };
  }
  if (s.startsWith("/")) return { kind: "path", path: s };
  // a registry id is looked up as the id of a buildpack the server has (or a mapping names: buildpack-urls.ts)
  const registry = /^urn:cnb:registry:([\w./-]+?)(?:@([\w.+-]+))?$/.exec(s);
  if (registry)
    return { kind: "local", name: registry[1]!, ...(registry[2] ? { version: registry[2] } : {}) };
  if (s.startsWith("urn:cnb:registry:") || s.startsWith("docker://") || s.includes("://")) {
    throw bad(where, `${s}: only directories and git URLs are supported (no buildpack registry here)`);
  }
  // A directory of the repository when one exists there, else `id` or `id@version` the server knows.
  const at = s.lastIndexOf("@");
  if (at > 0) return { kind: "local", name: s.slice(0, at), version: s.slice(at + 1) };
  return { kind: "local", name: s };
}

function bad(where: string, message: string): Hop3Error {
  return new Hop3Error(`${where}: ${message}`, "deployFailed");
}

export function parseBuildpacksFile(text: string, file = ".buildpacks"): BuildpackRef[] {
  const refs: BuildpackRef[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/\s+#.*$/, "").trim();
    if (!line || line.startsWith("#")) return;
    refs.push(parseBuildpackRef(line, `${file}:${i + 1}`));
  });
  return refs;
}

/** project.toml (the CNB project descriptor): [[io.buildpacks.group]] with `id`/`version` or `uri`. */
export function parseProjectToml(
  text: string,
  file = "project.toml",
): { refs: BuildpackRef[]; env: Record<string, string> } {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    throw bad(file, `not valid TOML: ${(err as Error).message.split("\n")[0]}`);
  }
  const io = ((doc.io as Record<string, unknown> | undefined)?.buildpacks ?? {}) as Record<string, unknown>;
  const group = (Array.isArray(io.group) ? io.group : []) as Record<string, unknown>[];
  const refs = group.map((g, i) => {
    const where = `${file}: io.buildpacks.group[${i}]`;
    if (typeof g.uri === "string") return parseBuildpackRef(g.uri, where);
    if (typeof g.id === "string") {
      return {
        kind: "local",
        name: g.id,
        ...(typeof g.version === "string" ? { version: g.version } : {}),
      } as BuildpackRef;
    }
    throw bad(where, "needs an id or a uri");
  });
  const env: Record<string, string> = {};
  const build = (io.build ?? {}) as Record<string, unknown>;
  for (const e of (Array.isArray(build.env) ? build.env : []) as Record<string, unknown>[]) {
    if (typeof e.name === "string" && typeof e.value === "string") env[e.name] = e.value;
  }
  return { refs, env };
}

/** Flattens composite buildpacks: a group holding one becomes one group per group of its order. */
export function expandOrder(
  order: Order,
  lookup: (e: GroupEntry) => BuildpackDescriptor | undefined,
  depth = 0,
): Order {
  if (depth > 8) throw new Hop3Error("composite buildpacks nest too deeply (a cycle?)", "deployFailed");
  const out: Order = [];
  for (const group of order) {
    let partial: GroupEntry[][] = [[]];
    for (const entry of group) {
      const desc = lookup(entry);
      if (!desc?.order) {
        partial = partial.map((p) => [...p, entry]);
        continue;
      }
      const inner = expandOrder(desc.order, lookup, depth + 1).map((g) =>
        g.map((e) => ({ ...e, optional: e.optional || entry.optional })),
      );
      partial = partial.flatMap((p) => inner.map((g) => [...p, ...g]));
    }
    out.push(...partial);
  }
  return out;
}
