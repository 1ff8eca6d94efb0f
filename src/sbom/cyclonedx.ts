/**
 * The CycloneDX 1.6 document of a release, built with the CycloneDX library's model and normaliser (the
 * library keeps the output valid against the spec; ours only says what goes in). Hop3's own facts are
 * `hop3:*` properties: the app, the release, the image, the source revision, the base image, Hop3's version,
 * and `hop3:sbom:incomplete`, once per thing that could not be read.
 */
import { randomUUID } from "node:crypto";
import { Enums, Models, Serialize, Spec } from "@cyclonedx/cyclonedx-library";
import { isSupportedSpdxId } from "@cyclonedx/cyclonedx-library/SPDX";
import { INCOMPLETE_PROPERTY } from "./document.js";
import type { Inventory } from "./inventory.js";
import type { FoundPackage } from "./package.js";
import { isSpdxExpression } from "./spdx.js";

// readers of stored documents, kept here too for those that import them from this module
export { INCOMPLETE_PROPERTY, incompleteNotes, packageComponents } from "./document.js";

export interface ReleaseFacts {
  app: string;
  release: number;
  /** The release's image tag and ID (sha256:… of its config). */
  image: string;
  imageId: string;
  sourceKind: string;
  sourceRef?: string;
  revision?: string;
  baseImage?: { name: string; digest?: string };
  buildpacks?: { id: string; version: string; homepage?: string }[];
  hop3Version: string;
  timestamp: Date;
}

function licensesOf(p: FoundPackage): Models.License[] {
  const names = p.licenses ?? [];
  // one SPDX expression ("MIT OR Apache-2.0") stands alone: CycloneDX does not mix expressions with licences;
  // one that is not SPDX's ("GPLv2+ AND Public Domain", as older RPMs write) is a licence name
  if (names.length === 1 && /\s(OR|AND|WITH)\s/.test(names[0]!))
    return [
      isSpdxExpression(names[0]!, true)
        ? new Models.LicenseExpression(names[0]!)
        : new Models.NamedLicense(names[0]!),
    ];
  return names
    .filter((n) => !/\s(OR|AND|WITH)\s/.test(n))
    .map((n) => (isSupportedSpdxId(n) ? new Models.SpdxLicense(n) : new Models.NamedLicense(n)));
}

function packageComponent(p: FoundPackage): Models.Component {
  const c = new Models.Component(Enums.ComponentType.Library, p.name, {
    bomRef: p.purl,
    version: p.version,
    purl: p.purl,
  });
  for (const l of licensesOf(p)) c.licenses.add(l);
  if (p.supplier) c.supplier = new Models.OrganizationalEntity({ name: p.supplier });
  if (p.cpe) c.cpe = p.cpe;
  c.properties.add(new Models.Property("hop3:package:type", p.ecosystem));
  if (p.foundIn) c.properties.add(new Models.Property("hop3:found-in", p.foundIn));
  for (const [k, v] of Object.entries(p.properties ?? {})) c.properties.add(new Models.Property(k, v));
  return c;
}

const sha256Hex = (id: string) => /^(sha256:)?([0-9a-f]{64})$/.exec(id)?.[2];

export function buildCycloneDx(facts: ReleaseFacts, inv: Inventory): Record<string, unknown> {
  const bom = new Models.Bom();
  bom.serialNumber = `urn:uuid:${randomUUID()}`;
  const tool = new Models.Component(Enums.ComponentType.Application, "hop3", {
    version: facts.hop3Version,
    group: "hop3",
  });
  bom.metadata.timestamp = facts.timestamp;
  bom.metadata.tools.components.add(tool);
  const app = new Models.Component(Enums.ComponentType.Container, facts.app, {
    bomRef: `release:${facts.app}@v${facts.release}`,
    version: `v${facts.release}`,
  });
  const hex = sha256Hex(facts.imageId);
  if (hex) app.hashes.set(Enums.HashAlgorithm["SHA-256"], hex);
  bom.metadata.component = app;
  const props: [string, string | undefined][] = [
    ["hop3:app", facts.app],
    ["hop3:release", String(facts.release)],
    ["hop3:image", facts.image],
    ["hop3:image:id", facts.imageId],
    ["hop3:source:kind", facts.sourceKind],
    ["hop3:source:ref", facts.sourceRef],
    ["hop3:source:revision", facts.revision],
    ["hop3:base-image", facts.baseImage?.name],
    ["hop3:base-image:digest", facts.baseImage?.digest],
    ["hop3:version", facts.hop3Version],
    ["hop3:os", inv.os ? `${inv.os.id}${inv.os.versionId ? ` ${inv.os.versionId}` : ""}` : undefined],
  ];
  for (const [k, v] of props) if (v) bom.metadata.properties.add(new Models.Property(k, v));
  for (const note of inv.incomplete)
    bom.metadata.properties.add(new Models.Property(INCOMPLETE_PROPERTY, note));

  if (facts.baseImage) {
    const base = new Models.Component(Enums.ComponentType.Container, facts.baseImage.name, {
      bomRef: `base-image:${facts.baseImage.name}`,
    });
    const bhex = facts.baseImage.digest ? sha256Hex(facts.baseImage.digest) : undefined;
    if (bhex) base.hashes.set(Enums.HashAlgorithm["SHA-256"], bhex);
    base.properties.add(new Models.Property("hop3:role", "base-image"));
    bom.components.add(base);
  }
  for (const bp of facts.buildpacks ?? []) {
    const c = new Models.Component(Enums.ComponentType.Application, bp.id, {
      bomRef: `buildpack:${bp.id}@${bp.version}`,
      version: bp.version,
    });
    c.properties.add(new Models.Property("hop3:role", "buildpack"));
    bom.components.add(c);
  }
  if (inv.os) {
    // the image's distribution, with the CPE its os-release gives (none invented when it gives none)
    const os = new Models.Component(Enums.ComponentType.OperatingSystem, inv.os.id, {
      bomRef: `os:${inv.os.id}${inv.os.versionId ? `@${inv.os.versionId}` : ""}`,
      ...(inv.os.versionId ? { version: inv.os.versionId } : {}),
      ...(inv.os.cpeName ? { cpe: inv.os.cpeName } : {}),
      ...(inv.os.prettyName ? { description: inv.os.prettyName } : {}),
    });
    os.properties.add(new Models.Property("hop3:role", "operating-system"));
    os.properties.add(new Models.Property("hop3:found-in", "/etc/os-release"));
    bom.components.add(os);
  }
  for (const p of inv.packages) bom.components.add(packageComponent(p));

  const normalizer = new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6).makeForBom();
  return normalizer.normalize(bom, { sortLists: true }) as unknown as Record<string, unknown>;
}
