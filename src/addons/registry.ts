/** The addon types this server knows. A new type is one more plugin in this list. */
import { quoteForMessage } from "../app/name.js";
import { usageError } from "../util/errors.js";
import { mariadbPlugin } from "./mariadb.js";
import type { AddonPlugin } from "./plugin.js";
import { postgresPlugin } from "./postgres.js";
import { redisPlugin } from "./redis.js";

export const PLUGINS: readonly AddonPlugin[] = [postgresPlugin, mariadbPlugin, redisPlugin];

/** Every name a type is known by, canonical names first. */
export function knownTypeNames(plugins: readonly AddonPlugin[] = PLUGINS): string[] {
  return [...plugins.map((p) => p.type), ...plugins.flatMap((p) => p.aliases)];
}

/** The plugin for a type name or alias (`mysql` is MariaDB); a usage error naming the known types otherwise. */
export function pluginFor(type: string, plugins: readonly AddonPlugin[] = PLUGINS): AddonPlugin {
  const wanted = String(type).trim().toLowerCase();
  const found = plugins.find((p) => p.type === wanted || p.aliases.includes(wanted));
  if (!found) {
    throw usageError(
      `unknown addon type ${quoteForMessage(type)}`,
      `the types are ${plugins.map((p) => `${p.type}${p.aliases.length ? ` (${p.aliases.join(", ")})` : ""}`).join(", ")}`,
    );
  }
  return found;
}
