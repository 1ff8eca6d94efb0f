/**
 * The operator's buildpack URL mappings (`hop buildpacks:map`), kept in the store's settings table as one JSON
 * object keyed by the URL's canonical spelling (build/cnb/buildpack-urls.ts), so that every spelling of a URL
 * finds its mapping and mapping a URL again replaces it.
 */
import {
  BUILTIN_BUILDPACK_MAPS,
  normaliseBuildpackUrl,
  parseMapTarget,
} from "../build/cnb/buildpack-urls.js";
import { notFound } from "../util/errors.js";
import type { Store } from "./store.js";

const SETTING = "buildpacks.maps";

type SettingsStore = Pick<Store, "getSetting" | "setSetting">;

export interface BuildpackMap {
  /** The canonical spelling of the URL (or registry name). */
  url: string;
  target: string;
  source: "operator" | "built-in";
  /** An operator mapping that replaces a built-in one: the built-in target. */
  replaces?: string;
}

interface Stored {
  target: string;
  createdAt: string;
}

function load(store: SettingsStore): Record<string, Stored> {
  const raw = store.getSetting(SETTING);
  if (!raw) return {};
  const parsed = JSON.parse(raw) as Record<string, Stored>;
  return parsed && typeof parsed === "object" ? parsed : {};
}

/** url -> target, as the lifecycle looks them up (findBuildpackMapping). */
export function operatorBuildpackMaps(store: SettingsStore): Record<string, string> {
  return Object.fromEntries(Object.entries(load(store)).map(([url, s]) => [url, s.target]));
}

/** Every mapping in force: the operator's, then the built-in ones they leave alone; each sorted by URL. */
export function listBuildpackMaps(store: SettingsStore): BuildpackMap[] {
  const mine = load(store);
  const operator = Object.keys(mine)
    .sort()
    .map((url) => {
      const builtIn = BUILTIN_BUILDPACK_MAPS[url];
      return {
        url,
        target: mine[url]!.target,
        source: "operator" as const,
        ...(builtIn ? { replaces: builtIn } : {}),
      };
    });
  const builtIn = Object.keys(BUILTIN_BUILDPACK_MAPS)
    .filter((url) => !Object.hasOwn(mine, url))
    .sort()
    .map((url) => ({ url, target: BUILTIN_BUILDPACK_MAPS[url]!, source: "built-in" as const }));
  return [...operator, ...builtIn];
}

/** Maps (or maps again) `url`; answers the mapping stored and the target it replaced, if any. */
export function setBuildpackMap(
  store: SettingsStore,
  url: string,
  target: string,
): { map: BuildpackMap; previous?: string } {
  const key = normaliseBuildpackUrl(url);
  parseMapTarget(target);
  const all = load(store);
  const previous = all[key]?.target ?? BUILTIN_BUILDPACK_MAPS[key];
  all[key] = { target: target.trim(), createdAt: new Date().toISOString() };
  store.setSetting(SETTING, JSON.stringify(all));
  const builtIn = BUILTIN_BUILDPACK_MAPS[key];
  return {
    map: { url: key, target: target.trim(), source: "operator", ...(builtIn ? { replaces: builtIn } : {}) },
    ...(previous !== undefined ? { previous } : {}),
  };
}

/**
 * Removes the operator's mapping of `url`. A built-in mapping cannot be removed: mapping the URL to itself
 * (`hop buildpacks:map URL URL`) makes Hop3 fetch it as written.
 */
export function removeBuildpackMap(store: SettingsStore, url: string): { url: string; restored?: string } {
  const key = normaliseBuildpackUrl(url);
  const all = load(store);
  const builtIn = BUILTIN_BUILDPACK_MAPS[key];
  if (!Object.hasOwn(all, key)) {
    throw notFound(
      builtIn ? `${key} has a built-in mapping (to ${builtIn}), not one of yours` : `no mapping for ${key}`,
      builtIn
        ? `to fetch it as written instead, map it to itself: hop buildpacks:map ${key} ${key}`
        : "hop buildpacks:maps lists them",
    );
  }
  delete all[key];
  store.setSetting(SETTING, JSON.stringify(all));
  return { url: key, ...(builtIn ? { restored: builtIn } : {}) };
}
