/**
 * `hop volumes`: what an app's active release declares in `[[volumes]]`, joined with the Podman volumes that
 * carry the app's label. A pure function, so the rules (what is "orphaned", what may be destroyed) are tested
 * without Podman.
 *
 * A persist volume outlives the `[[volumes]]` entry that made it: removing the entry and deploying leaves the
 * data in place (nothing is deleted without a confirmation), listed here as `orphaned` until
 * `hop volumes:destroy` removes it.
 */
import type { VolumeSpec } from "../app/hop3toml.js";
import { planMounts } from "./volumes.js";

/** A Podman volume of the app, as the runtime found it (label `hop3.app` = the app). */
export interface AppVolumeInfo {
  name: string;
  createdAt?: string;
  /** Bytes used, when Podman reported it. */
  size?: number;
  /** Containers (running or not) that mount it. */
  usedBy: string[];
}

export interface VolumeRow {
  /** The Podman volume name (persist), or the host directory (bind), or "tmpfs". */
  name: string;
  type: "persist" | "tmpfs" | "bind";
  /** Where the active release mounts it; absent for an orphaned volume. */
  target?: string;
  size?: number;
  /** tmpfs: the size limit from hop3.toml, in bytes. */
  limit?: number;
  /** `in use` (mounted by a container), `declared` (in the active release, no container now), `orphaned`. */
  state: "in use" | "declared" | "orphaned";
  usedBy: string[];
  createdAt?: string;
}

export function volumeReport(
  app: string,
  declared: readonly VolumeSpec[],
  root: string,
  found: readonly AppVolumeInfo[],
): VolumeRow[] {
  const byName = new Map(found.map((v) => [v.name, v]));
  const rows: VolumeRow[] = [];
  const listed = new Set<string>();
  for (const m of declared.length > 0 ? planMounts(app, declared, root) : []) {
    if (m.kind === "volume") {
      const v = byName.get(m.volume);
      listed.add(m.volume);
      rows.push({
        name: m.volume,
        type: "persist",
        target: m.target,
        ...(v?.size !== undefined ? { size: v.size } : {}),
        state: v && v.usedBy.length > 0 ? "in use" : "declared",
        usedBy: v?.usedBy ?? [],
        ...(v?.createdAt ? { createdAt: v.createdAt } : {}),
      });
    } else if (m.kind === "tmpfs") {
      rows.push({
        name: "tmpfs",
        type: "tmpfs",
        target: m.target,
        ...(m.size ? { limit: Number(m.size) } : {}),
        state: "declared",
        usedBy: [],
      });
    } else {
      rows.push({ name: m.source, type: "bind", target: m.target, state: "declared", usedBy: [] });
    }
  }
  for (const v of [...found].sort((a, b) => a.name.localeCompare(b.name))) {
    if (listed.has(v.name)) continue;
    rows.push({
      name: v.name,
      type: "persist",
      ...(v.size !== undefined ? { size: v.size } : {}),
      state: v.usedBy.length > 0 ? "in use" : "orphaned",
      usedBy: v.usedBy,
      ...(v.createdAt ? { createdAt: v.createdAt } : {}),
    });
  }
  return rows;
}
