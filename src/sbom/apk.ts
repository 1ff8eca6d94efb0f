/** Alpine's package database /lib/apk/db/installed: `P:` name, `V:` version, `A:` arch, `L:` licence. */
import { type FoundPackage, purlOf } from "./package.js";

export function parseApkInstalled(text: string, distro: string | undefined, foundIn: string): FoundPackage[] {
  const out: FoundPackage[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const f: Record<string, string> = {};
    for (const line of block.split("\n")) {
      const m = /^([A-Za-z]):(.*)$/.exec(line);
      if (m && f[m[1]!] === undefined) f[m[1]!] = m[2]!;
    }
    if (!f.P || !f.V) continue;
    out.push({
      ecosystem: "apk",
      name: f.P,
      version: f.V,
      purl: purlOf("apk", "alpine", f.P, f.V, { arch: f.A, distro }),
      ...(f.L ? { licenses: [f.L] } : {}),
      foundIn,
    });
  }
  return out;
}
