/**
 * Matching an SBOM's components against the imported advisories: each component's purl gives the ecosystem,
 * the package name as advisories spell it, and the installed version (pure: the lookup is passed in).
 *
 * Debian advisories (the tracker and OSV's Debian ecosystem) name *source* packages and source versions
 * (glibc 2.36-9+deb12u3), the SBOM lists binary packages (libc6): a Debian component is looked up by its
 * source package, from the purl's `upstream` qualifier (`glibc`, or `glibc@VERSION` when the source version
 * differs from the binary's, as Syft and Hop3 write it) or a source property, and compared with the source
 * version. Without either, the source is the binary package itself (dpkg omits `Source:` then).
 *
 * RPM advisories name source RPMs (AlmaLinux, Rocky Linux, openSUSE and SUSE by osv-schema's definition) or
 * binary ones (Red Hat lists both, AlmaLinux's exports binaries in practice): an RPM component is looked up by
 * the source RPM of its `upstream` qualifier (`openssl-3.0.7-24.el9.src.rpm` -> `openssl`) and by its own
 * name, and compared with its own epoch:version-release, which its source RPM shares. The ecosystem comes
 * from the `distro` qualifier (os-release's ID and VERSION_ID). A component whose distribution has no known
 * ecosystem is not checked, with the reason, so that no finding is never read as "no vulnerabilities".
 */
import { PackageURL } from "packageurl-js";
import { type AffectedPackage, affects } from "./advisory.js";
import { DEBIAN_RELEASES, normalisePackageName } from "./importers.js";

export interface PackageRef {
  /** The OSV ecosystem, or for Red Hat the release its several ecosystems share (`lookupIn`). */
  ecosystem: string;
  /** Red Hat: the ecosystems to look advisories up in (one per product stream), when not `ecosystem` alone. */
  lookupIn?: string[];
  /** Names to look advisories up by (as the ecosystem's advisories spell them). */
  names: string[];
  /** The version compared with the advisories' ranges: Debian's source version. */
  version: string;
  /** The component's own version, as shown to the operator (the binary package's for Debian). */
  installed: string;
  purl: string;
  /** As shown to the operator: the component's name (the binary package for Debian). */
  display: string;
  /** "SOURCE VERSION" when the advisories were looked up by a source package other than the binary. */
  source?: string;
}

/** A component the audit cannot check, and why: the report says so rather than count it as clean. */
export interface Unchecked {
  /** The purl type (`rpm`, `apk`...), or `unknown` for what is not a purl. */
  type: string;
  reason: string;
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
  /** Debian, RPM: the source package and version the advisory was matched on, when not the binary's own. */
  source?: string;
}

const DEBIAN_NUMBERS = new Set(Object.values(DEBIAN_RELEASES));

/** Which ecosystem and names a purl stands for; undefined when it cannot be checked (resolvePackage says why). */
export function packageRefOf(purl: string, source?: string): PackageRef | undefined {
  const r = resolvePackage(purl, source);
  return "reason" in r ? undefined : r;
}

/**
 * Which ecosystem and names a purl stands for, or why it cannot be checked. `source`: the source package when
 * the SBOM says it elsewhere than in the purl (a component property).
 */
export function resolvePackage(purl: string, source?: string): PackageRef | Unchecked {
  let p: PackageURL;
  try {
    p = PackageURL.fromString(purl);
  } catch {
    return { type: "unknown", reason: "not a package URL" };
  }
  const unchecked = (reason: string): Unchecked => ({ type: p.type, reason });
  const version = p.version;
  if (!version) return unchecked("no version in the package URL");
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
      if (ns && ns !== "debian") return unchecked(`advisories for ${ns} packages are not matched`);
      const release = debianRelease(p.qualifiers?.distro);
      if (!release) return unchecked(`no known Debian release in distro=${p.qualifiers?.distro ?? "(none)"}`);
      const upstream = parseUpstream(p.qualifiers?.upstream ?? source);
      const full = withEpoch(version, p.qualifiers?.epoch);
      const srcName = upstream?.name || p.name;
      const srcVersion = upstream?.version || full;
      const out = ref(`Debian:${release}`, [srcName], p.name);
      out.installed = full;
      out.version = srcVersion;
      if (srcName !== p.name || srcVersion !== full) out.source = `${srcName} ${srcVersion}`;
      return out;
    }
    case "rpm": {
      const distro = p.qualifiers?.distro;
      if (!distro) return unchecked("no distro qualifier: the distribution and release are unknown");
      const eco = rpmEcosystems(distro);
      if ("reason" in eco) return unchecked(eco.reason);
      const full = withEpoch(version, p.qualifiers?.epoch);
      const srcName = sourceRpmName(p.qualifiers?.upstream ?? source);
      // its own name first: when a record names the binary RPM (Red Hat's do), that one is shown
      const names = srcName && srcName !== p.name ? [p.name, srcName] : [p.name];
      const out = ref(eco.ecosystem, names, p.name);
      if (eco.lookupIn) out.lookupIn = eco.lookupIn;
      out.installed = full;
      out.version = full;
      if (names.length > 1) out.source = `${srcName} ${full}`;
      return out;
    }
    default:
      return unchecked(`advisories for pkg:${p.type} components are not matched`);
  }
}

/** Trivy writes the epoch apart (`libcrypt1@4.4.27-1?epoch=1`, as Syft does for RPMs): without it 1:x is x. */
function withEpoch(version: string, epoch: string | undefined): string {
  return epoch && /^\d+$/.test(epoch) && !version.includes(":") ? `${epoch}:${version}` : version;
}

/** `openssl-3.0.7-24.el9.src.rpm` (rpm's SOURCERPM tag, Syft's `upstream`) or a bare `openssl` -> `openssl`. */
export function sourceRpmName(text: string | undefined): string | undefined {
  const t = text?.trim();
  if (!t) return undefined;
  const nvr = /^(.+)\.(?:no)?src\.rpm$/.exec(t)?.[1];
  if (nvr === undefined) return /^\S+$/.test(t) ? t : undefined;
  // NAME-VERSION-RELEASE: neither version nor release holds a hyphen, the name may
  return /^(.+)-[^-]+-[^-]+$/.exec(nvr)?.[1];
}

type RpmEcosystems = { ecosystem: string; lookupIn?: string[] } | { reason: string };

/**
 * An RPM purl's `distro` qualifier (`rocky-9.3`: os-release's ID and VERSION_ID, as src/sbom writes it) to the
 * OSV ecosystems holding its advisories (osv-schema's ecosystems.json):
 *
 * - Rocky Linux and AlmaLinux: `Rocky Linux:9`, `AlmaLinux:9`, by major release.
 * - Red Hat: one ecosystem per product stream, named by its CPE (`Red Hat:enterprise_linux:9::appstream`).
 *   Which stream an installed RPM came from is not in the rpmdb, so RHEL 8 and 9 components are looked up in
 *   the three streams a RHEL or UBI image installs from (baseos, appstream, crb), RHEL 10 in its minor
 *   release's (`Red Hat:enterprise_linux:10.0`). EUS/AUS/E4S streams and layered products are not looked up.
 * - openSUSE: `openSUSE:Leap 15.5`, `openSUSE:Tumbleweed` (os-release's PRETTY_NAME without the vendor).
 * - SUSE Linux Enterprise is not mapped: SUSE files each advisory under the product module that ships the
 *   package (`SUSE:Linux Enterprise Module for Basesystem 15 SP5`...), which neither os-release nor the
 *   rpmdb records, so any one guess would miss most advisories silently.
 */
export function rpmEcosystems(distro: string): RpmEcosystems {
  const m = /^(.+?)-(\d[^-]*)$/.exec(distro);
  const id = m ? m[1]! : distro;
  const version = m?.[2];
  const major = version?.split(".")[0];
  const needsRelease = { reason: `no release in distro=${distro}` };
  switch (id) {
    case "rocky":
      return major ? { ecosystem: `Rocky Linux:${major}` } : needsRelease;
    case "almalinux":
      return major ? { ecosystem: `AlmaLinux:${major}` } : needsRelease;
    case "rhel":
    case "redhat": {
      if (!major) return needsRelease;
      if (Number(major) >= 10)
        return version!.includes(".") ? { ecosystem: `Red Hat:enterprise_linux:${version}` } : needsRelease;
      if (major !== "8" && major !== "9")
        return { reason: `RHEL ${major}'s advisory streams are not mapped` };
      const base = `Red Hat:enterprise_linux:${major}`;
      return { ecosystem: base, lookupIn: ["baseos", "appstream", "crb"].map((s) => `${base}::${s}`) };
    }
    case "opensuse-leap":
      return version ? { ecosystem: `openSUSE:Leap ${version}` } : needsRelease;
    case "opensuse-leap-micro":
      return version ? { ecosystem: `openSUSE:Leap Micro ${version}` } : needsRelease;
    case "opensuse-tumbleweed":
      return { ecosystem: "openSUSE:Tumbleweed" };
    case "sles":
    case "sled":
    case "sle-micro":
      return {
        reason: "SUSE files SLE advisories by product module, which the image does not record: not matched",
      };
    default:
      return { reason: `no advisory ecosystem is known for the RPM distribution ${id}` };
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
  const unknownSeen = new Set<string>();
  let checked = 0;
  for (const entry of purls) {
    const { purl, source } = typeof entry === "string" ? { purl: entry, source: undefined } : entry;
    const ref = packageRefOf(purl, source);
    if (!ref) continue;
    checked++;
    for (const { entry, key } of candidates(ref, lookup)) {
      if (seen.has(key)) continue;
      const verdict = affects(entry, ref.version);
      if (verdict.affected === "unknown") {
        // once per advisory, though Red Hat lists it under the source and each binary RPM
        if (!unknownSeen.has(key))
          unknown.push({ package: ref.display, advisory: entry.advisory, reason: verdict.reason });
        unknownSeen.add(key);
        continue;
      }
      if (!verdict.affected) continue;
      seen.add(key);
      findings.push({
        package: ref.display,
        ecosystem: entry.ecosystem,
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
  findings.sort(
    (a, b) =>
      a.ecosystem.localeCompare(b.ecosystem) ||
      a.package.localeCompare(b.package) ||
      a.advisory.localeCompare(b.advisory),
  );
  return { findings, checked, unknown };
}

/** Every record about one of the component's names in one of its ecosystems, keyed per package and advisory. */
function* candidates(
  ref: PackageRef,
  lookup: (ecosystem: string, name: string) => AffectedPackage[],
): Generator<{ entry: AffectedPackage; key: string }> {
  for (const name of ref.names)
    for (const ecosystem of ref.lookupIn ?? [ref.ecosystem])
      for (const entry of lookup(ecosystem, name))
        yield { entry, key: `${ref.display}\0${ref.installed}\0${entry.advisory}` };
}

export interface SbomPackage {
  purl: string;
  /** The source package, from the component's properties (`hop3:package:source`, syft's, Trivy's). */
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
