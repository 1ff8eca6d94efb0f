/** /etc/os-release (os-release(5)): the distribution the OS packages' purls name (`distro=debian-12`). */
export interface OsRelease {
  id: string;
  versionId?: string;
  prettyName?: string;
  /** `CPE_NAME`: the distribution's own CPE (RPM-family and SUSE images have one; Debian and Alpine do not). */
  cpeName?: string;
}

export function parseOsRelease(text: string): OsRelease | undefined {
  const vars: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, "$2");
  }
  if (!vars.ID) return undefined;
  return {
    id: vars.ID.toLowerCase(),
    ...(vars.VERSION_ID ? { versionId: vars.VERSION_ID } : {}),
    ...(vars.PRETTY_NAME ? { prettyName: vars.PRETTY_NAME } : {}),
    ...(vars.CPE_NAME && isCpe(cpe23Padded(vars.CPE_NAME)) ? { cpeName: cpe23Padded(vars.CPE_NAME) } : {}),
  };
}

/** purl's `distro` qualifier: debian-12, alpine-3.20. */
export function distroQualifier(os: OsRelease | undefined): string | undefined {
  if (!os) return undefined;
  const major =
    os.id === "debian" || os.id === "ubuntu" ? os.versionId : os.versionId?.split(".").slice(0, 2).join(".");
  return major ? `${os.id}-${major}` : os.id;
}

/**
 * A 2.3 formatted string has 13 components; Amazon Linux 2023 writes `cpe:2.3:o:amazon:amazon_linux:2023`,
 * whose missing attributes are ANY (`*`) by CPE 2.3's own rule, spelled out here so that it is well-formed.
 */
function cpe23Padded(s: string): string {
  if (!s.startsWith("cpe:2.3:")) return s;
  const n = s.split(/(?<!\\):/).length;
  return n < 13 ? s + ":*".repeat(13 - n) : s;
}

/** A CPE 2.2 URI (`cpe:/o:fedoraproject:fedora:40`) or 2.3 formatted string (`cpe:2.3:o:amazon:...`). */
export function isCpe(s: string): boolean {
  return /^cpe:(\/[aho]?(:[^:\s]*){0,6}|2\.3:[aho*-](:[^\s:]*(\\:[^\s:]*)*){10})$/.test(s) && s.length <= 512;
}
