/**
 * Debian's package database: /var/lib/dpkg/status (deb822 stanzas; only packages whose Status ends in
 * "installed" are in the image) and distroless images' /var/lib/dpkg/status.d/* (one stanza per file).
 * Licences come from /usr/share/doc/PKG/copyright when it is machine-readable (DEP-5 `License:` lines).
 *
 * The source package goes into the purl as the `upstream` qualifier, spelled as Syft writes it (`upstream=glibc`,
 * or `upstream=glibc@2.36-9` when the source version differs from the binary's, as after a binNMU): Debian's
 * security advisories name source packages and their versions, not binary ones (libc6 is built from glibc).
 */
import { type FoundPackage, purlOf } from "./package.js";

export interface DpkgEntry {
  name: string;
  version: string;
  architecture?: string;
  /** The `Source:` field's package name; absent when it is the binary package's own name. */
  source?: string;
  /** The version in the `Source:` field's parentheses; absent when it is the binary package's version. */
  sourceVersion?: string;
}

/** "glibc", "glibc (2.36-9)" -> name and version (dpkg writes the version only when it differs). */
export function parseSourceField(field: string): { name: string; version?: string } | undefined {
  const m = /^([^\s(]+)\s*(?:\(\s*([^\s)]+)\s*\))?\s*$/.exec(field.trim());
  if (!m) return undefined;
  return { name: m[1]!, ...(m[2] ? { version: m[2] } : {}) };
}

/** deb822 paragraphs as field maps (continuation lines are dropped: no field we read spans lines). */
export function parseDeb822(text: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  let cur: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (line.trim() === "") {
      if (Object.keys(cur).length) out.push(cur);
      cur = {};
      continue;
    }
    if (line.startsWith(" ") || line.startsWith("\t")) continue;
    const i = line.indexOf(":");
    if (i > 0) cur[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  if (Object.keys(cur).length) out.push(cur);
  return out;
}

export function parseDpkgStatus(text: string, requireInstalled = true): DpkgEntry[] {
  const out: DpkgEntry[] = [];
  for (const p of parseDeb822(text)) {
    if (!p.Package || !p.Version) continue;
    // distroless status.d files have no Status field: their presence means installed
    if (requireInstalled && p.Status !== undefined && !/\binstalled$/.test(p.Status)) continue;
    const src = p.Source ? parseSourceField(p.Source) : undefined;
    out.push({
      name: p.Package,
      version: p.Version,
      ...(p.Architecture ? { architecture: p.Architecture } : {}),
      ...(src && src.name !== p.Package ? { source: src.name } : {}),
      ...(src?.version && src.version !== p.Version ? { sourceVersion: src.version } : {}),
    });
  }
  return out;
}

/** Distinct `License:` short names of a DEP-5 copyright file; none for a free-form file. */
export function parseDebianCopyright(text: string): string[] {
  if (!/^Format:\s*\S*(copyright-format|dep5)/im.test(text)) return [];
  const names = new Set<string>();
  for (const m of text.matchAll(/^License:[ \t]*([^\n]+)$/gm)) {
    for (const part of m[1]!.split(/\s+(?:or|and)\s+|\s*[|,]\s*/i)) {
      const name = part.trim();
      if (name && name.length <= 64 && !/\s/.test(name)) names.add(name);
    }
  }
  return [...names];
}

export function debPackages(
  entries: DpkgEntry[],
  distro: { id: string; qualifier?: string } | undefined,
  licensesOf: (pkg: string) => string[] | undefined,
  foundIn: string,
): FoundPackage[] {
  const vendor = distro?.id ?? "debian";
  return entries.map((e) => {
    const licenses = licensesOf(e.name);
    const arch = e.architecture;
    return {
      ecosystem: "deb",
      name: e.name,
      version: e.version,
      purl: purlOf("deb", vendor, e.name, e.version, {
        arch,
        distro: distro?.qualifier,
        upstream: upstreamQualifier(e),
      }),
      ...(licenses?.length ? { licenses } : {}),
      foundIn,
    };
  });
}

/** Syft's `upstream` qualifier: the source package, `@version` when its version is not the binary's. */
export function upstreamQualifier(e: DpkgEntry): string | undefined {
  if (!e.source && !e.sourceVersion) return undefined;
  const name = e.source ?? e.name;
  return e.sourceVersion ? `${name}@${e.sourceVersion}` : name;
}
