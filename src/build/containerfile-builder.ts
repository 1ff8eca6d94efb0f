/** Builds the repository's own Containerfile or Dockerfile through the Podman API. */
import { existsSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { buildLimitOptions } from "../runtime/limits.js";
import { Hop3Error } from "../util/errors.js";
import { tarFs } from "../util/tar-modules.js";
import { readBuildCa } from "./build-ca.js";
import { buildMarkerOption } from "./build-processes.js";
import type { BuildContext, Builder, BuiltImage } from "./builder.js";
import type { BuildNetwork } from "./cnb/build-network.js";
import { containerfileBuildOptions } from "./containerfile-network.js";
import { containerfileRefusals } from "./containerfile-policy.js";
import { isIgnored, parseDockerignore } from "./dockerignore.js";
import { followProgress } from "./progress.js";

export const CONTAINERFILE_NAMES = ["Containerfile", "Dockerfile"] as const;

export function findContainerfile(dir: string): string | undefined {
  return CONTAINERFILE_NAMES.find((n) => existsSync(join(dir, n)));
}

/**
 * The build context as a tar stream, with the ignore file applied the way Docker applies it; `extra` files
 * (name -> contents) are appended at the root: the build's secrets, which Podman moves out of the context.
 */
export function packContext(
  dir: string,
  containerfile: string,
  extra: Record<string, Buffer> = {},
): NodeJS.ReadableStream {
  // tar-fs Pack is a streamx Readable; Dockerode only pipes it.
  const ignoreFile = [".containerignore", ".dockerignore"].find((n) => existsSync(join(dir, n)));
  const rules = ignoreFile ? parseDockerignore(readFileSync(join(dir, ignoreFile), "utf8")) : [];
  const alwaysSent = new Set([containerfile, ignoreFile]);
  return tarFs().pack(dir, {
    ignore: (name) => {
      const rel = relative(dir, name).split(sep).join("/");
      if (!rel || alwaysSent.has(rel)) return false;
      return isIgnored(rules, rel);
    },
    finalize: false,
    finish: (pack) => {
      for (const [name, contents] of Object.entries(extra)) pack.entry({ name, mode: 0o600 }, contents);
      pack.finalize();
    },
  }) as unknown as NodeJS.ReadableStream;
}

/**
 * Reads the secrets' host files now (a CA bundle replaced since the server started is the new one). The only
 * secret is the build CA: its certificates only, never a key the file may hold beside them (build-ca.ts).
 */
function readContextFiles(
  files: Record<string, string>,
  warn: (msg: string) => void,
): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [name, path] of Object.entries(files)) out[name] = readBuildCa(path, warn);
  return out;
}

/**
 * Podman 4.3's build cache lookup fails when an image it is looking at is removed meanwhile (another app's
 * destroy or retention): "checking if cached image exists from a previous build: getting top layer info:
 * layer not known". Nothing is wrong with the build; it is run once more.
 */
const LOST_CACHED_LAYER = /checking if cached image exists.*(layer|image) not known/;

/** The Containerfile builder; `network` is what the operator gives build steps (docs/containerfile.md). */
export const createContainerfileBuilder = (network: BuildNetwork = {}): Builder => ({
  name: "containerfile",
  aliases: ["docker", "dockerfile", "containerfile"],

  async detect(ctx: BuildContext): Promise<boolean> {
    return findContainerfile(ctx.sourceDir) !== undefined;
  },

  async build(ctx: BuildContext): Promise<BuiltImage> {
    const containerfile = ctx.containerfile ?? findContainerfile(ctx.sourceDir);
    if (!containerfile) {
      throw new Hop3Error(
        "no Containerfile or Dockerfile at the root of the source tree",
        "deployFailed",
        "add one, or deploy a prebuilt image with `hop deploy --image REF`",
      );
    }
    ctx.emit(`Building with ${containerfile}`);
    const net = containerfileBuildOptions(network, ctx.buildArgs);
    // before Podman reads it: mounts and images that reach the server's files are refused (containerfile-policy.ts)
    const refusals = containerfileRefusals(readFileSync(join(ctx.sourceDir, containerfile), "utf8"), {
      app: ctx.app,
      buildArgs: net.buildargs,
    });
    if (refusals.length) {
      throw new Hop3Error(
        `${containerfile} asks for what builds may not have:\n${refusals
          .map((r) => `  ${containerfile}:${r.line}: ${r.reason}`)
          .join("\n")}`,
        "deployFailed",
        "see docs/deploying.md (what a Containerfile build may mount and build on)",
      );
    }
    const contextFiles = readContextFiles(net.contextFiles, ctx.emit);
    for (let attempt = 1; ; attempt++) {
      const stream = await ctx.docker.buildImage(packContext(ctx.sourceDir, containerfile, contextFiles), {
        t: ctx.tag,
        dockerfile: containerfile,
        buildargs: net.buildargs,
        // Podman's parameter (podman-remote sends it so): a RUN step mounts a secret only when it asks for it
        ...(net.secrets.length ? { secrets: JSON.stringify(net.secrets) } : {}),
        ...(ctx.noCache ? { nocache: true } : {}),
        rm: true,
        forcerm: true,
        // HOP3_BUILD_* limits, and a mark that lets a cancel or timeout stop the RUN steps
        // only what the host enforces (deploy/build-step.ts: runtime/limits.ts buildLimits)
        ...buildLimitOptions(ctx.limits),
        ...(ctx.buildId ? buildMarkerOption(ctx.buildId) : {}),
      } as Record<string, unknown>);
      try {
        await followProgress(ctx.docker, stream, ctx.emit, `build of ${containerfile}`);
        break;
      } catch (err) {
        const message = (err as Error).message ?? "";
        if (attempt >= 2 || !LOST_CACHED_LAYER.test(message)) throw err;
        ctx.emit(`Podman lost a cached layer while another build or destroy removed images; building again`);
      }
    }
    // The stream's last ID is not reliable on every Podman version: ask the store what the tag points at.
    let imageId: string;
    try {
      imageId = (await ctx.docker.getImage(ctx.tag).inspect()).Id;
    } catch {
      throw new Hop3Error(`the build finished but produced no image ${ctx.tag}`, "deployFailed");
    }
    return { tag: ctx.tag, imageId, sourceKind: "containerfile", sourceRef: containerfile };
  },
});

/** A Containerfile builder without the operator's CA or proxies (tests, tools). */
export const containerfileBuilder: Builder = createContainerfileBuilder();
