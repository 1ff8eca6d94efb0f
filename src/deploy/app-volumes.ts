/**
 * `hop volumes` and `hop volumes:destroy`: the app's volumes as its active release declares them and as Podman
 * has them; one volume removed on a typed confirmation, under the app's lock so no deploy mounts it meanwhile.
 */
import { describeAppVolumes, removeAppVolume } from "../runtime/volumes.js";
import { Hop3Error } from "../util/errors.js";
import { withAppLock } from "./app-lock.js";
import type { Platform } from "./platform.js";
import type { ReleaseSpec } from "./release-spec.js";
import { type VolumeRow, volumeReport } from "./volume-report.js";

export async function listVolumes(p: Platform, app: string): Promise<VolumeRow[]> {
  p.store.requireApp(app);
  const spec = p.store.currentRelease(app)?.spec as ReleaseSpec | undefined;
  return volumeReport(app, spec?.volumes ?? [], p.settings.root, await describeAppVolumes(p.docker, app));
}

export async function destroyVolume(
  p: Platform,
  app: string,
  name: string,
  confirm: string | undefined,
): Promise<{ destroyed: string }> {
  if (confirm !== name) {
    throw new Hop3Error(
      `destroying the volume ${name} deletes its data and needs confirmation`,
      "usage",
      `pass confirm=${name} (hop volumes:destroy ${name} --confirm ${name})`,
    );
  }
  return withAppLock(app, async () => {
    p.store.requireApp(app);
    await removeAppVolume(p.docker, app, name);
    await p.supervisor.dropVolumes?.([name]);
    p.log(`volume ${name} of ${app} destroyed`);
    return { destroyed: name };
  });
}
