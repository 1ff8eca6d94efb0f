/**
 * The catalog's index (docs/catalog.md): which recipes a catalog holds, at which version, and the sha256 of every
 * file of each recipe, so a recipe's build inputs are pinned by the signature over the index. `serial` only
 * grows: an index older than the one installed is refused (a replayed, outdated catalog).
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { z } from "zod";
import { Hop3Error } from "../util/errors.js";
import { type CatalogMeta, loadRecipe } from "./recipe.js";

export const INDEX_FORMAT = 1;

export interface IndexEntry {
  name: string;
  version: string;
  category: string;
  description: string;
  metadata: CatalogMeta;
  /** Path relative to the recipe directory (POSIX separators) -> sha256 hex. */
  files: Record<string, string>;
}

export interface CatalogIndex {
  format: number;
  serial: number;
  generated: string;
  recipes: Record<string, IndexEntry>;
}

const indexSchema = z.object({
  format: z.literal(INDEX_FORMAT),
  serial: z.number().int().min(1),
  generated: z.string(),
  recipes: z.record(
    z
      .object({
        name: z.string(),
        version: z.string(),
        category: z.string(),
        description: z.string(),
        metadata: z.record(z.unknown()),
        files: z.record(z.string().regex(/^[0-9a-f]{64}$/)),
      })
      .passthrough(),
  ),
});

/** An index's bytes, parsed; anything that is not one is refused. */
export function parseIndex(bytes: Buffer | string, where = "index.json"): CatalogIndex {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString());
  } catch (err) {
    throw new Hop3Error(`${where}: not JSON: ${(err as Error).message}`, "usage");
  }
  const parsed = indexSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Hop3Error(`${where}: not a catalog index: ${issue.path.join(".")}: ${issue.message}`, "usage");
  }
  return parsed.data as unknown as CatalogIndex;
}

/** The recipe directories of a catalog: its subdirectories that hold a catalog.toml, by name. */
export function recipeNames(catalogDir: string): string[] {
  if (!existsSync(catalogDir)) return [];
  return readdirSync(catalogDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(catalogDir, d.name, "catalog.toml")))
    .map((d) => d.name)
    .sort();
}

/** sha256 of every regular file under `dir` (sorted, POSIX paths); a link or special file is refused. */
export function hashFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(at, entry.name);
      const rel = relative(dir, path).split(sep).join("/");
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out[rel] = createHash("sha256").update(readFileSync(path)).digest("hex");
      else
        throw new Hop3Error(
          `${rel}: ${lstatSync(path).isSymbolicLink() ? "a link" : "not a regular file"}: recipes hold regular files only`,
          "usage",
        );
    }
  };
  walk(dir);
  return out;
}

/** Validates every recipe and makes the index; the first invalid recipe stops it (its message names it). */
export function buildIndex(catalogDir: string, serial: number, now: Date): CatalogIndex {
  const recipes: Record<string, IndexEntry> = {};
  for (const name of recipeNames(catalogDir)) {
    const dir = join(catalogDir, name);
    const { meta } = loadRecipe(dir, name);
    recipes[name] = {
      name,
      version: meta.version,
      category: meta.category,
      description: meta.description,
      metadata: meta,
      files: hashFiles(dir),
    };
  }
  return { format: INDEX_FORMAT, serial, generated: now.toISOString(), recipes };
}

/** The index as written: stable key order, two-space indent, a final newline (the signed bytes). */
export const renderIndex = (index: CatalogIndex) => `${JSON.stringify(index, null, 2)}\n`;

/** One recipe's files against its index entry: a changed, missing or unlisted file (an unpinned build input). */
export function recipeFileProblems(catalogDir: string, name: string, entry: IndexEntry): string[] {
  const dir = join(catalogDir, name);
  if (!existsSync(dir)) return [`catalog/${name}: the index names it but the directory is missing`];
  const problems: string[] = [];
  let actual: Record<string, string>;
  try {
    actual = hashFiles(dir);
  } catch (err) {
    return [`catalog/${name}: ${(err as Error).message}`];
  }
  for (const [file, sum] of Object.entries(entry.files)) {
    if (actual[file] === undefined) problems.push(`catalog/${name}/${file}: missing`);
    else if (actual[file] !== sum)
      problems.push(
        `catalog/${name}/${file}: sha256 ${actual[file]!.slice(0, 12)}... differs from the index's ${sum.slice(0, 12)}...`,
      );
  }
  for (const file of Object.keys(actual)) {
    if (entry.files[file] === undefined) problems.push(`catalog/${name}/${file}: not in the signed index`);
  }
  return problems;
}

export const filesRefused = (problems: string[]) =>
  new Hop3Error(
    `the catalog's files do not match its signed index, refused: ${problems.join("; ")}`,
    "conflict",
    "the recipe was changed after the index was signed: reinstall Hop3, run `hop catalog:refresh`, or (maintainers) scripts/catalog-index",
  );

/** Every recipe of a catalog against the index (a fetched catalog is taken whole or not at all). */
export function checkRecipeFiles(catalogDir: string, index: CatalogIndex): void {
  const problems: string[] = [];
  for (const name of recipeNames(catalogDir)) {
    if (!index.recipes[name]) problems.push(`catalog/${name} is not in the signed index`);
  }
  for (const [name, entry] of Object.entries(index.recipes))
    problems.push(...recipeFileProblems(catalogDir, name, entry));
  if (problems.length) throw filesRefused(problems);
}
