/**
 * Cloud Native Buildpacks as a Hop3 builder: the lifecycle of src/build/cnb/ on the stack images of
 * images/cnb/, with the server's buildpacks (buildpacks/order.toml) or the app's own (.buildpacks).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import { Hop3Error } from "../util/errors.js";
import type { BuildContext, Builder, BuiltImage } from "./builder.js";
import type { BuildNetwork } from "./cnb/build-network.js";
import { scanBuildpacks } from "./cnb/buildpack-index.js";
import { purgeCache as purgeCacheDir } from "./cnb/cache.js";
import type { LifecycleOptions } from "./cnb/lifecycle.js";
import type { EnsureStackOptions } from "./cnb/stack.js";

export interface BuildpacksSettings {
  root: string;
  buildpacksDir: string;
  imagesDir: string;
  baseImage: string;
  stack: string;
  allowedBuildpackRoots: string[];
  /** Extra CA certificates and proxies for build steps. */
  network: BuildNetwork;
  /** The operator's buildpack URL mappings (`hop buildpacks:map`), read at each build. */
  maps?: () => Record<string, string>;
}

export const cacheRootOf = (root: string) => join(root, "cache");
/** Package caches shared by all apps, content-addressed and checked (cnb/shared-npm-cache.ts). */
export const sharedCacheRootOf = (root: string) => join(root, "shared-cache");

/**
 * The lifecycle and the stack images (build/cnb: lifecycle.ts and what it imports) load at the first
 * buildpack build or detection, not at the server's start (memory of the idle server, src/util/lazy.ts).
 */
const cnb = async () => {
  const [lifecycle, stack] = await Promise.all([import("./cnb/lifecycle.js"), import("./cnb/stack.js")]);
  return { ...lifecycle, ...stack };
};

async function lifecycleOptions(ctx: BuildContext, s: BuildpacksSettings): Promise<LifecycleOptions> {
  const { ensureStackImages } = await cnb();
  const stack = await ensureStackImages(ctx.docker, stackOptions(s, ctx.emit));
  return {
    docker: ctx.docker,
    stack,
    buildpacksDir: s.buildpacksDir,
    workRoot: join(s.root, "build"),
    cacheRoot: cacheRootOf(s.root),
    sharedCacheRoot: sharedCacheRootOf(s.root),
    network: s.network,
    allowedBuildpackRoots: s.allowedBuildpackRoots,
    ...(s.maps ? { buildpackMaps: s.maps } : {}),
  };
}

/** What the server can say about its buildpacks (to refuse a mapping's typo when it is made), and can do ahead. */
export interface BuildpackCatalog {
  /** Ids of the server's own buildpacks. */
  ids(): string[];
  /** Directories under which buildpacks named by path must live. */
  allowedRoots: string[];
  /** Builds the stack images that are missing (what the first buildpack deploy does); answers their names. */
  prepare?(log: (line: string) => void): Promise<{ build: string; run: string }>;
}

/**
 * The server's buildpacks and the directories apps and mappings may name (`hop buildpacks:map` checks
 * targets), and, given the server's Podman client, the stack images built ahead (`hop buildpacks:prepare`).
 */
export function buildpackCatalogOf(s: BuildpacksSettings, docker?: Docker): BuildpackCatalog {
  return {
    ids: () => [...new Set(scanBuildpacks(s.buildpacksDir, "/cnb/buildpacks").map((b) => b.descriptor.id))],
    allowedRoots: [s.buildpacksDir, ...s.allowedBuildpackRoots],
    ...(docker
      ? {
          async prepare(log: (line: string) => void) {
            const { ensureStackImages } = await cnb();
            const { build, run } = await ensureStackImages(docker, stackOptions(s, log));
            return { build, run };
          },
        }
      : {}),
  };
}

/** What ensureStackImages needs from the settings: one place for the deploy's call and the prepare's. */
function stackOptions(s: BuildpacksSettings, log: (line: string) => void): EnsureStackOptions {
  return { imagesDir: s.imagesDir, baseImage: s.baseImage, stack: s.stack, log };
}

function platformEnv(ctx: BuildContext): Record<string, string> {
  return { ...ctx.buildArgs, ...(ctx.buildEnv ?? {}) };
}

/** The server passes its settings (src/server/settings.ts buildpacksSettingsOf), read once at start-up. */
export function createBuildpacksBuilder(settings: BuildpacksSettings): Builder {
  return {
    name: "buildpacks",
    aliases: ["buildpacks", "local", "auto-cnb", "cnb", "pack"],

    async detect(ctx: BuildContext): Promise<boolean> {
      const s = settings;
      const appLists = [".buildpacks", "project.toml"].some((f) => existsSync(join(ctx.sourceDir, f)));
      const available = appLists || existsSync(join(s.buildpacksDir, "order.toml"));
      // The deployer probes with the source dir only; buildpacks are the last resort, and a build that
      // no buildpack recognises fails with the reasons. With Podman at hand, run the real detection.
      if (!ctx.docker || !available) return available;
      const { detectOnly } = await cnb();
      const found = await detectOnly(await lifecycleOptions(ctx, s), {
        app: ctx.app,
        release: ctx.release,
        sourceDir: ctx.sourceDir,
        env: platformEnv(ctx),
        emit: () => {},
      });
      return found !== undefined;
    },

    async build(ctx: BuildContext): Promise<BuiltImage> {
      const s = settings;
      const started = Date.now();
      ctx.emit("-----> Building with Cloud Native Buildpacks");
      const { runLifecycle } = await cnb();
      const result = await runLifecycle(await lifecycleOptions(ctx, s), {
        app: ctx.app,
        release: ctx.release,
        sourceDir: ctx.sourceDir,
        tag: ctx.tag,
        env: platformEnv(ctx),
        ...(ctx.revision ? { revision: ctx.revision } : {}),
        ...(ctx.limits ? { limits: ctx.limits } : {}),
        ...(ctx.timings ? { timings: ctx.timings } : {}),
        emit: ctx.emit,
      });
      if (Object.keys(result.processes).length === 0) {
        ctx.emit(
          "note: the buildpacks declared no process types; the Procfile or hop3.toml must say what to run",
        );
      }
      ctx.emit(`-----> Image ready (${((Date.now() - started) / 1000).toFixed(1)}s)`);
      return {
        tag: result.tag,
        imageId: result.imageId,
        sourceKind: "buildpacks",
        sourceRef: result.buildpacks.map((b) => `${b.id}@${b.version}`).join(","),
        processes: result.processes,
        ...(result.defaultProcess ? { defaultProcess: result.defaultProcess } : {}),
      };
    },
  };
}

/** `hop builds:purge-cache APP`: the next build starts cold. Answers whether there was a cache. */
export function purgeCache(app: string, root: string): boolean {
  try {
    return purgeCacheDir(cacheRootOf(root), app);
  } catch (err) {
    throw new Hop3Error(`cannot purge the build cache of ${app}: ${(err as Error).message}`, "error");
  }
}
