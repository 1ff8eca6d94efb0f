/**
 * The build step: from a source (a tree to build, an image reference, an uploaded archive) to a tagged image
 * and the release spec read from it. Refuses, before anything runs, what would fail later: bad [[volumes]],
 * hostnames in hop3.toml [domains] that another app answers to.
 */

import { createHash } from "node:crypto";
import { type AppSpec, loadAppSpec } from "../app/spec.js";
import { killBuildProcesses, newBuildId, removeBuildContainers } from "../build/build-processes.js";
import type { BuildContext, Builder, BuiltImage } from "../build/builder.js";
import { imageFromArchive, imageFromReference } from "../build/image-source.js";
import { buildLimits } from "../runtime/limits.js";
import type { ReleaseRow } from "../store/store.js";
import { Hop3Error } from "../util/errors.js";
import { abortable, deadline, deploySignal } from "./cancel.js";
import { requireFreeHostnames } from "./domain-claims.js";
import type { Platform, Progress } from "./platform.js";
import { imageFacts, type ReleaseSpec, releaseSpecFromApp, releaseSpecFromImage } from "./release-spec.js";
import { timed } from "./timings.js";
import { planMounts } from "./volumes.js";

export type DeploySource =
  | { kind: "tree"; dir: string }
  | { kind: "image"; ref: string }
  | { kind: "archive"; path: string };

export interface BuildOutcome {
  built: BuiltImage;
  spec: ReleaseSpec;
}

/**
 * Builds or loads the image tagged `tag` for `release`. `onImage` is told of the image as soon as it exists,
 * so that a later failure (reading its spec, a hostname conflict) can remove it. `beforeBuild` is told of the
 * app's configuration once it passed its checks, just before the build starts (what can run alongside the
 * build starts there); an exception it throws fails the deploy before the build.
 */
export async function buildRelease(
  p: Platform,
  app: string,
  release: Pick<ReleaseRow, "number">,
  source: DeploySource,
  tag: string,
  revision: string | undefined,
  progress: Progress,
  onImage: (built: BuiltImage) => void,
  beforeBuild?: (appSpec: AppSpec) => void,
): Promise<BuildOutcome> {
  const { store, docker } = p;
  const config = store.getConfig(app);
  if (source.kind !== "tree") {
    progress.step(source.kind === "image" ? `Fetching image ${source.ref}` : "Loading the uploaded image");
    const built = await timed(progress.timings, source.kind === "image" ? "pull" : "load image", () =>
      source.kind === "image"
        ? imageFromReference(docker, source.ref, tag, progress.log)
        : imageFromArchive(docker, source.path, tag, progress.log),
    );
    onImage(built);
    const info = await docker.getImage(built.tag).inspect();
    return { built, spec: releaseSpecFromImage(imageFacts(info), config.PORT) };
  }
  progress.step("Reading the app's configuration");
  const appSpec = await loadAppSpec(source.dir);
  for (const w of appSpec.warnings) progress.log(`warning: ${w}`);
  for (const n of appSpec.notes ?? []) progress.log(`note: ${n}`);
  // a bad [[volumes]] entry or a hostname of another app fails now, not after a build
  planMounts(app, appSpec.volumes, p.settings.root);
  requireFreeHostnames(p, app, appSpec.domains);
  if (appSpec.name && appSpec.name !== app) {
    progress.log(`note: hop3.toml names the app ${appSpec.name}; deploying to ${app} as asked`);
  }
  const builder = await timed(progress.timings, "builder detect", () =>
    pickBuilder(p.builders, appSpec.build.builder, source.dir),
  );
  // Podman 4.3's builder reuses a cached `ENV X=${ARG}` layer built with another value of ARG: when the
  // build arguments changed since the last build of this app, build without the layer cache.
  const buildArgsDigest = digestOf(appSpec.docker.buildArgs);
  const previousDigest = store
    .listReleases(app)
    .map((r) => (r.spec as ReleaseSpec | undefined)?.buildArgsDigest)
    .find((d) => d !== undefined);
  const noCache = previousDigest !== undefined && previousDigest !== buildArgsDigest;
  if (noCache) progress.log("The build arguments changed: building without the layer cache");
  beforeBuild?.(appSpec);
  progress.step(`Building the image (${builder.name})`);
  const ctx: BuildContext = {
    app,
    release: release.number,
    sourceDir: source.dir,
    tag,
    buildArgs: appSpec.docker.buildArgs,
    noCache,
    requested: appSpec.build.builder,
    ...(revision ? { revision } : {}),
    // buildpacks see the app's config vars in /platform/env, as Heroku's build does
    buildEnv: config,
    ...(appSpec.files.containerfile ? { containerfile: appSpec.files.containerfile } : {}),
    docker,
    emit: progress.log,
    limits: buildLimits(p.settings.limits),
    buildId: newBuildId(),
    ...(progress.timings ? { timings: progress.timings } : {}),
  };
  // HOP3_BUILD_TIMEOUT and deploy:cancel end the build at once: its RUN steps are killed (build-processes.ts)
  const signal = deadline(p.settings.timeouts?.buildSeconds ?? 3600, "the build", deploySignal(app));
  const building = builder.build(ctx);
  const built = await timed(progress.timings, "build", () =>
    abortable(building, signal, async () => {
      killBuildProcesses(ctx.buildId!);
      await removeBuildContainers(docker, app, release.number);
      // an image that still appears after the abort belongs to no release
      building.then(
        (b) =>
          docker
            .getImage(b.tag)
            .remove()
            .catch(() => {}),
        () => {},
      );
    }),
  );
  onImage(built);
  const info = await docker.getImage(built.tag).inspect();
  const spec = { ...releaseSpecFromApp(appSpec, imageFacts(info), config.PORT), buildArgsDigest };
  // again after the build: another app may have taken one of the hostnames meanwhile
  requireFreeHostnames(p, app, spec.domains);
  return { built, spec };
}

async function pickBuilder(builders: Builder[], requested: string, dir: string): Promise<Builder> {
  const probe = { sourceDir: dir } as BuildContext;
  if (requested && requested !== "auto") {
    const named = builders.find((b) => b.name === requested || b.aliases.includes(requested));
    if (!named) {
      throw new Hop3Error(
        `[build].builder = "${requested}" is not available on this server`,
        "deployFailed",
        `available: ${builders.map((b) => b.name).join(", ")}`,
      );
    }
    return named;
  }
  for (const b of builders) if (await b.detect(probe)) return b;
  throw new Hop3Error(
    "no builder recognises this source tree: there is no Containerfile or Dockerfile",
    "deployFailed",
    "add a Containerfile, or deploy a prebuilt image with `hop deploy --image REF`",
  );
}

function digestOf(values: Record<string, string>): string {
  const sorted = Object.keys(values)
    .sort()
    .map((k) => [k, values[k]]);
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 16);
}
