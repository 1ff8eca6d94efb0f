/** Installed Python distributions: `*.dist-info/METADATA` (email-header format: Name, Version, License). */
import { type FoundPackage, purlOf } from "./package.js";

export function parseDistInfoMetadata(text: string, foundIn: string): FoundPackage | undefined {
  const headers: Record<string, string[]> = {};
  for (const line of text.split("\n")) {
    if (line.trim() === "") break; // the body (long description) follows the first blank line
    const m = /^([A-Za-z][A-Za-z0-9-]*):\s?(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    headers[key] = [...(headers[key] ?? []), m[2]!.trim()];
  }
  const name = headers.name?.[0];
  const version = headers.version?.[0];
  if (!name || !version) return undefined;
  const expr = headers["license-expression"]?.[0];
  const license = headers.license?.[0];
  const classifiers = (headers.classifier ?? [])
    .filter((c) => c.startsWith("License :: "))
    .map((c) => c.split(" :: ").pop()!);
  const licenses = expr
    ? [expr]
    : license && license !== "UNKNOWN" && license.length <= 64
      ? [license]
      : classifiers;
  return {
    ecosystem: "pypi",
    name,
    version,
    // purl-spec: PyPI names are lowercased, `_` becomes `-`
    purl: purlOf("pypi", undefined, name.toLowerCase().replace(/[_.]+/g, "-"), version),
    ...(licenses.length ? { licenses } : {}),
    foundIn,
  };
}
