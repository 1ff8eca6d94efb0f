/**
 * hop3.toml `[[addons]]` as a deploy reads them, planned without touching Podman: each declaration resolved to
 * its plugin, name and extensions (the same errors as `provision` gives: an unknown type, a bad name, a name
 * taken by an addon of another type), and which images the deploy will need because it creates the addon. The
 * deploy prepares those images while the app's image builds (deployer.ts), so a first deploy with a database
 * waits for the longer of the two instead of their sum.
 */
import { isValidAppName, quoteForMessage } from "../app/name.js";
import { conflict, usageError } from "../util/errors.js";
import type { AddonPlugin } from "./plugin.js";
import { pluginFor } from "./registry.js";

/** A hop3.toml `[[addons]]` entry. */
export interface AddonDeclaration {
  type: string;
  name?: string;
  extensions?: unknown;
  [extra: string]: unknown;
}

const NAME_RULE = "2 to 63 characters: lowercase letters, digits and hyphens, starting with a letter";

export function validateAddonName(name: string): string {
  if (!isValidAppName(name))
    throw usageError(`invalid addon name ${quoteForMessage(name)}: a name is ${NAME_RULE}`);
  return name;
}

/** The name of a declared addon without one: the app's name and the type (`shop-postgres`). */
export const declaredAddonName = (app: string, plugin: AddonPlugin) => `${app}-${plugin.type}`.slice(0, 63);

/** Extensions asked for, checked against the type's allow-list. */
export function checkExtensions(plugin: AddonPlugin, requested: unknown): string[] {
  if (requested === undefined) return [];
  if (!Array.isArray(requested) || requested.some((e) => typeof e !== "string")) {
    throw usageError('extensions must be a list of names, e.g. extensions = ["pg_trgm"]');
  }
  if (requested.length > 0 && !plugin.extensions)
    throw usageError(`${plugin.title} addons have no extensions`);
  const unknown = (requested as string[]).filter((e) => !plugin.extensions!.includes(e));
  if (unknown.length > 0) {
    throw usageError(
      `extension${unknown.length > 1 ? "s" : ""} not available: ${unknown.join(", ")}`,
      `available: ${plugin.extensions!.join(", ")}`,
    );
  }
  return [...new Set(requested as string[])].sort();
}

export interface ResolvedAddon {
  plugin: AddonPlugin;
  name: string;
  extensions: string[];
  /** The addon exists already (a later deploy, or one shared with another app): it is only attached. */
  exists: boolean;
}

/** `existing(name)`: the recorded addon of that name, if any (its type is all that matters here). */
export function resolveDeclared(
  app: string,
  declared: readonly AddonDeclaration[],
  existing: (name: string) => { type: string } | undefined,
): ResolvedAddon[] {
  return declared.map((d) => {
    const plugin = pluginFor(d.type);
    const name = validateAddonName(d.name ?? declaredAddonName(app, plugin));
    const extensions = checkExtensions(plugin, d.extensions);
    const found = existing(name);
    if (found && found.type !== plugin.type) {
      throw conflict(
        `hop3.toml declares a ${plugin.type} addon ${name}, but ${name} is a ${found.type} addon`,
      );
    }
    return { plugin, name, extensions, exists: Boolean(found) };
  });
}

/**
 * The plugins whose image this deploy needs before it can create its addons: one per type, for the addons
 * that do not exist yet (an existing addon keeps the image it was created with; the server's start brings back
 * a missing one).
 */
export function imagesToPrepare(resolved: readonly ResolvedAddon[]): AddonPlugin[] {
  const byType = new Map<string, AddonPlugin>();
  for (const r of resolved) if (!r.exists && !byType.has(r.plugin.type)) byType.set(r.plugin.type, r.plugin);
  return [...byType.values()];
}
