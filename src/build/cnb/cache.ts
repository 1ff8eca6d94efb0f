/**
 * The per-app layer cache: `<cacheRoot>/<app>/<buildpack>/<layer>{,.toml}`. Layers are moved (not copied)
 * into a build and back, so restoring node_modules costs a rename, not a copy.
 */
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { stringify } from "smol-toml";
import { ContainedDir } from "./contained-files.js";
import { parseLayerToml } from "./descriptors.js";

export function appCacheDir(cacheRoot: string, app: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(app)) throw new Error(`invalid app name ${app}`);
  return join(cacheRoot, app);
}

export function moveDir(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
    cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    rmSync(from, { recursive: true, force: true });
  }
}

export interface Restored {
  layer: string;
  from: string;
  to: string;
}

/**
 * Puts a buildpack's cached layers back in its layers directory. Per Buildpack API 0.6+, the restored
 * `<layer>.toml` keeps its metadata but not its types: the buildpack must set them again to keep it.
 */
export function restoreLayers(cacheBpDir: string, layersBpDir: string): Restored[] {
  if (!existsSync(cacheBpDir)) return [];
  mkdirSync(layersBpDir, { recursive: true });
  const restored: Restored[] = [];
  // a build wrote these: read them as such (a cache made before links were refused may hold one)
  const cache = new ContainedDir(cacheBpDir, "layer cache");
  for (const file of readdirSync(cacheBpDir)) {
    if (!file.endsWith(".toml")) continue;
    const layer = file.slice(0, -5);
    const dir = join(cacheBpDir, layer);
    if (!existsSync(dir)) continue;
    let metadata: Record<string, unknown>;
    try {
      metadata = parseLayerToml(cache.readText(file) ?? "", file).metadata;
    } catch {
      continue; // a damaged cache entry is a cache miss
    }
    writeFileSync(join(layersBpDir, file), stringify({ metadata }));
    moveDir(dir, join(layersBpDir, layer));
    restored.push({ layer, from: dir, to: join(layersBpDir, layer) });
  }
  return restored;
}

/** After a failed build: whatever was restored goes back, so the next build is still warm. */
export function unrestoreLayers(restored: Restored[]): void {
  for (const r of restored) {
    if (existsSync(r.to) && !existsSync(r.from)) {
      try {
        moveDir(r.to, r.from);
      } catch {
        // best effort: a lost cache entry only makes the next build slower
      }
    }
  }
}

/** Replaces a buildpack's cache with the layers this build marked `cache = true`. */
export function saveLayers(layersBpDir: string, cacheBpDir: string, cached: string[]): void {
  const next = `${cacheBpDir}.next`;
  rmSync(next, { recursive: true, force: true });
  mkdirSync(next, { recursive: true });
  const written = new ContainedDir(layersBpDir, "layers");
  for (const layer of cached) {
    const dir = join(layersBpDir, layer);
    // only a real directory and a regular .toml file: never a link the buildpack made
    if (!existsSync(dir) || !lstatSync(dir).isDirectory()) continue;
    const toml = written.readText(`${layer}.toml`);
    if (toml === undefined) continue;
    writeFileSync(join(next, `${layer}.toml`), toml);
    moveDir(dir, join(next, layer));
  }
  rmSync(cacheBpDir, { recursive: true, force: true });
  renameSync(next, cacheBpDir);
}

export function purgeCache(cacheRoot: string, app: string): boolean {
  const dir = appCacheDir(cacheRoot, app);
  const existed = existsSync(dir);
  rmSync(dir, { recursive: true, force: true });
  return existed;
}
