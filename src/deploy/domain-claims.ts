/**
 * Which app answers to which hostname. One rule for the domains API and for deploys: a hostname another app
 * answers to (its default hostname, a domain added by command, its current release's hop3.toml [domains], the
 * catch-all `_`) is refused before anything is stored.
 */
import { Hop3Error } from "../util/errors.js";
import type { Platform } from "./platform.js";
import type { ReleaseSpec } from "./release-spec.js";
import { appHostnames } from "./urls.js";

/** Every hostname app `app` answers to now, `_` included when its current release is the catch-all. */
export function hostnamesOf(p: Platform, app: string): string[] {
  const spec = p.store.currentRelease(app)?.spec as ReleaseSpec | undefined;
  const domains = spec?.domains ?? [];
  const hosts = appHostnames(app, p.settings, p.store.listDomains(app), domains);
  return domains.includes("_") ? [...hosts, "_"] : hosts;
}

/** The first of `hosts` another app answers to, with that app. */
export function findHostnameConflict(
  p: Platform,
  app: string,
  hosts: string[],
): { host: string; owner: string } | undefined {
  const wanted = new Set(hosts.map(canonical));
  for (const other of p.store.listApps()) {
    if (other.name === app) continue;
    for (const h of hostnamesOf(p, other.name)) if (wanted.has(h)) return { host: h, owner: other.name };
  }
  return undefined;
}

/** Throws a conflict (exit 6) when another app answers to one of `hosts`. */
export function requireFreeHostnames(p: Platform, app: string, hosts: string[]): void {
  const found = findHostnameConflict(p, app, hosts);
  if (found) {
    throw new Hop3Error(
      `hostname ${found.host} is already used by app ${found.owner}`,
      "conflict",
      found.host === "_"
        ? `only one app can be the catch-all; remove "_" from ${found.owner}'s [domains] first`
        : `remove it from ${found.owner} first (hop domains:remove ${found.host} -a ${found.owner}), or choose another hostname`,
    );
  }
}

const canonical = (h: string) => h.trim().toLowerCase().replace(/\.$/, "");
