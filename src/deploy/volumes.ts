/**
 * hop3.toml `[[volumes]]` as mounts, as pure functions. Every container of a release (process instances and
 * one-offs: release phase, `hop run`, cron) gets the same mounts, so a migration run by `hop run` sees the data
 * the web process serves.
 *
 * - `persist`: a named Podman volume `hop3-APP-NAME` (a `.volume` quadlet under systemd). It outlives
 *   releases, restarts and rollbacks; only `hop destroy` (which asks to type the app's name) removes it.
 * - `tmpfs`: memory-backed, empty at every start; `size` and `mode` apply.
 * - `bind`: a directory of the app's own data directory on the host (HOP3_ROOT/data/APP/SOURCE). Any other host
 *   path is refused: an app must never mount the platform's files or another app's.
 *
 * Why a bind source is one directory directly in the app's data directory (`uploads`, not `files/uploads`):
 * Podman resolves a bind source path again at every start, including the restarts that Hop3 does not drive
 * (systemd, conmon's restart policy, the watchdog), and follows any symbolic link on the way. So no directory
 * on that path may ever be writable from a container of the app, or the app could swap `files/uploads` for a
 * link to /var/lib/hop3 and get the platform's secrets mounted at its next restart. Ownership cannot protect
 * such a directory under rootless Podman (a container's root *is* the hop3 user on the host); only never
 * mounting it can. With one level, the only directory on the way is the app's data directory itself, which
 * no container of the app ever mounts, whatever its releases (an older release's `files` would otherwise be
 * the parent of a newer release's `files/uploads` while both run during a deploy). Nested sources (`a` and
 * `a/b`) are refused naming both entries, since that is the mistake this most often catches.
 */
import { isAbsolute, join, normalize, relative, sep } from "node:path";
import type { VolumeSpec } from "../app/hop3toml.js";
import { Hop3Error } from "../util/errors.js";

export type MountPlan =
  | { kind: "volume"; volume: string; target: string }
  | { kind: "tmpfs"; target: string; size?: string; mode?: string }
  /** `base`: the app's data directory, which `source` must stay inside (checked again on the host). */
  | { kind: "bind"; source: string; target: string; base: string };

/** The host directory under which an app's bind volumes live. */
export const appDataDir = (root: string, app: string) => join(root, "data", app);

/** Podman volume name of a persist volume: `hop3-APP-NAME`; the name defaults to the target's path. */
export function volumeName(app: string, v: Pick<VolumeSpec, "name" | "target">): string {
  const base =
    v.name ??
    (v.target
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "") ||
      "root");
  return `hop3-${app}-${base}`;
}

/** "512M", "2G", "64KiB" -> bytes (binary units, as tmpfs and Podman read them). */
export function sizeBytes(size: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)i?B?$/i.exec(size.trim());
  if (!m)
    throw new Hop3Error(`invalid size ${JSON.stringify(size)}`, "usage", 'use a size like "512M" or "2G"');
  const power = ["", "K", "M", "G", "T"].indexOf(m[2]!.toUpperCase());
  return Math.round(Number(m[1]) * 1024 ** power);
}

/** A file mode as tmpfs takes it: octal digits ("1777", "0755"). */
function checkMode(mode: string, where: string): string {
  if (!/^[0-7]{3,4}$/.test(mode)) {
    throw new Hop3Error(
      `${where}: mode ${JSON.stringify(mode)} is not an octal file mode`,
      "usage",
      'e.g. "1777"',
    );
  }
  return mode;
}

export function planMounts(app: string, volumes: readonly VolumeSpec[], root: string): MountPlan[] {
  refuseNestedBinds(app, volumes, root);
  const out: MountPlan[] = [];
  const seen = new Set<string>();
  volumes.forEach((v, i) => {
    const where = `hop3.toml [[volumes]] #${i + 1} (${v.target})`;
    const target = normalize(v.target).replace(/(.)\/+$/, "$1");
    if (!isAbsolute(target) || target === "/") {
      throw new Hop3Error(`${where}: the target must be an absolute path other than /`, "usage");
    }
    if (seen.has(target)) throw new Hop3Error(`${where}: ${target} is mounted twice`, "usage");
    seen.add(target);
    const type = v.type ?? "persist";
    if (type === "persist") {
      if (v.mode !== undefined || v.size !== undefined) {
        throw new Hop3Error(
          `${where}: size and mode apply to tmpfs volumes only`,
          "usage",
          'a persist volume grows with its data; remove size/mode or use type = "tmpfs"',
        );
      }
      out.push({ kind: "volume", volume: volumeName(app, v), target });
    } else if (type === "tmpfs") {
      out.push({
        kind: "tmpfs",
        target,
        ...(v.size !== undefined ? { size: String(sizeBytes(v.size)) } : {}),
        ...(v.mode !== undefined ? { mode: checkMode(v.mode, where) } : {}),
      });
    } else {
      out.push({
        kind: "bind",
        source: bindSource(app, v.source ?? "", root, where),
        target,
        base: appDataDir(root, app),
      });
    }
  });
  return out;
}

/** A bind source relative to the app's data directory, or an error when it is outside. */
function bindRel(app: string, source: string, root: string, where: string): string {
  const base = appDataDir(root, app);
  const path = isAbsolute(source) ? normalize(source) : join(base, source);
  const rel = relative(base, path);
  if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new Hop3Error(
      `${where}: bind source ${JSON.stringify(source)} is outside the app's data directory ${base}`,
      "usage",
      'give a path relative to that directory (e.g. source = "uploads"); other host paths are never mounted',
    );
  }
  return rel;
}

/** The host path of a bind volume: one directory directly in the app's data directory, or an error. */
function bindSource(app: string, source: string, root: string, where: string): string {
  const rel = bindRel(app, source, root, where);
  if (rel.includes(sep)) {
    throw new Hop3Error(
      `${where}: bind source ${JSON.stringify(source)} must be one directory directly in the app's data directory`,
      "usage",
      `use a single name such as ${JSON.stringify(rel.split(sep).join("-"))}: a directory holding a bind source must never be writable by the app, or a link it made there would be followed at the next restart`,
    );
  }
  return join(appDataDir(root, app), rel);
}

/** Two bind sources of which one holds the other: refused before anything is built, naming both. */
function refuseNestedBinds(app: string, volumes: readonly VolumeSpec[], root: string): void {
  const binds: { n: number; target: string; rel: string }[] = [];
  volumes.forEach((v, i) => {
    if (v.type !== "bind") return;
    const where = `hop3.toml [[volumes]] #${i + 1} (${v.target})`;
    binds.push({ n: i + 1, target: v.target, rel: bindRel(app, v.source ?? "", root, where) });
  });
  for (const a of binds) {
    for (const b of binds) {
      if (a !== b && b.rel.startsWith(`${a.rel}${sep}`)) {
        throw new Hop3Error(
          `hop3.toml [[volumes]] #${a.n} (${a.target}, source "${a.rel}") holds #${b.n} (${b.target}, source "${b.rel}"): bind sources must not nest`,
          "usage",
          "the app could replace the inner directory by a link through the outer mount, and the link would be followed at the next restart; give each bind volume a directory of its own",
        );
      }
    }
  }
}

/** The mounts of a release's containers (none for releases recorded before volumes). */
export function releaseMounts(
  app: string,
  spec: { volumes?: readonly VolumeSpec[] } | undefined,
  root: string,
) {
  return planMounts(app, spec?.volumes ?? [], root);
}

/**
 * Podman's `U` mount option: the volume's files are given to the container's user (rootless: its mapped id).
 * Buildpack images run as uid 1000, which could not write a volume owned by the container's root otherwise.
 * The cost is a recursive chown at each start, small for an app's data.
 */
export const CHOWN_TO_CONTAINER_USER = "U";

/** Podman API (Docker-compatible) HostConfig fields for the mounts. */
export function hostConfigMounts(mounts: readonly MountPlan[]): {
  Binds?: string[];
  Tmpfs?: Record<string, string>;
} {
  const binds: string[] = [];
  const tmpfs: Record<string, string> = {};
  for (const m of mounts) {
    if (m.kind === "volume") binds.push(`${m.volume}:${m.target}:${CHOWN_TO_CONTAINER_USER}`);
    else if (m.kind === "bind") binds.push(`${m.source}:${m.target}:${CHOWN_TO_CONTAINER_USER}`);
    else tmpfs[m.target] = tmpfsOptions(m).join(",");
  }
  return {
    ...(binds.length ? { Binds: binds } : {}),
    ...(Object.keys(tmpfs).length ? { Tmpfs: tmpfs } : {}),
  };
}

export function tmpfsOptions(m: Extract<MountPlan, { kind: "tmpfs" }>): string[] {
  return [...(m.size ? [`size=${m.size}`] : []), ...(m.mode ? [`mode=${m.mode}`] : [])];
}
