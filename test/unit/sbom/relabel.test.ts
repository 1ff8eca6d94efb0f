import { describe, expect, it } from "vitest";
import { buildCycloneDx } from "../../../src/sbom/cyclonedx.js";
import { COPIED_FROM, RESTORED_FROM, relabelSbom } from "../../../src/sbom/relabel.js";
import { validateCycloneDx as validate } from "../../sbom-schemas.js";

type Doc = {
  serialNumber: string;
  metadata: {
    timestamp: string;
    component: { name: string; version: string; "bom-ref": string };
    properties: { name: string; value: string }[];
  };
  components: unknown[];
  dependencies: { ref: string; dependsOn?: string[] }[];
};

const original = buildCycloneDx(
  {
    app: "shop",
    release: 3,
    image: "localhost/hop3/shop:r3",
    imageId: `sha256:${"ab".repeat(32)}`,
    sourceKind: "buildpacks",
    revision: "0123456789abcdef0123456789abcdef01234567",
    hop3Version: "0.1.0",
    timestamp: new Date("2026-12-05T08:00:00Z"),
  },
  {
    packages: [{ ecosystem: "npm", name: "express", version: "4.19.2", purl: "pkg:npm/express@4.19.2" }],
    incomplete: [],
  },
) as unknown as Doc;

const prop = (d: Doc, name: string) =>
  d.metadata.properties.filter((p) => p.name === name).map((p) => p.value);

describe("an SBOM re-labelled for another release of the same image", () => {
  it("names the new app and release everywhere, the dependency graph included; the image's facts stay", () => {
    const at = new Date("2026-12-05T09:00:00Z");
    const d = relabelSbom(
      original as unknown as Record<string, unknown>,
      { app: "shop-copy", release: 1, sourceKind: "image", origin: [RESTORED_FROM, "backup X (shop v3)"] },
      at,
    ) as unknown as Doc;
    expect(validate(d), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(d.metadata.component).toMatchObject({
      name: "shop-copy",
      version: "v1",
      "bom-ref": "release:shop-copy@v1",
    });
    const refs = d.dependencies.flatMap((x) => [x.ref, ...(x.dependsOn ?? [])]);
    expect(refs).toContain("release:shop-copy@v1");
    expect(refs.filter((r) => r.startsWith("release:shop@"))).toEqual([]);
    expect(prop(d, "hop3:app")).toEqual(["shop-copy"]);
    expect(prop(d, "hop3:release")).toEqual(["1"]);
    expect(prop(d, "hop3:source:kind")).toEqual(["image"]);
    expect(prop(d, RESTORED_FROM)).toEqual(["backup X (shop v3)"]);
    expect(prop(d, "hop3:source:revision")).toEqual(["0123456789abcdef0123456789abcdef01234567"]);
    expect(prop(d, "hop3:image:id")).toEqual([`sha256:${"ab".repeat(32)}`]);
    expect(d.components).toEqual(original.components);
    expect(d.serialNumber).not.toBe(original.serialNumber);
    expect(d.metadata.timestamp).toBe(at.toISOString());
    // the original is untouched
    expect(original.metadata.component.name).toBe("shop");
  });

  it("keeps one origin: a copy of a restored document says it was copied, not restored into another app", () => {
    const restored = relabelSbom(original as unknown as Record<string, unknown>, {
      app: "shop-copy",
      release: 1,
      sourceKind: "image",
      origin: [RESTORED_FROM, "backup X (shop v3)"],
    });
    const copied = relabelSbom(restored, {
      app: "shop-copy",
      release: 2,
      sourceKind: "config",
      origin: [COPIED_FROM, "v1"],
    }) as unknown as Doc;
    expect(prop(copied, COPIED_FROM)).toEqual(["v1"]);
    expect(prop(copied, RESTORED_FROM)).toEqual([]);
    expect(validate(copied)).toBe(true);
  });
});
