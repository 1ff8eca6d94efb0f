/**
 * Stopping a Containerfile build that hangs. Podman's build API carries on when its client goes away (a
 * `RUN sleep infinity` outlives the deploy), and a build's RUN containers carry no label. So every build is
 * marked: a host entry `hop3-build-<id>` in the /etc/hosts of its RUN steps (the build API's `extrahosts`),
 * and stopping it kills the processes whose root filesystem has that entry. Killing the step's processes
 * makes the step, hence the build, fail, and Podman cleans up after it as after any failed build.
 */

import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import type Docker from "dockerode";

export const newBuildId = () => randomBytes(6).toString("hex");

export const buildMarkerHost = (buildId: string) => `hop3-build-${buildId}`;

/** The build API option that marks the RUN steps of a build (an address nothing listens on). */
export const buildMarkerOption = (buildId: string) => ({
  extrahosts: JSON.stringify([`${buildMarkerHost(buildId)}:127.0.0.9`]),
});

/** Kills every process of the marked build's RUN steps that this user can see; answers how many. */
export function killBuildProcesses(buildId: string, procDir = "/proc"): number {
  const needle = `\t${buildMarkerHost(buildId)}`;
  let killed = 0;
  for (const entry of readdirSync(procDir)) {
    if (!/^\d+$/.test(entry)) continue;
    let hosts: string;
    try {
      hosts = readFileSync(`${procDir}/${entry}/root/etc/hosts`, "utf8");
    } catch {
      continue; // gone, or not ours
    }
    if (!hosts.split("\n").some((l) => l.includes(needle) || l.endsWith(` ${buildMarkerHost(buildId)}`))) {
      continue;
    }
    try {
      process.kill(Number(entry), "SIGKILL");
      killed++;
    } catch {
      // already gone
    }
  }
  return killed;
}

/** A buildpacks build runs in a container of its own (build/cnb/lifecycle.ts): stopping it is removing that. */
export async function removeBuildContainers(docker: Docker, app: string, release: number): Promise<void> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: ["io.hop3.role=cnb-build", `io.hop3.app=${app}`] },
  });
  for (const c of list) {
    if (!c.Names?.some((n) => n.includes(`-r${release}-`))) continue;
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  }
}
