/**
 * Matching an SBOM's components against the imported advisories: each component's purl gives the ecosystem,
 * the package name as advisories spell it, and the installed version (pure: the lookup is passed in).
 *
 * Debian advisories (the tracker and OSV's Debian ecosystem) name *source* packages and source versions
 * (glibc 2.36-9+deb12u3), the SBOM lists binary packages (libc6): a Debian component is looked up by its
 * source package, from the purl's `upstream` qualifier (`glibc`, or `glibc@VERSION` when the source version
 * differs from the binary's, as Syft and Hop3 write it) or a source property, and compared with the source
 * version. Without either, the source is the binary package itself (dpkg omits `Source:` then).
 */
import { PackageURL } from "packageurl-js";
import { type AffectedPackage, affects } from "./advisory.js";
import { DEBIAN_RELEASES, normalisePackageName } from "./importers.js";

export interface PackageRef {
  ecosystem: string;
  /** Names to look advisories up by (as the ecosystem's advisories spell them). */
  names: string[];
  /** The version compared with the advisories' ranges: Debian's source version. */
  version: string;
  /** The component's own version, as shown to the operator (the binary package's for Debian). */
  installed: string;
  purl: string;
  /** As shown to the operator: the component's name (the binary package for Debian). */
  display: string;
  /** Debian: "SOURCE VERSION" when the advisories were looked up by a source package other than the binary. */
  source?: string;
}

export interface Finding {
  package: string;
  ecosystem: string;
  installed: string;
  fixed?: string;
  severity?: string;
  advisory: string;
  aliases: string[];
  summary?: string;
  purl: string;
  /** Debian: the source package and version the advisory was matched on, when not the binary's own. */
  source?: string;
}

const DEBIAN_NUMBERS = new Set(Object.values(DEBIAN_RELEASES));

/**
 * Which ecosystem and names a purl stands for; undefined for ecosystems the database cannot hold. `source`:
 * the Debian source package when the SBOM says it elsewhere than in the purl (a component property).
 */
export function packageRefOf(purl: string, source?: string): PackageRef | undefined {
  let p: PackageURL;
  try {
    p = PackageURL.fromString(purl);
  } catch {
    return undefined;
  }
  const version = p.version;
  if (!version) return undefined;
  const ns = p.namespace ?? undefined;
  const joined = ns ? `${ns}/${p.name}` : p.name;
  const ref = (ecosystem: string, names: string[], display = names[0]!): PackageRef => ({
    ecosystem,
    names: names.map((n) => normalisePackageName(ecosystem, n)),
    version,
    installed: version,
    purl,
    display,
  });
  switch (p.type) {
    case "npm":
      return ref("npm", [joined]);
    case "pypi":
      return ref("PyPI", [p.name]);
    case "gem":
      return ref("RubyGems", [p.name]);
    case "composer":
      return ref("Packagist", [joined]);
    case "golang":
      return ref("Go", [joined]);
    case "deb": {
      if (ns && ns !== "debian") return undefined;
      const release = debianRelease(p.qualifiers?.distro);
      if (!release) return undefined;
      const upstream = parseUpstream(p.qualifiers?.upstream ?? source);
      // Trivy writes the epoch apart (`libcrypt1@4.4.27-1?epoch=1`): without it 1:x would compare as x
      const epoch = p.qualifiers?.epoch;
      const full = epoch && /^\d+$/.test(epoch) && !version.includes(":") ? `${epoch}:${version}` : version;
      const srcName = upstream?.name || p.name;
      const srcVersion = upstream?.version || full;
      const out = ref(`Debian:${release}`, [srcName], p.name);
      out.installed = full;
      out.version = srcVersion;
      if (srcName !== p.name || srcVersion !== full) out.source = `${srcName} ${srcVersion}`;
      return out;
    }
    default:
      return undefined;
  }
}

/** `glibc`, `glibc@2.36-9`, `glibc 2.36-9` (a property's spelling) -> name and version. */
function parseUpstream(text: string | undefined): { name: string; version?: string } | undefined {
  const m = /^\s*([^\s@]+)(?:[@\s]\s*(\S+))?\s*$/.exec(text ?? "");
  return m ? { name: m[1]!, ...(m[2] ? { version: m[2] } : {}) } : undefined;
}

/** `debian-12`, `debian-12.5`, `bookworm` -> "12". */
function debianRelease(distro: string | undefined): string | undefined {
  if (!distro) return undefined;
  const m = /^(?:debian-)?(\d+)/.exec(distro);
  if (m && DEBIAN_NUMBERS.has(m[1]!)) return m[1]!;
  return DEBIAN_RELEASES[distro.replace(/^debian-/, "")];
}

export interface MatchResult {
  findings: Finding[];
  /** Components whose purl names an ecosystem the database can cover. */
  checked: number;
  /** Advisories that concern a component but whose versions could not be compared with it. */
  unknown: { package: string; advisory: string; reason: string }[];
}

/** Every advisory that affects one of the purls; one finding per package and advisory. */
export function matchPurls(
  purls: (string | SbomPackage)[],
  lookup: (ecosystem: string, name: string) => AffectedPackage[],
): MatchResult {
  const findings: Finding[] = [];
  const unknown: MatchResult["unknown"] = [];
  const seen = new Set<string>();
  let checked = 0;
  for (const entry of purls) {
    const { purl, source } = typeof entry === "string" ? { purl: entry, source: undefined } : entry;
    const ref = packageRefOf(purl, source);
    if (!ref) continue;
    checked++;
    for (const name of ref.names) {
      for (const entry of lookup(ref.ecosystem, name)) {
        const key = `${ref.display}\0${ref.installed}\0${entry.advisory}`;
        if (seen.has(key)) continue;
        const verdict = affects(entry, ref.version);
        if (verdict.affected === "unknown") {
          unknown.push({ package: ref.display, advisory: entry.advisory, reason: verdict.reason });
          continue;
        }
        if (!verdict.affected) continue;
        seen.add(key);
        findings.push({
          package: ref.display,
          ecosystem: ref.ecosystem,
          installed: ref.installed,
          ...(ref.source ? { source: ref.source } : {}),
          ...(verdict.fixed ? { fixed: verdict.fixed } : {}),
          ...(entry.severity ? { severity: entry.severity } : {}),
          advisory: entry.advisory,
          aliases: entry.aliases,
          ...(entry.summary ? { summary: entry.summary } : {}),
          purl,
        });
      }
    }
  }
  findings.sort(
    (a, b) =>
      a.ecosystem.localeCompare(b.ecosystem) ||
      a.package.localeCompare(b.package) ||
      a.advisory.localeCompare(b.advisory),
  );
  return { findings, checked, unknown };
}

export interface SbomPackage {
  purl: string;
  /** Debian's source package, from the component's properties (`hop3:package:source`, syft's). */
  source?: string;
}

const SOURCE_PROPERTIES = ["hop3:package:source", "syft:metadata:source", "aquasecurity:trivy:SrcName"];

/** Every purl of a CycloneDX document, nested components included, with the source package when stated. */
export function purlsOfCycloneDx(doc: Record<string, unknown>): SbomPackage[] {
  const out: SbomPackage[] = [];
  const walk = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const c of list) {
      if (!c || typeof c !== "object") continue;
      const comp = c as { purl?: unknown; components?: unknown; properties?: unknown };
      if (typeof comp.purl === "string") {
        const props = Array.isArray(comp.properties)
          ? (comp.properties as { name?: unknown; value?: unknown }[])
          : [];
        const source = props.find(
          (p) => SOURCE_PROPERTIES.includes(String(p?.name)) && typeof p.value === "string",
        );
        out.push({ purl: comp.purl, ...(source ? { source: String(source.value) } : {}) });
      }
      walk(comp.components);
    }
  };
  walk(doc.components);
  return out;
}
