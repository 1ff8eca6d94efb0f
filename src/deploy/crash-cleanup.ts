/**
 * What a build leaves when the server dies in the middle of it (crash, kill, power loss): uploaded archives
 * and extracted sources, buildpack work directories, `hop3-cnb-*` build containers. Run once at server start,
 * before anything can build: at that moment every one of them is a leftover.
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";

/** The directories a build writes to (src/server/upload.ts's uploads, the buildpacks' work root). */
export interface BuildScratch {
  uploadsDir: string;
  buildWorkRoot: string;
  /** Build containers whose name starts with this are removed (tests narrow it to their own). */
  containerPrefix?: string;
}

/** The label every buildpacks build container carries (src/build/cnb/lifecycle.ts). */
const BUILD_CONTAINER_LABEL = "io.hop3.role=cnb-build";

export async function cleanupAfterCrash(docker: Docker, scratch: BuildScratch): Promise<string[]> {
  const notes: string[] = [];
  let containers: Docker.ContainerInfo[] = [];
  try {
    containers = await docker.listContainers({ all: true, filters: { label: [BUILD_CONTAINER_LABEL] } });
  } catch (err) {
    notes.push(`could not list build containers: ${(err as Error).message}`);
  }
  for (const c of containers) {
    const name = c.Names?.[0]?.replace(/^\//, "") ?? c.Id.slice(0, 12);
    if (!name.startsWith(scratch.containerPrefix ?? "hop3-cnb-")) continue;
    try {
      await docker.getContainer(c.Id).remove({ force: true });
      notes.push(`removed build container ${name} left by an interrupted build`);
    } catch (err) {
      notes.push(`could not remove build container ${name}: ${(err as Error).message}`);
    }
  }
  for (const dir of [scratch.uploadsDir, scratch.buildWorkRoot]) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue; // never created: nothing was left
    }
    for (const entry of entries) {
      const path = join(dir, entry);
      try {
        rmSync(path, { recursive: true, force: true });
        notes.push(`removed ${path} left by an interrupted upload or build`);
      } catch (err) {
        notes.push(`could not remove ${path}: ${(err as Error).message}`);
      }
    }
  }
  return notes;
}
