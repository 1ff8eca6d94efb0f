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

/**
 * Names an app cannot take because its images (`localhost/hop3/APP:rN`) would share a repository with a
 * platform image, and destroying or pruning the app would remove that image: the base image
 * (settings.ts DEFAULT_BASE_IMAGE), the router's (router/caddy-router.ts CADDY_IMAGE_REPO), the CNB stack's
 * (build/cnb/stack.ts) and the addons' (`addon-*`). test/unit/app/name.test.ts checks this list against
 * those constants.
 */
export const RESERVED_APP_NAMES = ["base", "caddy", "router", "traefik", "hop3", "testhost"] as const;
export const RESERVED_APP_PREFIXES = ["cnb-", "addon-"] as const;

export function isReservedAppName(name: string): boolean {
  return (
    (RESERVED_APP_NAMES as readonly string[]).includes(name) ||
    RESERVED_APP_PREFIXES.some((p) => name.startsWith(p))
  );
}

/**
 * The rule for a new app: a valid name that no platform image uses. Existing apps are looked up with
 * validateAppName only, so an app created before a name was reserved can still be managed and destroyed.
 */
export function validateNewAppName(name: string): string {
  validateAppName(name);
  if (isReservedAppName(name)) {
    throw usageError(
      `the app name ${quoteForMessage(name)} is reserved: an app's images are named localhost/hop3/APP, and` +
        ` localhost/hop3/${name} is kept for the platform's own images (reserved: ${RESERVED_APP_NAMES.join(", ")},` +
        ` and names starting with ${RESERVED_APP_PREFIXES.join(" or ")}); choose another name`,
    );
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
