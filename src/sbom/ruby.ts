/** Ruby: Gemfile.lock's `GEM` section (`    name (version)` at four spaces; platform suffixes kept out). */
import { type FoundPackage, purlOf } from "./package.js";

export function parseGemfileLock(text: string, foundIn: string): FoundPackage[] {
  const out: FoundPackage[] = [];
  let section = "";
  for (const line of text.split("\n")) {
    if (/^[A-Z]/.test(line)) section = line.trim();
    if (section !== "GEM" && section !== "GIT" && section !== "PATH") continue;
    const m = /^ {4}([A-Za-z0-9_.-]+) \(([^)\s]+)\)$/.exec(line.replace(/\r$/, ""));
    if (!m) continue;
    const [, name, full] = m as unknown as [string, string, string];
    // "1.15.5-x86_64-linux": version, then the platform
    const pm = /^([0-9][^-]*)(?:-(.+))?$/.exec(full);
    const version = pm ? pm[1]! : full;
    out.push({
      ecosystem: "gem",
      name,
      version,
      purl: purlOf("gem", undefined, name, version, { platform: pm?.[2] }),
      foundIn,
    });
  }
  return out;
}
