/**
 * Makes an app's planned mounts exist before a container uses them: named volumes (with Hop3's labels, so
 * `hop destroy` finds them) and bind directories under the app's data directory. Removes them on destroy.
 */
import { mkdirSync, rmSync } from "node:fs";
import type Docker from "dockerode";
import { appDataDir, type MountPlan } from "../deploy/volumes.js";
import { statusOf } from "./containers.js";
import { LABEL } from "./labels.js";

export async function ensureMounts(
  docker: Docker,
  app: string,
  mounts: readonly MountPlan[] = [],
): Promise<void> {
  for (const m of mounts) {
    if (m.kind === "bind") {
      mkdirSync(m.source, { recursive: true, mode: 0o750 });
    } else if (m.kind === "volume") {
      try {
        await docker.getVolume(m.volume).inspect();
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        await docker.createVolume({ Name: m.volume, Labels: { [LABEL.managed]: "true", [LABEL.app]: app } });
      }
    }
  }
}

/** The app's named volumes (by label, and by name for volumes a quadlet created before Hop3 labelled them). */
export async function listAppVolumes(docker: Docker, app: string): Promise<string[]> {
  const { Volumes } = await docker.listVolumes();
  return (Volumes ?? [])
    .filter((v) => v.Labels?.[LABEL.app] === app || v.Name.startsWith(`hop3-${app}-`))
    .map((v) => v.Name)
    .filter((name) => name.startsWith(`hop3-${app}-`))
    .sort();
}

/** Removes the app's volumes and data directory: only `hop destroy`, which the user confirmed, calls it. */
export async function removeAppData(docker: Docker, app: string, root: string): Promise<string[]> {
  const names = await listAppVolumes(docker, app);
  for (const name of names) {
    try {
      await docker.getVolume(name).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }
  rmSync(appDataDir(root, app), { recursive: true, force: true });
  return names;
}
