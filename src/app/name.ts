import { usageError } from "../util/errors.js";

/**
 * App names become container, network, volume and unit names and DNS labels,
 * so they are held to the narrowest common rule: a DNS label, lowercase, starting with a letter.
 */
export const APP_NAME_PATTERN = /^[a-z][a-z0-9-]{1,62}$/;

export const APP_NAME_RULE =
  "2 to 63 characters: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen";

/** Returns the name unchanged when valid; throws a usage error otherwise. */
export function validateAppName(name: string): string {
  if (typeof name !== "string" || !APP_NAME_PATTERN.test(name) || name.endsWith("-")) {
    throw usageError(`invalid app name ${quoteForMessage(name)}: an app name must be ${APP_NAME_RULE}`);
  }
  return name;
}

export function isValidAppName(name: string): boolean {
  return typeof name === "string" && APP_NAME_PATTERN.test(name) && !name.endsWith("-");
}

/** JSON quoting keeps control characters and quotes harmless in terminals and logs; long input is cut. */
export function quoteForMessage(value: unknown, max = 80): string {
  const text = typeof value === "string" ? value : String(value);
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut);
}
