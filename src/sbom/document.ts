/**
 * Reading a stored CycloneDX document: its package components and its `hop3:sbom:incomplete` notes. Plain
 * JSON reads, apart from cyclonedx.ts so that the API, diffs and SPDX output do not load the CycloneDX
 * library (~7 MiB of the server's memory), which only writing a new SBOM needs.
 */

export const INCOMPLETE_PROPERTY = "hop3:sbom:incomplete";

/** The components of a stored document that are packages (not the base image or buildpacks). */
export function packageComponents(
  doc: Record<string, unknown>,
): { name: string; version?: string; purl?: string; type?: string }[] {
  const comps = Array.isArray(doc.components) ? (doc.components as Record<string, unknown>[]) : [];
  return comps
    .filter((c) => c && typeof c === "object" && typeof c.name === "string")
    .map((c) => ({
      name: c.name as string,
      ...(typeof c.version === "string" ? { version: c.version } : {}),
      ...(typeof c.purl === "string" ? { purl: c.purl } : {}),
      ...(typeof c.type === "string" ? { type: c.type } : {}),
    }));
}

/** `hop3:sbom:incomplete` notes of a stored document. */
export function incompleteNotes(doc: Record<string, unknown>): string[] {
  const props = ((doc.metadata as Record<string, unknown> | undefined)?.properties ?? []) as {
    name?: unknown;
    value?: unknown;
  }[];
  return Array.isArray(props)
    ? props
        .filter((p) => p?.name === INCOMPLETE_PROPERTY && typeof p.value === "string")
        .map((p) => p.value as string)
    : [];
}
