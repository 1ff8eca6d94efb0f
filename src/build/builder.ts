/**
 * The builder interface. Builders turn a source tree into an OCI image in the hop3 user's storage.
 * Containerfile builds come first; Cloud Native Buildpacks register here the same way.
 */
import type Docker from "dockerode";
import type { StepTimings } from "../deploy/timings.js";
import type { ResourceLimits } from "../runtime/limits.js";

export interface BuildContext {
  app: string;
  release: number;
  sourceDir: string;
  /** The image tag to produce (localhost/hop3/APP:rN). */
  tag: string;
  buildArgs: Record<string, string>;
  /** Build without the layer cache (see Deployer: changed build arguments on Podman 4.3). */
  noCache?: boolean;
  /** hop3.toml [build].builder, when the app says which one. */
  requested?: string;
  containerfile?: string;
  docker: Docker;
  emit: (line: string) => void;
  /** Source revision (git commit), recorded in the image's labels when given. */
  revision?: string;
  /** Build-time environment for buildpacks (`<platform>/env/`), e.g. the app's config vars. */
  buildEnv?: Record<string, string>;
  /** HOP3_BUILD_* limits for the build's containers (runtime/limits.ts). */
  limits?: ResourceLimits;
  /** Marks the build's RUN steps so that a cancel or timeout can stop them (build-processes.ts). */
  buildId?: string;
  /** The deploy's step durations: a builder records its own steps (detect, each buildpack, export) there. */
  timings?: StepTimings;
}

export interface BuiltImage {
  tag: string;
  imageId: string;
  /** What produced it, for the release record: builder name or image reference. */
  sourceKind: "containerfile" | "image" | "buildpacks";
  sourceRef?: string;
  /** Process types the image declares (buildpacks' launch.toml): type -> command, for display. */
  processes?: Record<string, string>;
  /** The process the image runs when given no command. */
  defaultProcess?: string;
}

export interface Builder {
  readonly name: string;
  /** Names users may give in hop3.toml `[build].builder` for this builder. */
  readonly aliases: readonly string[];
  detect(ctx: BuildContext): Promise<boolean>;
  build(ctx: BuildContext): Promise<BuiltImage>;
}
