/**
 * A catalog recipe (docs/catalog.md): a directory `catalog/<name>/` with `catalog.toml` (what the catalog shows
 * and asks), `hop3.toml` (the app as Hop3 deploys it, read by the one hop3.toml parser) and its build inputs.
 * Pure: reading files is loadRecipe's only side effect; every error names the file, the key and its line.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import { ENV_KEY_PATTERN } from "../app/env-vars.js";
import { type Hop3Toml, locateKeys, parseHop3Toml } from "../app/hop3toml.js";
import { APP_NAME_RULE, isValidAppName } from "../app/name.js";
import { usageError } from "../util/errors.js";

export const CATEGORIES = [
  "cms",
  "wiki",
  "collaboration",
  "communication",
  "development",
  "monitoring",
  "tools",
  "productivity",
  "files",
] as const;

const size = z.string().regex(/^\d+(\.\d+)?[KMGT]i?B?$/i, 'expected a size like "256M" or "2G"');

const questionSchema = z
  .object({
    key: z.string().regex(ENV_KEY_PATTERN, 'expected a variable name: letters, digits and "_"'),
    prompt: z.string().min(1, "must not be empty"),
    default: z.union([z.string(), z.number(), z.boolean()]).transform(String).optional(),
    pattern: z.string().refine(isRegex, "is not a valid regular expression").optional(),
    secret: z.boolean().optional(),
  })
  .strict();

const catalogTomlSchema = z
  .object({
    name: z.string().refine(isValidAppName, `must be a valid app name (${APP_NAME_RULE})`),
    version: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+~_-]*$/, 'expected a version like "1.2.3-1"'),
    upstream: z.string().url("expected a URL"),
    license: z.string().regex(/^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$/, "expected an SPDX id"),
    description: z.string().min(1, "must not be empty").max(200, "must be at most 200 characters"),
    category: z.enum(CATEGORIES),
    icon: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, "expected a file name in the recipe directory")
      .optional(),
    maintainer: z.string().min(1, "must not be empty"),
    upstream_image: z
      .string()
      .regex(/^[a-z0-9.-]+(:\d+)?\/[^\s@]+(@sha256:[0-9a-f]{64})?$/, "expected an image reference")
      .optional(),
    /** Seconds the [test] validations may take to pass after the deploy (default 180). */
    validation_timeout: z.number().int().min(5).max(1800).optional(),
    resources: z.object({ memory: size, disk: size }).partial().strict().optional(),
    questions: z.array(questionSchema).optional(),
    notes: z.object({ post_install: z.string().optional() }).strict().optional(),
  })
  .strict();

export type CatalogMeta = z.infer<typeof catalogTomlSchema>;
export type Question = NonNullable<CatalogMeta["questions"]>[number];

export interface Recipe {
  meta: CatalogMeta;
  hop3: Hop3Toml;
  /** The recipe's directory. */
  dir: string;
  warnings: string[];
}

function isRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

const formatPath = (path: (string | number)[]) =>
  path.reduce<string>((out, p) => (typeof p === "number" ? `${out}[${p}]` : out ? `${out}.${p}` : p), "");

/** catalog.toml, validated; `dirName` (when given) must equal `name`. */
export function parseCatalogToml(source: string, file = "catalog.toml", dirName?: string): CatalogMeta {
  let data: unknown;
  try {
    data = parseToml(source);
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = (err.message.split("\n")[0] ?? "").replace(/^Invalid TOML document:\s*/, "");
      throw usageError(`${file}:${err.line}:${err.column}: ${reason}`, "fix the TOML syntax");
    }
    throw err;
  }
  const lines = locateKeys(source);
  const lineOf = (path: (string | number)[]) => {
    for (let i = path.length; i > 0; i--) {
      const line = lines.get(path.slice(0, i).join("."));
      if (line !== undefined) return line;
    }
    return undefined;
  };
  const issues: { path: (string | number)[]; message: string }[] = [];
  const parsed = catalogTomlSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys)
          issues.push({
            path: [...issue.path, key],
            message: `unknown key "${formatPath([...issue.path, key])}"`,
          });
      } else if (issue.code === "invalid_type" && issue.received === "undefined") {
        issues.push({ path: issue.path, message: `missing required key "${formatPath(issue.path)}"` });
      } else if (issue.code === "invalid_enum_value") {
        issues.push({
          path: issue.path,
          message: `${formatPath(issue.path)}: expected one of ${issue.options.join(", ")}, got ${JSON.stringify(issue.received)}`,
        });
      } else issues.push({ path: issue.path, message: `${formatPath(issue.path)}: ${issue.message}` });
    }
  } else {
    if (dirName !== undefined && parsed.data.name !== dirName)
      issues.push({
        path: ["name"],
        message: `name "${parsed.data.name}" must be the directory's name "${dirName}"`,
      });
    const keys = (parsed.data.questions ?? []).map((q) => q.key);
    keys.forEach((k, i) => {
      if (keys.indexOf(k) !== i)
        issues.push({ path: ["questions", i, "key"], message: `questions: ${k} is asked twice` });
    });
    (parsed.data.questions ?? []).forEach((q, i) => {
      if (q.default !== undefined && q.pattern && !new RegExp(q.pattern).test(q.default))
        issues.push({
          path: ["questions", i, "default"],
          message: `questions[${i}].default ${JSON.stringify(q.default)} does not match its own pattern ${q.pattern}`,
        });
    });
  }
  if (issues.length > 0) {
    const messages = issues
      .map((i) => ({
        line: lineOf(i.path) ?? 0,
        text: `${file}${lineOf(i.path) ? `:${lineOf(i.path)}` : ""}: ${i.message}`,
      }))
      .sort((a, b) => a.line - b.line)
      .map((m) => m.text);
    throw usageError([...new Set(messages)].join("\n"), "see the recipe format in docs/catalog.md");
  }
  return parsed.data as CatalogMeta;
}

/** Reads and validates one recipe directory: catalog.toml, hop3.toml, the icon and a Containerfile. */
export function loadRecipe(dir: string, name: string): Recipe {
  const at = (f: string) => `catalog/${name}/${f}`;
  for (const f of ["catalog.toml", "hop3.toml"]) {
    if (!existsSync(join(dir, f))) throw usageError(`${at(f)}: missing: every recipe has one`);
  }
  const meta = parseCatalogToml(readFileSync(join(dir, "catalog.toml"), "utf8"), at("catalog.toml"), name);
  const { config: hop3, warnings } = parseHop3Toml(
    readFileSync(join(dir, "hop3.toml"), "utf8"),
    at("hop3.toml"),
  );
  if (meta.icon && !existsSync(join(dir, meta.icon)))
    throw usageError(`${at("catalog.toml")}: icon "${meta.icon}" is not a file of the recipe`);
  if (!existsSync(join(dir, "Containerfile")) && !existsSync(join(dir, "Dockerfile")))
    throw usageError(
      `${at("Containerfile")}: missing: a recipe builds from a Containerfile (no registry is assumed)`,
    );
  if (!hop3.test?.validations?.length)
    throw usageError(
      `${at("hop3.toml")}: [[test.validations]] missing: a recipe proves it works after install`,
    );
  return { meta, hop3, dir, warnings: warnings.filter((w) => !w.includes("[test] is not acted on")) };
}
