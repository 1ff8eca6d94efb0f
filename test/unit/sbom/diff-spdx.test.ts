import { describe, expect, it } from "vitest";
import { diffSboms } from "../../../src/sbom/diff.js";
import { spdxExpression, toSpdx } from "../../../src/sbom/spdx.js";
import { validateSpdx } from "../../sbom-schemas.js";

const bom = (components: { name: string; version: string; purl?: string }[]) => ({
  bomFormat: "CycloneDX",
  specVersion: "1.6",
  metadata: {
    timestamp: "2026-12-05T08:00:00.123Z",
    component: { type: "container", name: "shop", version: "v2" },
    properties: [
      { name: "hop3:app", value: "shop" },
      { name: "hop3:version", value: "0.1.0" },
      { name: "hop3:sbom:incomplete", value: "no /etc/os-release" },
    ],
  },
  components,
});

describe("sbom:diff", () => {
  it("matches components by purl without version: upgrades, additions, removals; nested npm versions as sets", () => {
    const a = bom([
      {
        name: "libc6",
        version: "2.36-9+deb12u4",
        purl: "pkg:deb/debian/libc6@2.36-9+deb12u4?arch=amd64&distro=debian-12",
      },
      { name: "ms", version: "2.0.0", purl: "pkg:npm/ms@2.0.0" },
      { name: "ms", version: "2.1.3", purl: "pkg:npm/ms@2.1.3" },
      { name: "gone", version: "1.0.0", purl: "pkg:npm/gone@1.0.0" },
      { name: "hop3/nodejs", version: "0.1.0" },
    ]);
    const b = bom([
      {
        name: "libc6",
        version: "2.36-9+deb12u7",
        purl: "pkg:deb/debian/libc6@2.36-9+deb12u7?arch=amd64&distro=debian-12",
      },
      { name: "ms", version: "2.1.3", purl: "pkg:npm/ms@2.1.3" },
      { name: "ms", version: "2.0.0", purl: "pkg:npm/ms@2.0.0" },
      { name: "@scope/new", version: "1.0.0", purl: "pkg:npm/%40scope/new@1.0.0" },
      { name: "hop3/nodejs", version: "0.2.0" },
    ]);
    const d = diffSboms(a, b);
    expect(d.changed.map((c) => [c.name, c.from, c.to])).toEqual([
      ["hop3/nodejs", "0.1.0", "0.2.0"],
      ["libc6", "2.36-9+deb12u4", "2.36-9+deb12u7"],
    ]);
    expect(d.added.map((c) => c.name)).toEqual(["@scope/new"]);
    expect(d.removed.map((c) => c.name)).toEqual(["gone"]);
  });
});

describe("SPDX 2.3", () => {
  it("declares only SPDX licences; the rest is NOASSERTION", () => {
    expect(spdxExpression([{ license: { id: "MIT" } }])).toBe("MIT");
    expect(spdxExpression([{ expression: "(MIT OR Apache-2.0)" }])).toBe("(MIT OR Apache-2.0)");
    expect(spdxExpression([{ license: { name: "LGPL-2.1+" } }])).toBeUndefined();
    // an id that is no SPDX licence (a LicenseRef- has no text in an SPDX document made from it)
    expect(spdxExpression([{ license: { id: "LicenseRef-foo" } }])).toBeUndefined();
    // an expression already in one pair of parentheses is not wrapped again; one that only starts and ends
    // with parentheses is (AND binds tighter than OR)
    expect(spdxExpression([{ expression: "(MIT OR BSD-3-Clause)" }, { license: { id: "ISC" } }])).toBe(
      "(MIT OR BSD-3-Clause) AND ISC",
    );
    expect(spdxExpression([{ expression: "(MIT) OR (BSD-3-Clause)" }, { license: { id: "ISC" } }])).toBe(
      "((MIT) OR (BSD-3-Clause)) AND ISC",
    );
    expect(spdxExpression([{ license: { id: "MIT" } }, { license: { id: "LicenseRef-x" } }])).toBeUndefined();
    expect(spdxExpression([])).toBeUndefined();
  });

  it("has the release CONTAIN every component, purls as external references, dates without fractions", () => {
    const doc = toSpdx(bom([{ name: "express", version: "4.19.2", purl: "pkg:npm/express@4.19.2" }])) as {
      spdxVersion: string;
      creationInfo: { created: string; creators: string[] };
      packages: unknown[];
      relationships: unknown[];
      comment?: string;
    };
    expect(doc.spdxVersion).toBe("SPDX-2.3");
    expect(doc.creationInfo.created).toBe("2026-12-05T08:00:00Z");
    expect(doc.creationInfo.creators).toEqual(["Tool: hop3-0.1.0"]);
    expect(doc.packages[1]).toMatchObject({
      name: "express",
      versionInfo: "4.19.2",
      externalRefs: [
        {
          referenceCategory: "PACKAGE-MANAGER",
          referenceType: "purl",
          referenceLocator: "pkg:npm/express@4.19.2",
        },
      ],
    });
    expect(doc.relationships).toContainEqual({
      spdxElementId: "SPDXRef-Release",
      relationshipType: "CONTAINS",
      relatedSpdxElement: "SPDXRef-Package-1",
    });
    expect(doc.comment).toMatch(/Incomplete: no \/etc\/os-release/);
    expect(validateSpdx(doc), JSON.stringify(validateSpdx.errors)).toBe(true);
  });

  it("is valid SPDX 2.3: checksums under SPDX's algorithm names, lower-case; others left out", () => {
    const cdx = bom([
      { name: "express", version: "4.19.2", purl: "pkg:npm/express@4.19.2" },
      { name: "hop3/nodejs", version: "0.1.0" },
    ]) as ReturnType<typeof bom> & { components: Record<string, unknown>[] };
    (cdx.metadata.component as Record<string, unknown>).hashes = [
      { alg: "SHA-256", content: "AB".repeat(32) },
    ];
    cdx.components[0]!.hashes = [
      { alg: "SHA3-256", content: "cd".repeat(32) },
      { alg: "SHA-512", content: "ef".repeat(64) },
      { alg: "BLAKE2b-256", content: "01".repeat(32) },
      { alg: "SHA-999", content: "12" },
      { alg: "MD5", content: "not hex" },
    ];
    cdx.components[0]!.licenses = [{ license: { id: "MIT" } }];
    const doc = toSpdx(cdx) as { packages: { checksums?: unknown; licenseDeclared?: string }[] };
    expect(validateSpdx(doc), JSON.stringify(validateSpdx.errors)).toBe(true);
    expect(doc.packages[0]!.checksums).toEqual([{ algorithm: "SHA256", checksumValue: "ab".repeat(32) }]);
    expect(doc.packages[1]!.checksums).toEqual([
      { algorithm: "SHA3-256", checksumValue: "cd".repeat(32) },
      { algorithm: "SHA512", checksumValue: "ef".repeat(64) },
      { algorithm: "BLAKE2b-256", checksumValue: "01".repeat(32) },
    ]);
    expect(doc.packages[1]!.licenseDeclared).toBe("MIT");
    expect(doc.packages[2]).not.toHaveProperty("checksums");
    // what the schema refuses, so the check above is not vacuous
    expect(
      validateSpdx({ ...doc, packages: [{ ...doc.packages[1], checksums: [{ algorithm: "SHA-256" }] }] }),
    ).toBe(false);
  });

  it("survives a stored document's bad timestamp and a supplier name with line breaks", () => {
    const cdx = bom([{ name: "zlib", version: "1.2.13", purl: "pkg:deb/debian/zlib@1.2.13" }]);
    cdx.metadata.timestamp = "not a date";
    (cdx.components[0] as Record<string, unknown>).supplier = { name: "Debian\nzlib team\n" };
    const doc = toSpdx(cdx) as { creationInfo: { created: string }; packages: { supplier?: string }[] };
    expect(doc.creationInfo.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(doc.packages[1]!.supplier).toBe("Organization: Debian zlib team");
    expect(validateSpdx(doc)).toBe(true);
  });

  it("spells package purposes as SPDX's official 2.3 JSON schema does (OPERATING_SYSTEM, not the tag-value OPERATING-SYSTEM)", () => {
    const doc = toSpdx(bom([{ name: "express", version: "4.19.2", purl: "pkg:npm/express@4.19.2" }])) as {
      packages: Record<string, unknown>[];
    };
    const withPurpose = (p: string) => ({
      ...doc,
      packages: [doc.packages[0], { ...doc.packages[1], primaryPackagePurpose: p }],
    });
    // what Hop3 writes, and the official JSON schema's spellings
    for (const p of ["CONTAINER", "APPLICATION", "LIBRARY", "OPERATING_SYSTEM"])
      expect(validateSpdx(withPurpose(p)), p).toBe(true);
    // the official JSON schema refuses these
    for (const p of ["OPERATING-SYSTEM", "library", "PACKAGE"])
      expect(validateSpdx(withPurpose(p)), p).toBe(false);
  });
});
