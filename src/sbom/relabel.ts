/**
 * A stored SBOM re-labelled for another release of the same image: a release that reuses an image
 * (config:set, rollback) or one restored from a backup describes what it runs with the document already made
 * for that image, under its own app, release number, serial number and time, with a `hop3:sbom:*` property
 * saying where the document came from. What describes the image itself (its components, `hop3:image:id`,
 * the source revision, the base image) is kept as it was.
 */
import { randomUUID } from "node:crypto";

export interface Relabel {
  app: string;
  release: number;
  sourceKind: string;
  /** Where the document came from, e.g. [COPIED_FROM, "v3"]. */
  origin: [name: typeof COPIED_FROM | typeof RESTORED_FROM, value: string];
}

type Obj = Record<string, unknown>;

/** Where a document came from: one of these at most, naming the release or backup of the same app. */
export const COPIED_FROM = "hop3:sbom:copied-from";
export const RESTORED_FROM = "hop3:sbom:restored-from";

export function relabelSbom(doc: Obj, to: Relabel, now = new Date()): Obj {
  const copy = structuredClone(doc) as Obj & { metadata?: Obj };
  copy.serialNumber = `urn:uuid:${randomUUID()}`;
  const meta: Obj =
    copy.metadata && typeof copy.metadata === "object" && !Array.isArray(copy.metadata) ? copy.metadata : {};
  const component = meta.component as Obj | undefined;
  if (component && typeof component === "object" && !Array.isArray(component)) {
    const oldRef = component["bom-ref"];
    const newRef = `release:${to.app}@v${to.release}`;
    component.name = to.app;
    component.version = `v${to.release}`;
    component["bom-ref"] = newRef;
    // the dependency graph names the release by its bom-ref: a ref left behind would point at nothing
    if (typeof oldRef === "string" && Array.isArray(copy.dependencies)) {
      for (const d of copy.dependencies as Obj[]) {
        if (!d || typeof d !== "object") continue;
        if (d.ref === oldRef) d.ref = newRef;
        if (Array.isArray(d.dependsOn)) d.dependsOn = d.dependsOn.map((r) => (r === oldRef ? newRef : r));
      }
    }
  }
  const props = (Array.isArray(meta.properties) ? meta.properties : []).filter(
    (p): p is { name: string; value: string } =>
      !!p && typeof p === "object" && typeof p.name === "string" && typeof p.value === "string",
  );
  const replaced = new Map<string, string>([
    ["hop3:app", to.app],
    ["hop3:release", String(to.release)],
    ["hop3:source:kind", to.sourceKind],
    [to.origin[0], to.origin[1]],
  ]);
  // an earlier origin named a release of another app or number: not this document's any more
  const kept = props.filter(
    (p) => !replaced.has(p.name) && p.name !== COPIED_FROM && p.name !== RESTORED_FROM,
  );
  for (const [name, value] of replaced) kept.push({ name, value });
  meta.properties = kept.sort((a, b) => a.name.localeCompare(b.name) || a.value.localeCompare(b.value));
  meta.timestamp = now.toISOString();
  copy.metadata = meta;
  return copy;
}
