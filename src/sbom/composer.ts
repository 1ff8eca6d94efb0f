/** PHP: composer.lock (`packages`, `packages-dev`) or vendor/composer/installed.json (v1 array, v2 {packages}). */
import { type FoundPackage, purlOf } from "./package.js";

function composerPackage(p: Record<string, unknown>, foundIn: string): FoundPackage | undefined {
  if (typeof p.name !== "string" || typeof p.version !== "string") return undefined;
  const [vendor, name] = p.name.split("/");
  if (!vendor || !name) return undefined;
  const licenses = Array.isArray(p.license)
    ? p.license.filter((l): l is string => typeof l === "string")
    : [];
  return {
    ecosystem: "composer",
    name: p.name,
    version: p.version,
    purl: purlOf("composer", vendor, name, p.version),
    ...(licenses.length ? { licenses } : {}),
    foundIn,
  };
}

export function parseComposerLock(text: string, foundIn: string): FoundPackage[] {
  const doc = JSON.parse(text) as unknown;
  const list = Array.isArray(doc)
    ? doc // installed.json of Composer 1
    : [
        ...(((doc as Record<string, unknown>).packages as unknown[]) ?? []),
        // installed.json (Composer 2) lists dev packages with a dev flag; composer.lock apart: both are installed
        // only by a dev install, which a production image is not
      ];
  return list
    .filter((p): p is Record<string, unknown> => !!p && typeof p === "object")
    .map((p) => composerPackage(p, foundIn))
    .filter((p): p is FoundPackage => !!p);
}
