/**
 * Debian's package database: /var/lib/dpkg/status (deb822 stanzas; only packages whose Status ends in
 * "installed" are in the image) and distroless images' /var/lib/dpkg/status.d/* (one stanza per file).
 * Licences come from /usr/share/doc/PKG/copyright when it is machine-readable (DEP-5 `License:` lines).
 */
import { type FoundPackage, purlOf } from "./package.js";

export interface DpkgEntry {
  name: string;
  version: string;
  architecture?: string;
  source?: string;
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
    out.push({
      name: p.Package,
      version: p.Version,
      ...(p.Architecture ? { architecture: p.Architecture } : {}),
      // "Source: glibc (2.36-9)" names the source package, sometimes with its own version
      ...(p.Source ? { source: p.Source.split(" ")[0]! } : {}),
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
      purl: purlOf("deb", vendor, e.name, e.version, { arch, distro: distro?.qualifier }),
      ...(licenses?.length ? { licenses } : {}),
      foundIn,
    };
  });
}
