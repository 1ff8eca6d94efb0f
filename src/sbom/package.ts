/**
 * A package found in an image, the same shape for every ecosystem: what the SBOM (cyclonedx.ts) and the diff
 * (diff.ts) work with. `purl` identifies it (https://github.com/package-url/purl-spec); `foundIn` says
 * which file of the image it was read from, so a surprising entry can be traced.
 */
import { PackageURL } from "packageurl-js";

export type Ecosystem = "deb" | "apk" | "rpm" | "npm" | "pypi" | "gem" | "composer" | "golang";

export interface FoundPackage {
  ecosystem: Ecosystem;
  name: string;
  version: string;
  purl: string;
  /** Licence names or SPDX ids as the package states them (best effort). */
  licenses?: string[];
  cpe?: string;
  /** Who distributes it, as the package says (an RPM's Vendor). */
  supplier?: string;
  foundIn?: string;
  /** More facts, as `hop3:*` component properties (a Go module's replacement, say). */
  properties?: Record<string, string>;
}

export function purlOf(
  type: string,
  namespace: string | undefined,
  name: string,
  version: string | undefined,
  qualifiers?: Record<string, string | undefined>,
): string {
  const q = qualifiers
    ? Object.fromEntries(Object.entries(qualifiers).filter((e): e is [string, string] => !!e[1]))
    : undefined;
  return new PackageURL(
    type,
    namespace,
    name,
    version || undefined,
    q && Object.keys(q).length ? q : undefined,
  ).toString();
}

/** One entry per purl: the same package installed twice (or read from two files) is listed once. */
export function uniqueByPurl(pkgs: FoundPackage[]): FoundPackage[] {
  const seen = new Map<string, FoundPackage>();
  for (const p of pkgs) if (!seen.has(p.purl)) seen.set(p.purl, p);
  return [...seen.values()];
}

/** `npm`'s "@scope/name" as purl namespace and name. */
export function splitScoped(name: string): { namespace?: string; name: string } {
  const m = /^(@[^/]+)\/(.+)$/.exec(name);
  return m ? { namespace: m[1]!, name: m[2]! } : { name };
}
