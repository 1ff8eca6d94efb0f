import { quoteForMessage } from "../app/name.js";
import { usageError } from "../util/errors.js";

/** The catch-all host of `[domains] list = ["_"]`: the app answers every hostname no other app claims. */
export const CATCH_ALL_HOST = "_";

// RFC 1123 label: letters, digits, hyphens; no leading or trailing hyphen; 1-63 characters.
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Hostnames reach Caddy JSON, Traefik rules (inside backticks) and Traefik's Go-template file provider,
 * so only the narrow DNS alphabet is let through: nothing in it can close a backtick or open `{{`.
 * Returns the lowercase form; throws a usage error for anything else.
 */
export function normalizeHostname(input: string): string {
  if (typeof input !== "string") throw usageError(`invalid hostname ${quoteForMessage(input)}`);
  const host = input.toLowerCase();
  if (host === CATCH_ALL_HOST) return host;
  if (IPV4.test(host)) return host;
  const bare = host.startsWith("*.") ? host.slice(2) : host;
  const labels = bare.split(".");
  if (bare.length === 0 || bare.length > 253 || !labels.every((label) => LABEL.test(label))) {
    throw usageError(
      `invalid hostname ${quoteForMessage(input)}`,
      "a hostname is dot-separated labels of letters, digits and hyphens (each 1-63 characters, no hyphen at " +
        "either end), optionally starting with `*.`; `_` means every other hostname",
    );
  }
  return host;
}

export function isWildcardHost(host: string): boolean {
  return host.startsWith("*.");
}

export function isIpv4Host(host: string): boolean {
  return IPV4.test(host);
}

/**
 * Whether the router should obtain a public certificate for the host: not for `.localhost` names or IP
 * literals (no CA issues those), not for the catch-all (no name), and not for wildcards (HTTP-01, the only
 * challenge a bare host can answer, cannot prove a wildcard).
 */
export function wantsCertificate(host: string): boolean {
  if (host === CATCH_ALL_HOST || isWildcardHost(host) || isIpv4Host(host)) return false;
  return host !== "localhost" && !host.endsWith(".localhost");
}
