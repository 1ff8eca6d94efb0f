/**
 * The I/O side of `hop catalog:import`: reads a Compose file (YAML), validates it against the Compose
 * specification's JSON schema (catalog/compose-spec.json, shipped with Hop3), and writes the recipe directory
 * that compose-import.ts makes. An existing directory is never overwritten.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { Ajv } from "ajv";
import { parse as parseYaml } from "yaml";
import { validateNewAppName } from "../app/name.js";
import { conflict, usageError } from "../util/errors.js";
import { headerComments, type ImportResult, importCompose } from "./compose-import.js";

const SCHEMA = new URL("../../catalog/compose-spec.json", import.meta.url);

let validator: ((doc: unknown) => string[]) | undefined;

/** Problems of a document against the Compose schema, as "path: message" lines. */
export function composeProblems(doc: unknown): string[] {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, validateFormats: false });
    const check = ajv.compile(JSON.parse(readFileSync(SCHEMA, "utf8")) as object);
    validator = (d) =>
      check(d)
        ? []
        : (check.errors ?? []).map(
            (e) =>
              `${e.instancePath || "/"}: ${e.message ?? "invalid"}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`,
          );
  }
  return validator(doc);
}

export function importComposeFile(file: string, opts: { name?: string; service?: string }): ImportResult {
  if (!existsSync(file)) throw usageError(`${file}: no such file`);
  const text = readFileSync(file, "utf8");
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    throw usageError(`${file}: not YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw usageError(`${file}: not a Compose file (expected a mapping with services:)`);
  const fallback = basename(file)
    .replace(/\.(ya?ml)$/, "")
    .replace(/^docker-compose$|^compose$/, "app");
  const name = validateNewAppName(
    opts.name ??
      fallback
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/^[^a-z]+|-+$/g, ""),
  );
  return importCompose(
    doc as Record<string, unknown>,
    {
      name,
      source: basename(file),
      headerComments: headerComments(text),
      ...(opts.service ? { service: opts.service } : {}),
    },
    (d) => {
      const problems = composeProblems(d);
      if (problems.length)
        throw usageError(
          `${file}: not a valid Compose file: ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ""}`,
        );
    },
  );
}

export function writeRecipe(dir: string, files: Record<string, string>): void {
  if (existsSync(dir))
    throw conflict(`${dir} exists already: nothing was written`, "choose another --output DIR");
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
}
