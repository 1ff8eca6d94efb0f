/**
 * Makes an app's planned mounts exist before a container uses them: named volumes (with Hop3's labels, so
 * `hop destroy` finds them) and bind directories under the app's data directory. Removes them on destroy.
 */
import { existsSync, mkdirSync, realpathSync, rmSync } from "node:fs";
import { sep } from "node:path";
import type Docker from "dockerode";
import type { AppVolumeInfo } from "../deploy/volume-report.js";
import { appDataDir, type MountPlan } from "../deploy/volumes.js";
import { Hop3Error } from "../util/errors.js";
import { retryWhileImagesGo, statusOf } from "./containers.js";
import { LABEL } from "./labels.js";

export async function ensureMounts(
  docker: Docker,
  app: string,
  mounts: readonly MountPlan[] = [],
): Promise<void> {
  for (const m of mounts) {
    if (m.kind === "bind") {
      // 0755: after Podman's U option gives it to the container's user, the server must still look inside to
      // check the next mount (HOP3_ROOT itself is 0750, so no other host user gets in)
      mkdirSync(m.source, { recursive: true, mode: 0o755 });
      // No container of the app can write in its data directory itself (deploy/volumes.ts keeps bind sources one
      // level deep), so what follows is a second line: a link left there by an older Hop3, whose sources could
      // nest, or by hand, must not lead a mount out of it.
      let real: string;
      try {
        real = realpathSync(m.source);
      } catch (err) {
        throw new Hop3Error(
          `cannot check the bind volume ${m.source}: ${(err as Error).message}`,
          "deployFailed",
        );
      }
      const base = realpathSync(m.base);
      if (real !== base && !real.startsWith(`${base}${sep}`)) {
        throw new Hop3Error(
          `the bind volume ${m.source} leads to ${real}, outside the app's data directory ${base}`,
          "deployFailed",
          "a symbolic link in the data directory points out of it: remove it",
        );
      }
    } else if (m.kind === "volume") {
      let labels: Record<string, string> | undefined;
      try {
        const info = (await docker.getVolume(m.volume).inspect()) as {
          Labels?: Record<string, string> | null;
        };
        labels = info.Labels ?? {};
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
        await docker.createVolume({ Name: m.volume, Labels: { [LABEL.managed]: "true", [LABEL.app]: app } });
      }
      // `hop3-APP-NAME` is not unique across apps (app `shop` volume `data-x`, app `shop-data` volume `x`): a
      // volume is only ever mounted into the app its label names, never another app's data under a shared name
      if (labels && labels[LABEL.app] !== app) {
        const owner = labels[LABEL.app];
        throw new Hop3Error(
          `the volume ${m.volume} (for ${m.target}) belongs to ${owner ? `app ${owner}` : "something that is not this app"}`,
          "conflict",
          "give this [[volumes]] entry another name in hop3.toml (name = ...)",
        );
      }
    }
  }
}

/**
 * The app's named volumes, by label only: a name prefix would also match another app's (`hop3-shop-` is the
 * start of app `shop-data`'s volumes too). Hop3 creates every volume with its labels (ensureMounts, and the
 * `.volume` units carry them).
 */
export async function listAppVolumes(docker: Docker, app: string): Promise<string[]> {
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${LABEL.app}=${app}`] } });
  return (Volumes ?? [])
    .filter((v) => v.Labels?.[LABEL.app] === app)
    .map((v) => v.Name)
    .sort();
}

/**
 * Removes the app's volumes and data directory: only `hop destroy`, which the user confirmed, calls it.
 * Files the app's non-root users wrote into a bind directory belong to subordinate ids the server cannot
 * remove itself; a container of `image` (the app's own, run as its root, that is hop3) empties it first.
 */
export async function removeAppData(
  docker: Docker,
  app: string,
  root: string,
  image?: string,
): Promise<{ volumes: string[]; leftover?: string }> {
  const volumes = await listAppVolumes(docker, app);
  for (const name of volumes) {
    try {
      await docker.getVolume(name).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }
  const dir = appDataDir(root, app);
  if (existsSync(dir) && !removed(dir)) {
    if (image) await emptyAsContainerRoot(docker, image, dir).catch(() => {});
    if (!removed(dir)) return { volumes, leftover: dir };
  }
  return { volumes };
}

function removed(dir: string): boolean {
  try {
    rmSync(dir, { recursive: true, force: true });
    return true;
  } catch {
    return false;
  }
}

async function emptyAsContainerRoot(docker: Docker, image: string, dir: string): Promise<void> {
  const c = await docker.createContainer({
    Image: image,
    User: "0:0",
    Entrypoint: ["find", "/hop3-data", "-mindepth", "1", "-delete"],
    Cmd: [],
    Labels: { [LABEL.managed]: "true" },
    HostConfig: { Binds: [`${dir}:/hop3-data`], NetworkMode: "none" },
  });
  try {
    await c.start();
    await c.wait();
  } finally {
    await c.remove({ force: true }).catch(() => {});
  }
}

type VolumeUsage = { Volumes?: { Name: string; CreatedAt?: string; UsageData?: { Size?: number } }[] };

/**
 * Podman's `system df`, tried three times whatever the failure (retryWhileImagesGo): Podman 4.3 fails all of
 * it ("image not known") when an image goes while it counts, which other apps' deploys and destroys do all
 * the time. Still failing: no sizes.
 */
function volumeUsage(docker: Docker): Promise<VolumeUsage> {
  return retryWhileImagesGo(
    () => docker.df() as Promise<VolumeUsage>,
    3,
    () => true,
  ).catch(() => ({
    Volumes: [],
  }));
}

/**
 * The app's volumes with their size (Podman's `system df`) and the containers that mount them, for
 * `hop volumes`. Sizes are best effort: a df that fails leaves them out rather than failing the listing.
 */
export async function describeAppVolumes(docker: Docker, app: string): Promise<AppVolumeInfo[]> {
  const names = await listAppVolumes(docker, app);
  if (names.length === 0) return [];
  const [df, containers] = await Promise.all([
    volumeUsage(docker),
    docker.listContainers({ all: true, filters: { label: [`${LABEL.app}=${app}`] } }),
  ]);
  const sizes = new Map((df.Volumes ?? []).map((v) => [v.Name, v]));
  return names.map((name) => {
    const d = sizes.get(name);
    const size = d?.UsageData?.Size;
    return {
      name,
      ...(d?.CreatedAt ? { createdAt: d.CreatedAt } : {}),
      ...(typeof size === "number" && size >= 0 ? { size } : {}),
      usedBy: containers
        .filter((c) => (c.Mounts ?? []).some((m) => m.Name === name))
        .map((c) => (c.Names?.[0] ?? c.Id).replace(/^\//, ""))
        .sort(),
    };
  });
}

/**
 * Removes one of the app's volumes (`hop volumes:destroy`, confirmed by typing its name): only a volume whose
 * label names this app, and never while a container mounts it (its data would vanish under a running
 * process, or come back empty at the next start without anyone having asked).
 */
export async function removeAppVolume(docker: Docker, app: string, name: string): Promise<void> {
  const mine = await describeAppVolumes(docker, app);
  const v = mine.find((x) => x.name === name);
  if (!v) {
    throw new Hop3Error(
      `${app} has no volume named ${name}`,
      "notFound",
      `see them with: hop volumes -a ${app}`,
    );
  }
  if (v.usedBy.length > 0) {
    throw new Hop3Error(
      `the volume ${name} is mounted by ${v.usedBy.join(", ")}`,
      "conflict",
      `stop the app first (hop stop -a ${app}), or remove its [[volumes]] entry from hop3.toml and deploy`,
    );
  }
  try {
    await docker.getVolume(name).remove();
  } catch (err) {
    if (statusOf(err) === 409) {
      throw new Hop3Error(
        `the volume ${name} is in use`,
        "conflict",
        `stop the app first (hop stop -a ${app})`,
      );
    }
    if (statusOf(err) !== 404) throw err;
  }
}
