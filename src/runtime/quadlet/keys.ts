/** Which quadlet keys a given Podman version understands: generated units must use only those. */
import { Hop3Error } from "../../util/errors.js";
import { QUADLET_KEYS_SINCE } from "./keys-table.js";

export type QuadletSection = keyof typeof QUADLET_KEYS_SINCE;

/** The oldest Podman with quadlet. */
export const QUADLET_MIN_VERSION = "4.4";

/** [major, minor, patch] of "5.4.2", "4.4.0-rc1", "v4.9"; undefined when it is not a version. */
export function parseVersion(version: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

/** Negative, zero or positive like a sort comparator; unparsable versions sort first. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a) ?? [-1, 0, 0];
  const pb = parseVersion(b) ?? [-1, 0, 0];
  return pa[0] - pb[0] || pa[1] - pb[1] || pa[2] - pb[2];
}

export type QuadletKeys = Record<QuadletSection, ReadonlySet<string>>;

/** The keys of each quadlet section supported by Podman `version`. */
export function keysFor(version: string): QuadletKeys {
  if (!parseVersion(version)) throw new Hop3Error(`cannot parse the Podman version "${version}"`);
  const out = {} as Record<QuadletSection, Set<string>>;
  for (const [section, keys] of Object.entries(QUADLET_KEYS_SINCE) as [
    QuadletSection,
    Record<string, string>,
  ][]) {
    out[section] = new Set(
      Object.entries(keys)
        .filter(([, since]) => compareVersions(version, since) >= 0)
        .map(([k]) => k),
    );
  }
  return out;
}

/** Throws when `section` of a unit for Podman `version` would use a key that version does not know. */
export function requireKeys(
  version: string,
  section: QuadletSection,
  keys: Iterable<string>,
  unit = "unit",
): void {
  const known = keysFor(version)[section];
  const missing = [...new Set(keys)].filter((k) => !known.has(k));
  if (missing.length === 0) return;
  const since = missing.map((k) => {
    const s = (QUADLET_KEYS_SINCE[section] as Record<string, string>)[k];
    return s ? `${k} (needs Podman ${s})` : `${k} (not a quadlet key)`;
  });
  throw new Hop3Error(
    `the quadlet ${unit} needs [${section}] ${since.join(", ")}, but this host has Podman ${version}`,
    "error",
    "upgrade Podman, or run Hop3 with HOP3_SUPERVISOR=podman",
  );
}
