/**
 * Export (pure half): the image configuration and file owners that put launch layers, the app and the
 * launcher on the run image, and the io.buildpacks.* labels that describe the result. The image itself is
 * made by lifecycle.ts as two commits (runtime/image-commit.ts): the launch layers, reused while their
 * digest is unchanged, then the app and the launcher.
 */
import type { LayerContent, ProcessDef } from "./descriptors.js";
import { LAUNCHER_PATH } from "./launcher.js";

export interface ExportedBuildpack {
  id: string;
  version: string;
  homepage?: string;
  /** Layers kept in the image (launch = true), by name. */
  layers: Record<string, LayerContent>;
}

export interface ExportInput {
  runImage: string;
  stackId: string;
  userId: number;
  groupId: number;
  buildpacks: ExportedBuildpack[];
  processes: (ProcessDef & { buildpackId: string })[];
  defaultProcess?: string;
  /** Labels the buildpacks asked for in launch.toml. */
  labels: Record<string, string>;
  app: string;
  release: number;
  revision?: string;
  lifecycleVersion: string;
}

export const LABEL_BUILD_METADATA = "io.buildpacks.build.metadata";
export const LABEL_LIFECYCLE_METADATA = "io.buildpacks.lifecycle.metadata";
export const LABEL_STACK_ID = "io.buildpacks.stack.id";
export const LABEL_DEFAULT_PROCESS = "io.hop3.cnb.default-process";

export function exportLabels(input: ExportInput): Record<string, string> {
  const buildMetadata = {
    processes: input.processes.map((p) => ({
      type: p.type,
      command: p.command,
      args: p.args,
      direct: true,
      buildpackID: p.buildpackId,
      ...(p.workingDir ? { "working-dir": p.workingDir } : {}),
    })),
    buildpacks: input.buildpacks.map((b) => ({
      id: b.id,
      version: b.version,
      ...(b.homepage ? { homepage: b.homepage } : {}),
    })),
    launcher: { version: input.lifecycleVersion, source: { git: { repository: "hop3" } } },
    ...(input.revision ? { source: { type: "git", version: { commit: input.revision } } } : {}),
  };
  const lifecycleMetadata = {
    app: [{ path: "/workspace" }],
    buildpacks: input.buildpacks.map((b) => ({
      key: b.id,
      version: b.version,
      layers: Object.fromEntries(
        Object.entries(b.layers).map(([name, l]) => [name, { ...l.types, data: l.metadata }]),
      ),
    })),
    runImage: { reference: input.runImage },
    stack: { runImage: { image: input.runImage } },
  };
  return {
    ...input.labels,
    [LABEL_BUILD_METADATA]: JSON.stringify(buildMetadata),
    [LABEL_LIFECYCLE_METADATA]: JSON.stringify(lifecycleMetadata),
    [LABEL_STACK_ID]: input.stackId,
    ...(input.defaultProcess ? { [LABEL_DEFAULT_PROCESS]: input.defaultProcess } : {}),
    ...(input.revision ? { "org.opencontainers.image.revision": input.revision } : {}),
    "io.hop3.app": input.app,
    "io.hop3.release": String(input.release),
    // The run image says io.hop3.role=cnb-run, and containers inherit image labels: on an app image that
    // would mark every process instance as a one-off container (invisible to ps, never stopped by a deploy).
    // An empty value is "no role" for the runtime; a label cannot be removed through the build API.
    "io.hop3.role": "",
  };
}

/** The digest of an app's launch layers, on its layers image only (app images built on it clear it). */
export const LABEL_LAYERS_DIGEST = "io.hop3.cnb.layers";

/**
 * What the exported image says besides its files: the same as the CNB lifecycle's exporter writes (launcher as
 * entrypoint, the CNB user, /workspace). Applied as the configuration of the container that is committed, so
 * no value is ever parsed as Containerfile syntax.
 */
export function exportImageConfig(input: Pick<ExportInput, "userId" | "groupId">): {
  User: string;
  WorkingDir: string;
  Env: string[];
  Entrypoint: string[];
  Cmd: string[];
} {
  return {
    User: `${input.userId}:${input.groupId}`,
    WorkingDir: "/workspace",
    Env: ["CNB_APP_DIR=/workspace", "CNB_LAYERS_DIR=/layers"],
    Entrypoint: [LAUNCHER_PATH],
    Cmd: [],
  };
}

/**
 * Who owns an exported file: the launch layers and the app belong to the CNB user (the app may write its own
 * directory, as on Heroku); the launcher and the process scripts (`cnb/`) to root, so the app cannot rewrite
 * how it is started. `path` is relative to the build directory (`layers/...`, `workspace/...`, `cnb/...`).
 */
export function exportOwner(
  path: string,
  input: Pick<ExportInput, "userId" | "groupId">,
): { uid: number; gid: number } {
  return path === "cnb" || path.startsWith("cnb/")
    ? { uid: 0, gid: 0 }
    : { uid: input.userId, gid: input.groupId };
}

/** Buildpacks run in order; a later buildpack's process of the same type replaces an earlier one. */
export function mergeProcesses(perBuildpack: { buildpackId: string; processes: ProcessDef[] }[]): {
  processes: (ProcessDef & { buildpackId: string })[];
  defaultProcess?: string;
} {
  const byType = new Map<string, ProcessDef & { buildpackId: string }>();
  let defaultProcess: string | undefined;
  for (const bp of perBuildpack) {
    for (const p of bp.processes) {
      byType.set(p.type, { ...p, buildpackId: bp.buildpackId });
      if (p.default) defaultProcess = p.type;
    }
  }
  const processes = [...byType.values()];
  // Heroku's habit: with no explicit default, `web` is what runs.
  if (!defaultProcess && byType.has("web")) defaultProcess = "web";
  return { processes, ...(defaultProcess ? { defaultProcess } : {}) };
}
