/**
 * Packs a source tree for `hop deploy DIR`: a gzip'd tar honouring `.gitignore` (nested ones too), `.hop3ignore`
 * and hop3.toml `[build].ignore`, never including `.git`. Symlinks are stored as symlinks and never followed.
 */
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { pipeline, type Readable } from "node:stream";
import { createGzip } from "node:zlib";
import ignore, { type Ignore } from "ignore";
import { parse as parseToml } from "smol-toml";
import tarFs from "tar-fs";

export interface PackEntry {
  /** Path relative to the root, `/`-separated. */
  path: string;
  type: "file" | "directory" | "symlink";
  size: number;
}

export interface PackPlan {
  root: string;
  entries: PackEntry[];
  files: number;
  bytes: number;
}

/** A set of ignore rules and the directory (relative to the root) they are written for. */
interface RuleLayer {
  base: string;
  rules: Ignore;
}

const ALWAYS_EXCLUDED = new Set([".git"]);

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** `[build].ignore` patterns of hop3.toml (`hop3/` first, then the root). */
export function hop3TomlIgnores(root: string): string[] {
  for (const path of [join(root, "hop3", "hop3.toml"), join(root, "hop3.toml")]) {
    const text = readText(path);
    if (text === undefined) continue;
    try {
      const doc = parseToml(text) as { build?: { ignore?: unknown } };
      const list = doc.build?.ignore;
      return Array.isArray(list) ? list.filter((x): x is string => typeof x === "string") : [];
    } catch {
      return [];
    }
  }
  return [];
}

function layerFor(dir: string, base: string, extra: string[] = []): RuleLayer | undefined {
  const texts = [
    readText(join(dir, ".gitignore")),
    ...(base === "" ? [readText(join(dir, ".hop3ignore"))] : []),
  ];
  const patterns = [...texts.filter((t): t is string => t !== undefined), ...extra];
  if (patterns.length === 0) return undefined;
  const rules = ignore();
  // add() splits a string into lines but takes array items as single patterns: add each file on its own.
  for (const p of patterns) rules.add(p);
  return { base, rules };
}

/**
 * Deeper rule files override shallower ones, as in git: the last layer with an opinion (ignore or re-include)
 * decides.
 */
function isIgnored(layers: RuleLayer[], path: string, isDir: boolean): boolean {
  let ignored = false;
  for (const layer of layers) {
    const rel = layer.base ? path.slice(layer.base.length + 1) : path;
    const result = layer.rules.test(isDir ? `${rel}/` : rel);
    if (result.ignored) ignored = true;
    else if (result.unignored) ignored = false;
  }
  return ignored;
}

/** Walks the tree and decides what is uploaded; nothing is read but the rule files. */
export function planPack(root: string): PackPlan {
  const entries: PackEntry[] = [];
  const rootLayer = layerFor(root, "", hop3TomlIgnores(root));
  const walk = (dir: string, rel: string, layers: RuleLayer[]) => {
    const names = readdirSync(dir).sort();
    for (const name of names) {
      if (ALWAYS_EXCLUDED.has(name)) continue;
      const abs = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      if (st.isSymbolicLink()) {
        if (!isIgnored(layers, path, false)) entries.push({ path, type: "symlink", size: 0 });
      } else if (st.isDirectory()) {
        if (isIgnored(layers, path, true)) continue;
        entries.push({ path, type: "directory", size: 0 });
        const nested = layerFor(abs, path);
        walk(abs, path, nested ? [...layers, nested] : layers);
      } else if (st.isFile()) {
        if (!isIgnored(layers, path, false)) entries.push({ path, type: "file", size: st.size });
      }
      // sockets, fifos and devices are not source code
    }
  };
  walk(root, "", rootLayer ? [rootLayer] : []);
  const files = entries.filter((e) => e.type !== "directory");
  return { root, entries, files: files.length, bytes: files.reduce((n, e) => n + e.size, 0) };
}

/** The tar.gz stream of exactly the planned entries. */
export function packStream(plan: PackPlan): Readable {
  const included = new Set(plan.entries.map((e) => e.path));
  const toRel = (abs: string) => relative(plan.root, abs).split(sep).join("/");
  const topLevel = plan.entries.filter((e) => !e.path.includes("/")).map((e) => e.path);
  // `sort` (stable archives) is supported by tar-fs 3 but missing from its type definitions.
  const options: tarFs.PackOptions & { sort: boolean } = {
    entries: topLevel,
    sort: true,
    dereference: false,
    ignore: (name: string) => !included.has(toRel(name)),
    // Owners on the uploading machine mean nothing on the server.
    map: (header) => ({ ...header, uid: 0, gid: 0 }),
  };
  const tar = tarFs.pack(plan.root, options);
  // pipeline, not pipe: a file vanishing mid-pack must fail the upload instead of truncating it silently.
  return pipeline(tar, createGzip(), () => {});
}
