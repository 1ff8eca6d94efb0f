/**
 * Image retention (and the SBOMs of the images): keeps the images of the `retention` newest releases that ran (and of the current one,
 * always); removes the images of older ones and of failed ones, so disks do not fill up with every build.
 */
import { removeReleaseSbom } from "../sbom/store.js";
import type { Platform, Progress } from "./platform.js";

export async function pruneImages(p: Platform, app: string, progress: Progress): Promise<void> {
  const { store, docker, settings } = p;
  const releases = store.listReleases(app); // newest first
  const current = store.currentRelease(app);
  const keep = new Set<string>();
  if (current?.image) keep.add(current.image);
  for (const r of releases.filter((r) => r.status !== "failed" && r.image).slice(0, settings.retention)) {
    keep.add(r.image!);
  }
  const drop = new Set(releases.map((r) => r.image).filter((i): i is string => !!i && !keep.has(i)));
  for (const image of drop) {
    try {
      await docker.getImage(image).remove();
      progress.log(`Pruned ${image} (keeping the last ${settings.retention} releases)`);
      // a release's SBOM and provenance go with its image: they describe what can no longer run
      for (const r of releases.filter((r) => r.image === image))
        await removeReleaseSbom(settings.root, app, r.number);
    } catch {
      // already gone, or still used by a container: tried again after the next deploy
    }
  }
}
