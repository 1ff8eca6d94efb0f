/**
 * npm: the installed packages (`node_modules/NAME/package.json`, what really runs) and package-lock.json
 * (lockfileVersion 1: nested `dependencies`; 2 and 3: flat `packages` keyed by node_modules path).
 */
import { type FoundPackage, purlOf, splitScoped } from "./package.js";

function npmPackage(name: string, version: string, license: unknown, foundIn: string): FoundPackage {
  const { namespace, name: bare } = splitScoped(name);
  const licenses = licenseNames(license);
  return {
    ecosystem: "npm",
    name,
    version,
    purl: purlOf("npm", namespace, bare, version),
    ...(licenses.length ? { licenses } : {}),
    foundIn,
  };
}

/** `license` is a string (an SPDX expression), or, in old packages, {type} or [{type}]. */
function licenseNames(license: unknown): string[] {
  if (typeof license === "string") return license.trim() ? [license.trim()] : [];
  if (Array.isArray(license)) return license.flatMap(licenseNames);
  if (license && typeof license === "object" && typeof (license as { type?: unknown }).type === "string")
    return [(license as { type: string }).type];
  return [];
}

const NPM_NAME = /^(@[a-z0-9._~-]+\/)?[a-z0-9._~-][a-z0-9._~-]*$/i;

/** An installed package's package.json; undefined for one without a valid name and version. */
export function parseInstalledPackageJson(text: string, foundIn: string): FoundPackage | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== "object") return undefined;
  const { name, version, license, licenses } = doc as Record<string, unknown>;
  if (typeof name !== "string" || typeof version !== "string" || !NPM_NAME.test(name) || !version)
    return undefined;
  return npmPackage(name, version, license ?? licenses, foundIn);
}

/** The packages a lockfile pins; dev-only ones are left out (a production install does not have them). */
export function parsePackageLock(text: string, foundIn: string): FoundPackage[] {
  const doc = JSON.parse(text) as Record<string, unknown>;
  const out: FoundPackage[] = [];
  const packages = doc.packages as Record<string, Record<string, unknown>> | undefined;
  if (packages && typeof packages === "object") {
    for (const [path, p] of Object.entries(packages)) {
      if (path === "" || !p || typeof p !== "object" || p.dev === true || p.link === true) continue;
      const name = typeof p.name === "string" ? p.name : path.slice(path.lastIndexOf("node_modules/") + 13);
      if (typeof p.version !== "string" || !NPM_NAME.test(name)) continue;
      out.push(npmPackage(name, p.version, p.license, foundIn));
    }
    return out;
  }
  const walk = (deps: unknown) => {
    if (!deps || typeof deps !== "object") return;
    for (const [name, d] of Object.entries(deps as Record<string, Record<string, unknown>>)) {
      if (!d || typeof d !== "object" || d.dev === true) continue;
      if (typeof d.version === "string" && NPM_NAME.test(name) && !d.version.startsWith("file:"))
        out.push(npmPackage(name, d.version, undefined, foundIn));
      walk(d.dependencies);
    }
  };
  walk(doc.dependencies);
  return out;
}
