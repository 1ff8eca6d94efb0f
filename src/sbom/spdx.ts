/**
 * SPDX 2.3 JSON from a stored CycloneDX document (`hop sbom --format spdx`): one package per component, the
 * release as the described package that CONTAINS them, purls as PACKAGE-MANAGER external references, CPEs
 * (the operating system's) as SECURITY ones (cpe23Type or cpe22Type by the CPE's form).
 * Licences that are SPDX ids (or expressions of them) are declared; others are NOASSERTION, since SPDX 2.3
 * accepts only SPDX ids or LicenseRefs with their text, which Hop3 does not have.
 */
import { randomUUID } from "node:crypto";
import { isSupportedSpdxId } from "@cyclonedx/cyclonedx-library/SPDX";
import { incompleteNotes } from "./document.js";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/**
 * Whether `expr` is an SPDX expression of known licence ids (and exceptions), AND/OR/WITH and parentheses;
 * `licenseRefs`: LicenseRef-* ids count too (CycloneDX takes them; SPDX documents need their text).
 */
export function isSpdxExpression(expr: string, licenseRefs = false): boolean {
  const tokens = expr.replace(/[()]/g, " ").split(/\s+/).filter(Boolean);
  return (
    tokens.length > 0 &&
    tokens.every(
      (t) =>
        ["AND", "OR", "WITH"].includes(t) ||
        isSupportedSpdxId(t.replace(/\+$/, "")) ||
        /^[A-Za-z0-9.-]+-exception$/i.test(t) ||
        (licenseRefs && /^LicenseRef-[A-Za-z0-9.-]+$/.test(t)),
    )
  );
}

/** Whether one pair of parentheses encloses the whole of `expr` ("(A OR B)", not "(A) OR (B)"). */
function enclosed(expr: string): boolean {
  const e = expr.trim();
  if (!e.startsWith("(")) return false;
  let depth = 0;
  for (let i = 0; i < e.length; i++) {
    if (e[i] === "(") depth++;
    else if (e[i] === ")" && --depth === 0) return i === e.length - 1;
  }
  return false;
}

/** An SPDX expression made only of known ids, AND/OR/WITH and parentheses; otherwise undefined. */
export function spdxExpression(licenses: unknown): string | undefined {
  const list = Array.isArray(licenses) ? licenses.map(obj) : [];
  const parts: string[] = [];
  for (const l of list) {
    const expr = str(l.expression);
    const id = str(obj(l.license).id);
    if (id) {
      // a stored document may hold any id (a LicenseRef- one has no text here): not an SPDX licence then
      if (!isSpdxExpression(id)) return undefined;
      parts.push(id);
    } else if (expr) {
      if (!isSpdxExpression(expr)) return undefined;
      parts.push(list.length > 1 && !enclosed(expr) ? `(${expr})` : expr);
    } else return undefined; // a named, non-SPDX licence
  }
  return parts.length ? parts.join(" AND ") : undefined;
}

/** CycloneDX hash algorithms by their SPDX 2.3 names (the schema's enum); any other is left out. */
const SPDX_CHECKSUM: Record<string, string> = {
  MD5: "MD5",
  "SHA-1": "SHA1",
  "SHA-256": "SHA256",
  "SHA-384": "SHA384",
  "SHA-512": "SHA512",
  "SHA3-256": "SHA3-256",
  "SHA3-384": "SHA3-384",
  "SHA3-512": "SHA3-512",
  "BLAKE2b-256": "BLAKE2b-256",
  "BLAKE2b-384": "BLAKE2b-384",
  "BLAKE2b-512": "BLAKE2b-512",
  BLAKE3: "BLAKE3",
};

/** SPDX `checksums` from CycloneDX `hashes` (lower-case hex, as SPDX asks); none: no field. */
function checksums(hashes: unknown): Obj {
  const list = (Array.isArray(hashes) ? hashes : [])
    .map(obj)
    .map((h) => ({ algorithm: SPDX_CHECKSUM[String(h.alg)], checksumValue: str(h.content)?.toLowerCase() }))
    .filter((h) => h.algorithm && h.checksumValue && /^[0-9a-f]+$/.test(h.checksumValue));
  return list.length ? { checksums: list } : {};
}

/** CycloneDX component types to SPDX package purposes (the JSON schema's spelling); others: LIBRARY. */
const PURPOSE: Record<string, string> = {
  container: "CONTAINER",
  application: "APPLICATION",
  "operating-system": "OPERATING_SYSTEM",
};

/** SPDX dates have no fraction of a second; a stored timestamp that is no date gives the present moment. */
const spdxDate = (iso: string | undefined) => {
  const at = iso ? new Date(iso) : new Date();
  return (Number.isNaN(at.getTime()) ? new Date() : at).toISOString().replace(/\.\d{3}Z$/, "Z");
};

export function toSpdx(cdx: Obj): Obj {
  const meta = obj(cdx.metadata);
  const release = obj(meta.component);
  const props = (Array.isArray(meta.properties) ? meta.properties : []).map(obj);
  const prop = (name: string) => str(props.find((p) => p.name === name)?.value);
  const hop3 = prop("hop3:version") ?? "unknown";
  const app = prop("hop3:app") ?? str(release.name) ?? "app";
  const version = str(release.version) ?? "";
  const components = (Array.isArray(cdx.components) ? cdx.components : []).map(obj);
  const rootId = "SPDXRef-Release";
  const packages: Obj[] = [
    {
      SPDXID: rootId,
      name: app,
      versionInfo: version,
      downloadLocation: "NOASSERTION",
      filesAnalyzed: false,
      primaryPackagePurpose: "CONTAINER",
      ...checksums(release.hashes),
    },
  ];
  const relationships: Obj[] = [
    { spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: rootId },
  ];
  components.forEach((c, i) => {
    const id = `SPDXRef-Package-${i + 1}`;
    const purl = str(c.purl);
    const cpe = str(c.cpe);
    const supplier = str(obj(c.supplier).name)
      ?.replace(/[\r\n]+/g, " ")
      .trim();
    const declared = spdxExpression(c.licenses);
    const refs = [
      ...(purl
        ? [{ referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: purl }]
        : []),
      ...(cpe && !/\s/.test(cpe)
        ? [
            {
              referenceCategory: "SECURITY",
              referenceType: cpe.startsWith("cpe:2.3:") ? "cpe23Type" : "cpe22Type",
              referenceLocator: cpe,
            },
          ]
        : []),
    ];
    packages.push({
      SPDXID: id,
      name: str(c.name) ?? "unknown",
      ...(str(c.version) ? { versionInfo: str(c.version) } : {}),
      ...(supplier ? { supplier: `Organization: ${supplier}` } : {}),
      downloadLocation: "NOASSERTION",
      filesAnalyzed: false,
      ...checksums(c.hashes),
      licenseConcluded: "NOASSERTION",
      licenseDeclared: declared ?? "NOASSERTION",
      copyrightText: "NOASSERTION",
      primaryPackagePurpose: PURPOSE[String(c.type)] ?? "LIBRARY",
      ...(refs.length ? { externalRefs: refs } : {}),
    });
    relationships.push({ spdxElementId: rootId, relationshipType: "CONTAINS", relatedSpdxElement: id });
  });
  const missing = incompleteNotes(cdx);
  return {
    spdxVersion: "SPDX-2.3",
    dataLicense: "CC0-1.0",
    SPDXID: "SPDXRef-DOCUMENT",
    name: `${app}-${version}`,
    documentNamespace: `https://hop3.invalid/spdx/${encodeURIComponent(app)}/${encodeURIComponent(version)}/${randomUUID()}`,
    creationInfo: {
      created: spdxDate(str(meta.timestamp)),
      creators: [`Tool: hop3-${hop3}`],
    },
    ...(missing.length ? { comment: `Incomplete: ${missing.join("; ")}` } : {}),
    packages,
    relationships,
  };
}
