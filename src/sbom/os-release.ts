/** /etc/os-release (os-release(5)): the distribution the OS packages' purls name (`distro=debian-12`). */
export interface OsRelease {
  id: string;
  versionId?: string;
  prettyName?: string;
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
  };
}

/** purl's `distro` qualifier: debian-12, alpine-3.20. */
export function distroQualifier(os: OsRelease | undefined): string | undefined {
  if (!os) return undefined;
  const major =
    os.id === "debian" || os.id === "ubuntu" ? os.versionId : os.versionId?.split(".").slice(0, 2).join(".");
  return major ? `${os.id}-${major}` : os.id;
}
