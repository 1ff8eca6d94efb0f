/**
 * The variables attached addons give an app (UPSTREAM.md), and the prefix rule: the first addon of a type an
 * app attaches gives the plain names (DATABASE_URL), a second one of the same type its name as prefix
 * (CACHE_REDIS_URL). Pure functions; the store keeps each attachment's prefix so names never move around.
 */
import { usageError } from "../util/errors.js";
import type { Credentials } from "./plugin.js";
import { pluginFor } from "./registry.js";

export interface AttachedAddon {
  name: string;
  type: string;
  /** "" for the plain names; else `PREFIX_` is put before every variable. */
  prefix: string;
  credentials: Credentials;
}

const PREFIX = /^[A-Z][A-Z0-9_]{0,39}$/;

/** `cache-2` -> `CACHE_2`. */
export const prefixFromName = (name: string) => name.toUpperCase().replace(/[^A-Z0-9]+/g, "_");

/** Checks a prefix given with `--as`: upper-cased, letters, digits and _, starting with a letter. */
export function normalisePrefix(requested: string): string {
  const p = requested.trim().toUpperCase().replace(/-/g, "_").replace(/_+$/, "");
  if (!PREFIX.test(p)) {
    throw usageError(
      `invalid prefix ${JSON.stringify(requested)}`,
      "a prefix is letters, digits and _, starting with a letter (e.g. --as CACHE gives CACHE_REDIS_URL)",
    );
  }
  return p;
}

/**
 * The prefix of a new attachment of addon `name` (of `type`) to an app that already has `existing`
 * attachments: the requested one (checked against the app's other addons of the type), else "" for the first
 * addon of its type, else the addon's name.
 */
export function choosePrefix(
  existing: readonly Pick<AttachedAddon, "name" | "type" | "prefix">[],
  type: string,
  name: string,
  requested?: string,
): string {
  const sameType = existing.filter((a) => a.type === type && a.name !== name);
  const prefix =
    requested !== undefined && requested !== ""
      ? normalisePrefix(requested)
      : sameType.some((a) => a.prefix === "")
        ? prefixFromName(name)
        : "";
  const clash = sameType.find((a) => a.prefix === prefix);
  if (clash) {
    throw usageError(
      prefix === ""
        ? `the app already gets the plain ${type} variables from ${clash.name}`
        : `the app already gets ${prefix}_ variables from ${clash.name}`,
      "choose another prefix with --as PREFIX",
    );
  }
  return prefix;
}

/** The variables of one attachment; the host is the addon's name (its alias on the app's network). */
export function attachmentVariables(a: AttachedAddon): Record<string, string> {
  const vars = pluginFor(a.type).variables(a.credentials, a.name);
  if (!a.prefix) return vars;
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [`${a.prefix}_${k}`, v]));
}

/** The names of the variables an attachment gives (no values: for messages and listings). */
export const prefixedNames = (type: string, prefix: string) =>
  pluginFor(type).variableNames.map((n) => (prefix ? `${prefix}_${n}` : n));

/** Every variable the app's attached addons give it, in a stable order (by addon name). */
export function addonVariables(attached: readonly AttachedAddon[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of [...attached].sort((x, y) => x.name.localeCompare(y.name))) {
    Object.assign(out, attachmentVariables(a));
  }
  return out;
}

/**
 * hop3.toml `[env] X = { from = "<addon>", key = "PGHOST" }`: the addon's own (unprefixed) variable. `from`
 * names an attached addon, or its type when only one of that type is attached.
 */
export function resolveAddonRefs(
  refs: Record<string, { from: string; key: string }>,
  attached: readonly AttachedAddon[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [variable, ref] of Object.entries(refs)) {
    const byName = attached.find((a) => a.name === ref.from);
    const byType = attached.filter((a) => a.type === ref.from || pluginSafe(ref.from) === a.type);
    const addon = byName ?? (byType.length === 1 ? byType[0] : undefined);
    if (!addon) {
      throw usageError(
        `hop3.toml [env] ${variable}: no attached addon ${JSON.stringify(ref.from)}`,
        attached.length
          ? `attached: ${attached.map((a) => a.name).join(", ")}`
          : "attach one with hop addons:attach NAME, or declare it in [[addons]]",
      );
    }
    const value = pluginFor(addon.type).variables(addon.credentials, addon.name)[ref.key];
    if (value === undefined) {
      throw usageError(
        `hop3.toml [env] ${variable}: addon ${addon.name} has no variable ${ref.key}`,
        `its variables: ${pluginFor(addon.type).variableNames.join(", ")}`,
      );
    }
    out[variable] = value;
  }
  return out;
}

function pluginSafe(type: string): string | undefined {
  try {
    return pluginFor(type).type;
  } catch {
    return undefined;
  }
}
