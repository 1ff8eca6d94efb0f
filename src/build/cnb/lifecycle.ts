/**
 * The CNB lifecycle, platform side: detect -> restore -> build -> export -> cache, driving one build
 * container (the stack's build image) through `exec`, so each buildpack step costs an exec, not a
 * container start. Buildpacks run as the container's root, which rootless Podman maps to the unprivileged
 * hop3 user: everything they write stays readable and removable by the server.
 */

import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  cpSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, relative, sep } from "node:path";
import type Docker from "dockerode";
import { stringify } from "smol-toml";
import tar from "tar-fs";
import type { StepTimings } from "../../deploy/timings.js";
import { commitLayer } from "../../runtime/image-commit.js";
import { appLayersImageTag } from "../../runtime/labels.js";
import { hostConfigLimits, type ResourceLimits } from "../../runtime/limits.js";
import { Hop3Error } from "../../util/errors.js";
import { LineBuffer, lineSplitter } from "../../util/line-splitter.js";
import { readBuildCa } from "../build-ca.js";
import { type BuildNetwork, buildNetworkConfig } from "./build-network.js";
import { BuildpackIndex, type LocatedBuildpack, scanBuildpacks } from "./buildpack-index.js";
import {
  findBuildpackMapping,
  mapHint,
  mappingLogLine,
  parseMapTarget,
  unreachableBuildpackError,
} from "./buildpack-urls.js";
import { appCacheDir, type Restored, restoreLayers, saveLayers, unrestoreLayers } from "./cache.js";
import { ContainedDir } from "./contained-files.js";
import {
  escapeId,
  type GroupEntry,
  isValidLayerName,
  type LayerContent,
  type Order,
  type ProcessDef,
  parseDetectPlan,
  parseLaunchToml,
  parseLayerToml,
  parseOrderToml,
} from "./descriptors.js";
import { applyBuildLayer, type Env, envFromList, envList, platformEnvFiles } from "./env-rules.js";
import {
  type ExportedBuildpack,
  exportImageConfig,
  exportLabels,
  exportOwner,
  LABEL_LAYERS_DIGEST,
  mergeProcesses,
} from "./export.js";
import { LAUNCHER_PATH, LAUNCHER_SCRIPT, processScript } from "./launcher.js";
import { type BuildpackRef, expandOrder, parseBuildpacksFile, parseProjectToml } from "./order.js";
import { type Detected, type Resolved, resolvePlan } from "./plan.js";
import {
  appNpmCacheDir,
  DEFAULT_SHARED_NPM_CACHE_BYTES,
  promoteNpmBlobs,
  pruneStore,
  sharedNpmCacheDir,
} from "./shared-npm-cache.js";
import type { StackImages } from "./stack.js";

export const LIFECYCLE_VERSION = "hop3-0.1";
export const BUILDPACK_API = "0.10";
export const PLATFORM_API = "0.13";

export interface LifecycleOptions {
  docker: Docker;
  stack: StackImages;
  /** The server's buildpacks (holds order.toml). */
  buildpacksDir: string;
  /** Scratch directories of builds in progress. */
  workRoot: string;
  /** Per-app layer caches. */
  cacheRoot: string;
  /**
   * The package caches shared by all apps (shared-npm-cache.ts): mounted read-only into builds, filled by
   * the server with checked content only. Without it, every app has its own cache only.
   */
  sharedCacheRoot?: string;
  /** Cap of the shared npm store in bytes (default DEFAULT_SHARED_NPM_CACHE_BYTES). */
  sharedNpmCacheBytes?: number;
  network: BuildNetwork;
  /** Host directories from which apps may name buildpacks by absolute path (operators' buildpacks). */
  allowedBuildpackRoots?: string[];
  /** The operator's buildpack URL mappings (`hop buildpacks:map`): canonical URL -> target. */
  buildpackMaps?: () => Record<string, string>;
  /** CNB user of the stack images. */
  userId?: number;
  groupId?: number;
}

export interface AppBuildInput {
  app: string;
  release: number;
  sourceDir: string;
  tag: string;
  /** User-provided build environment (`<platform>/env/`). */
  env: Record<string, string>;
  revision?: string;
  emit: (line: string) => void;
  /** HOP3_BUILD_* limits of the build container (runtime/limits.ts). */
  limits?: ResourceLimits;
  /** The deploy's step durations: the lifecycle's steps are recorded there as sub-steps of the build. */
  timings?: StepTimings;
}

export interface BuildResult {
  tag: string;
  imageId: string;
  buildpacks: { id: string; version: string }[];
  processes: Record<string, string>;
  defaultProcess?: string;
  timings: Record<string, number>;
}

const IN = {
  workspace: "/workspace",
  layers: "/layers",
  platform: "/platform",
  tmp: "/tmp/hop3-cnb",
  buildpacks: "/cnb/buildpacks",
  extra: "/cnb/extra",
  git: "/cnb/git",
  sharedNpm: "/cnb/shared-cache/npm",
} as const;

/** What one bin/detect may print (its output file is cut there: the detect then ends on SIGPIPE, 141). */
const DETECT_OUTPUT_BYTES = 1024 * 1024;

/**
 * Runs bin/detect for each (scratch directory, buildpack directory) pair given after the platform directory,
 * all at once, and waits for them. Fixed text: what varies comes in as arguments and files, never as code.
 * Each detect's environment is the exec's plus the NUL-separated KEY=VALUE list in its directory's `env`.
 */
const DETECT_RUNNER = `platform=$1; shift
while [ $# -ge 2 ]; do
  dir=$1 bp=$2; shift 2
  (
    mapfile -d '' vars <"$dir/env"
    env "\${vars[@]}" "$bp/bin/detect" "$platform" "$dir/plan.toml" </dev/null 2>&1 | head -c ${DETECT_OUTPUT_BYTES} >"$dir/output"
    echo "\${PIPESTATUS[0]}" >"$dir/code"
  ) &
done
wait
`;

/** The lines of a text, each cut as a streamed line would be. */
function textLines(text: string): string[] {
  const lines = new LineBuffer();
  return [...lines.push(text), ...lines.end()];
}

/** An app's buildpack after the URL mappings: `server` refs name a buildpack of the server, never of the app. */
interface AppBuildpack {
  ref: BuildpackRef;
  server?: boolean;
  /** The URL a mirror stands for (for the error when the mirror cannot be fetched either). */
  mirrorOf?: string;
}

interface GroupMember {
  bp: LocatedBuildpack;
  entry: GroupEntry & { version: string };
  plan: Resolved["plan"];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** One build: a scratch directory and a build container, both removed by close(). */
/** One bin/detect: passed (0), did not apply (100), or failed (`failure`, thrown only if its group is tried). */
interface DetectResult {
  passed: boolean;
  plan: Detected["plan"];
  output: string[];
  failure?: Error;
}

export class CnbBuild {
  readonly workDir: string;
  private container?: Docker.Container;
  private baseEnv: Env = {};
  private readonly index = new BuildpackIndex();
  private order: Order = [];
  private appEnv: Env = {};
  /** Where the app listed its buildpacks (`.buildpacks` or project.toml), for log lines. */
  private refsFile = ".buildpacks";
  private restored: Restored[] = [];
  readonly timings: Record<string, number> = {};

  /** A lifecycle step's duration: kept in `timings` and given to the deploy's recorder. */
  private mark(step: string, ms: number, shown = step): void {
    this.timings[step] = ms;
    this.input.timings?.add(shown, ms, true);
  }

  constructor(
    private readonly o: LifecycleOptions,
    private readonly input: AppBuildInput,
  ) {
    this.workDir = join(o.workRoot, `${input.app}-r${input.release}-${randomBytes(4).toString("hex")}`);
  }

  private path(...p: string[]): string {
    return join(this.workDir, ...p);
  }

  private emit(line: string): void {
    this.input.emit(line);
  }

  /** Copies the source, writes the platform dir, starts the build container, resolves the order. */
  async prepare(): Promise<void> {
    const started = Date.now();
    for (const d of [
      "workspace",
      "layers",
      "platform/env",
      "tmp",
      "git",
      "cnb/lifecycle/processes",
      "cnb/process",
    ]) {
      mkdirSync(this.path(d), { recursive: true });
    }
    cpSync(this.input.sourceDir, this.path("workspace"), {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => relative(this.input.sourceDir, src) !== ".git",
    });
    // The server's buildpacks first: a name the server knows is never looked up in the URL mappings.
    for (const bp of scanBuildpacks(this.o.buildpacksDir, IN.buildpacks, 2, (m) =>
      this.emit(`warning: ${m}`),
    )) {
      this.index.add(bp);
    }
    const appRefs = this.appBuildpackRefs().map((r) => this.mapped(r));
    for (const f of platformEnvFiles({ ...this.appEnv, ...this.input.env })) {
      writeFileSync(this.path("platform", "env", f.name), f.value);
    }
    chownTreeToParent(this.o.workRoot, this.workDir);

    // the build CA as builds get it: its certificates only, a copy in this build's directory (build-ca.ts)
    let network = this.o.network;
    if (network.caFile) {
      const ca = this.path("build-ca.pem");
      writeFileSync(
        ca,
        readBuildCa(network.caFile, (m) => this.emit(m)),
        { mode: 0o644 },
      );
      network = { ...network, caFile: ca };
    }
    const net = buildNetworkConfig(network);
    const binds = [
      `${this.path("workspace")}:${IN.workspace}`,
      `${this.path("layers")}:${IN.layers}`,
      `${this.path("platform")}:${IN.platform}:ro`,
      `${this.path("tmp")}:${IN.tmp}`,
      `${this.path("git")}:${IN.git}`,
      ...net.binds,
    ];
    if (existsSync(this.o.buildpacksDir)) binds.push(`${this.o.buildpacksDir}:${IN.buildpacks}:ro`);
    // the shared npm store, read-only: a build can copy from it, never write to it
    const sharedNpm = this.o.sharedCacheRoot ? sharedNpmCacheDir(this.o.sharedCacheRoot) : undefined;
    const sharedEnv: Env = {};
    if (sharedNpm) {
      mkdirSync(join(sharedNpm, "content-v2"), { recursive: true });
      binds.push(`${sharedNpm}:${IN.sharedNpm}:ro`);
      sharedEnv.HOP3_SHARED_NPM_CACHE = IN.sharedNpm;
    }
    const extra = appRefs.flatMap((r) => (r.ref.kind === "path" ? [r.ref] : []));
    for (const [i, r] of extra.entries()) binds.push(`${this.allowedPath(r.path)}:${IN.extra}/${i}:ro`);

    const info = await this.o.docker.getImage(this.o.stack.build).inspect();
    this.baseEnv = { ...envFromList(info.Config?.Env), ...net.env, ...sharedEnv };
    const name = `hop3-cnb-${this.input.app}-r${this.input.release}-${randomBytes(3).toString("hex")}`;
    this.container = await this.o.docker.createContainer({
      name,
      Image: this.o.stack.build,
      Cmd: ["/bin/sh", "-c", `${net.setup ? `${net.setup}; ` : ""}exec sleep infinity`],
      Env: envList(net.env),
      User: "0:0",
      WorkingDir: IN.workspace,
      Labels: { "io.hop3.role": "cnb-build", "io.hop3.app": this.input.app },
      HostConfig: { Binds: binds, Init: true, AutoRemove: false, ...hostConfigLimits(this.input.limits) },
    });
    await this.container.start();

    // The app's own buildpacks form the only group when given.
    if (appRefs.length > 0) {
      const group: GroupEntry[] = [];
      let extraN = 0;
      let gitN = 0;
      for (const ref of appRefs) {
        const found = await this.locate(
          ref,
          () => extraN++,
          () => gitN++,
        );
        for (const bp of found) this.index.add(bp);
        group.push({ id: found[0]!.descriptor.id, version: found[0]!.descriptor.version, optional: false });
      }
      this.order = [group];
      this.emit(`Using the app's buildpacks: ${group.map((g) => g.id).join(", ")}`);
    } else {
      const orderFile = join(this.o.buildpacksDir, "order.toml");
      if (!existsSync(orderFile)) {
        throw new Hop3Error(`no buildpack order on this server (${orderFile} is missing)`, "deployFailed");
      }
      this.order = parseOrderToml(readFileSync(orderFile, "utf8"), orderFile);
    }
    this.order = expandOrder(this.order, (e) => this.index.find(e)?.descriptor);
    this.mark("prepare", Date.now() - started);
  }

  /** `.buildpacks` (one per line) or project.toml's [[io.buildpacks.group]]. */
  private appBuildpackRefs(): BuildpackRef[] {
    const ws = new ContainedDir(this.path("workspace"), "the app");
    const list = ws.readText(".buildpacks");
    if (list !== undefined) return parseBuildpacksFile(list, ".buildpacks");
    const project = ws.readText("project.toml");
    if (project !== undefined) {
      this.refsFile = "project.toml";
      const p = parseProjectToml(project, "project.toml");
      this.appEnv = p.env;
      return p.refs;
    }
    return [];
  }

  /**
   * Applies the URL mappings (buildpack-urls.ts): a git URL or a registry name (`heroku/nodejs`) that the app
   * does not ship and the server does not have becomes the buildpack, directory or mirror it is mapped to, and
   * the build log says so.
   */
  private mapped(ref: BuildpackRef): AppBuildpack {
    let name: string;
    if (ref.kind === "git") name = ref.url;
    else if (ref.kind === "local") {
      const own = existsSync(join(this.path("workspace"), ref.name, "buildpack.toml"));
      if (own || this.index.find({ id: ref.name, ...(ref.version ? { version: ref.version } : {}) }))
        return { ref };
      name = ref.name;
    } else return { ref };
    const m = findBuildpackMapping(name, this.o.buildpackMaps?.() ?? {});
    if (!m) return { ref };
    const shown =
      ref.kind === "git"
        ? `${ref.url}${ref.ref ? `#${ref.ref}` : ""}`
        : `${ref.name}${ref.version ? `@${ref.version}` : ""}`;
    this.emit(mappingLogLine(this.refsFile, shown, m));
    const t = parseMapTarget(m.target);
    switch (t.kind) {
      case "id":
        return {
          ref: { kind: "local", name: t.id, ...(t.version ? { version: t.version } : {}) },
          server: true,
        };
      case "path":
        return { ref: { kind: "path", path: t.path } };
      case "url": {
        // a mirror of a pinned URL is fetched at the same ref unless the mapping pins its own
        const pinned = t.ref ?? (ref.kind === "git" ? ref.ref : undefined);
        return { ref: { kind: "git", url: t.url, ...(pinned ? { ref: pinned } : {}) }, mirrorOf: name };
      }
    }
  }

  private allowedPath(path: string): string {
    const real = existsSync(path) ? realpathSync(path) : undefined;
    const roots = [this.o.buildpacksDir, ...(this.o.allowedBuildpackRoots ?? [])]
      .filter((r) => existsSync(r))
      .map((r) => realpathSync(r));
    if (!real || !roots.some((r) => real === r || real.startsWith(`${r}${sep}`))) {
      throw new Hop3Error(
        `buildpack path ${path} is not in a directory the operator allows`,
        "deployFailed",
        `allowed: ${roots.join(", ") || "none"} (HOP3_BUILDPACKS_PATHS)`,
      );
    }
    return real;
  }

  private async locate(
    { ref, server, mirrorOf }: AppBuildpack,
    nextExtra: () => number,
    nextGit: () => number,
  ): Promise<LocatedBuildpack[]> {
    const one = (found: LocatedBuildpack[], what: string): LocatedBuildpack[] => {
      if (found.length === 0) throw new Hop3Error(`${what} holds no buildpack.toml`, "deployFailed");
      return found;
    };
    switch (ref.kind) {
      case "path":
        return one(scanBuildpacks(this.allowedPath(ref.path), `${IN.extra}/${nextExtra()}`, 0), ref.path);
      case "git": {
        const n = nextGit();
        this.emit(`Fetching buildpack ${ref.url}${ref.ref ? `#${ref.ref}` : ""}`);
        const code = await this.exec(
          [
            "git",
            "clone",
            "--quiet",
            "--depth",
            "1",
            ...(ref.ref ? ["--branch", ref.ref] : []),
            "--",
            ref.url,
            `${IN.git}/${n}`,
          ],
          this.baseEnv,
          (l) => this.emit(`       ${l}`),
        );
        if (code !== 0) {
          if (mirrorOf) {
            throw new Hop3Error(
              `cannot fetch buildpack ${ref.url}, the mirror mapped for ${mirrorOf} (git exited with ${code})`,
              "deployFailed",
              `check the mirror, or map ${mirrorOf} elsewhere: hop buildpacks:map ${mirrorOf} TARGET`,
            );
          }
          throw unreachableBuildpackError(ref.url, `git exited with ${code}`, this.index.ids());
        }
        const fetched = scanBuildpacks(this.path("git", String(n)), `${IN.git}/${n}`, 0, undefined, ref.url);
        if (fetched.length === 0) {
          // typically a classic Heroku buildpack (bin/compile): not something the CNB lifecycle runs
          throw new Hop3Error(
            `${ref.url} holds no buildpack.toml: it is not a Cloud Native Buildpack (a classic Heroku buildpack?)`,
            "deployFailed",
            mapHint(mirrorOf ?? ref.url, this.index.ids()),
          );
        }
        return fetched;
      }
      case "local": {
        const dir = join(this.path("workspace"), ref.name);
        if (!server && existsSync(join(dir, "buildpack.toml"))) {
          const real = realpathSync(dir);
          const ws = realpathSync(this.path("workspace"));
          if (!real.startsWith(`${ws}${sep}`))
            throw new Hop3Error(`${ref.name} points outside the app`, "deployFailed");
          return one(
            scanBuildpacks(
              real,
              `${IN.workspace}/${relative(ws, real).split(sep).join("/")}`,
              0,
              undefined,
              ref.name,
            ),
            ref.name,
          );
        }
        return [this.index.get({ id: ref.name, ...(ref.version ? { version: ref.version } : {}) })];
      }
    }
  }

  /** Runs a command in the build container, streaming its output; answers the exit code. */
  private async exec(cmd: string[], env: Env, onLine: (l: string) => void): Promise<number> {
    const exec = await this.container!.exec({
      Cmd: cmd,
      Env: envList(env),
      WorkingDir: IN.workspace,
      AttachStdout: true,
      AttachStderr: true,
      User: "0:0",
    });
    const stream = (await exec.start({ hijack: true, stdin: false })) as NodeJS.ReadableStream;
    const out = lineSplitter(onLine);
    this.o.docker.modem.demuxStream(stream, out, out);
    await new Promise<void>((resolve) => {
      stream.on("end", () => resolve());
      stream.on("close", () => resolve());
      stream.on("error", () => resolve());
    });
    out.flush();
    for (let i = 0; i < 100; i++) {
      const info = await exec.inspect();
      if (!info.Running && info.ExitCode !== null) return info.ExitCode;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Hop3Error(`lost track of ${cmd[0]} in the build container`, "deployFailed");
  }

  private cnbEnv(bp: LocatedBuildpack): Env {
    const userEnv = bp.descriptor.clearEnv ? {} : { ...this.appEnv, ...this.input.env };
    return {
      ...userEnv,
      CNB_BUILDPACK_DIR: bp.containerDir,
      CNB_PLATFORM_DIR: IN.platform,
      CNB_STACK_ID: this.o.stack.stackId,
      CNB_TARGET_OS: "linux",
      CNB_TARGET_ARCH: process.arch === "arm64" ? "arm64" : "amd64",
      CNB_TARGET_DISTRO_NAME: "debian",
      CNB_TARGET_DISTRO_VERSION: "12",
    };
  }

  /** Tries the order's groups; the first whose buildpacks pass detection with a consistent plan wins. */
  async detect(): Promise<GroupMember[]> {
    const started = Date.now();
    // The buildpacks of a group detect at once (the platform spec lets detection run in parallel): each is a
    // short exec in the same build container, ~0.1 s apiece one after the other. Groups are still tried in
    // order, so a later group's buildpacks run only when an earlier group failed. A detect that fails (not
    // "does not apply") is kept as its result and thrown where the walk below reaches it, with its output.
    const results = new Map<string, DetectResult>();
    const keyOf = (bp: LocatedBuildpack) => `${bp.descriptor.id}@${bp.descriptor.version}`;
    let n = 0;
    const startGroup = async (group: (typeof this.order)[number]) => {
      const todo: LocatedBuildpack[] = [];
      for (const entry of group) {
        const bp = this.index.find(entry);
        if (bp && !results.has(keyOf(bp)) && !todo.includes(bp)) todo.push(bp);
      }
      if (todo.length === 0) return;
      const done = await this.detectBatch(todo, n).catch((err: unknown) =>
        todo.map(() => ({
          passed: false,
          plan: [],
          output: [],
          failure: err instanceof Error ? err : new Error(String(err)),
        })),
      );
      n += todo.length;
      for (const [i, bp] of todo.entries()) results.set(keyOf(bp), done[i]!);
    };
    const reasons: string[] = [];
    for (const group of this.order) {
      await startGroup(group);
      const passed: (Detected & { bp: LocatedBuildpack; output: string[] })[] = [];
      let failed = false;
      for (const entry of group) {
        const bp = this.index.find(entry);
        if (!bp) {
          if (entry.optional) continue;
          reasons.push(`${entry.id} is not available`);
          failed = true;
          break;
        }
        const r = results.get(keyOf(bp))!;
        if (r.failure) {
          for (const l of r.output) this.emit(l);
          throw r.failure;
        }
        if (r.passed) {
          passed.push({
            entry: { ...entry, version: bp.descriptor.version },
            plan: r.plan,
            bp,
            output: r.output,
          });
        } else if (!entry.optional) {
          failed = true;
          break;
        }
      }
      if (failed || passed.length === 0) continue;
      const resolution = resolvePlan(passed);
      if (!resolution.ok) {
        reasons.push(resolution.reason);
        continue;
      }
      this.mark("detect", Date.now() - started);
      const members = resolution.group.map((g) => {
        const d = passed.find((p) => p.entry.id === g.entry.id)!;
        for (const l of d.output) this.emit(l);
        return { bp: d.bp, entry: g.entry, plan: g.plan };
      });
      this.emit(
        `Buildpacks: ${members.map((m) => `${m.entry.id}@${m.entry.version}`).join(", ")} (detected in ${seconds(this.timings.detect ?? 0)})`,
      );
      return members;
    }
    const tried = [...new Set(this.order.flat().map((e) => e.id))].join(", ");
    throw new Hop3Error(
      `no buildpack recognised this app: tried ${tried || "no buildpacks"}${reasons.length ? ` (${[...new Set(reasons)].join("; ")})` : ""}`,
      "deployFailed",
      "add a Containerfile, a Procfile or the files of a supported language (package.json, requirements.txt, go.mod, index.html), or list buildpacks in .buildpacks",
    );
  }

  /**
   * The bin/detect of several buildpacks, side by side in one exec (DETECT_RUNNER): a Podman exec costs a
   * round of API calls (create, start, attach, inspect) that took longer than most detects themselves, one
   * per buildpack. Each detect gets the environment it would get alone (the build's, then its own from a
   * NUL-separated file the platform writes, never a shell string), its own plan file, and its output and exit
   * code in its own scratch directory, read back as contained files (the buildpack may have replaced them).
   */
  private async detectBatch(bps: LocatedBuildpack[], first: number): Promise<DetectResult[]> {
    const dirs = bps.map((bp, i) => {
      const dir = `detect-${first + i}`;
      mkdirSync(this.path("tmp", dir), { recursive: true });
      writeFileSync(this.path("tmp", dir, "plan.toml"), "");
      const env = { ...this.cnbEnv(bp), CNB_BUILD_PLAN_PATH: `${IN.tmp}/${dir}/plan.toml` };
      writeFileSync(
        this.path("tmp", dir, "env"),
        Object.entries(env)
          .map(([k, v]) => `${k}=${v}\0`)
          .join(""),
      );
      chownTreeToParent(this.o.workRoot, this.path("tmp", dir));
      return dir;
    });
    const args = bps.flatMap((bp, i) => [`${IN.tmp}/${dirs[i]}`, bp.containerDir]);
    await this.exec(["/bin/bash", "-c", DETECT_RUNNER, "detect", IN.platform, ...args], this.baseEnv, (l) =>
      this.emit(l),
    );
    const tmp = new ContainedDir(this.path("tmp"), "buildpack detection");
    return bps.map((bp, i) => {
      const dir = dirs[i]!;
      const output = textLines(tmp.readText(`${dir}/output`, DETECT_OUTPUT_BYTES + 1) ?? "");
      const codeText = tmp.readText(`${dir}/code`, 16)?.trim() ?? "";
      const code = /^[0-9]{1,3}$/.test(codeText) ? Number(codeText) : undefined;
      if (code !== 0 && code !== 100) {
        // thrown where the detection walk reaches this buildpack, with what it printed
        const why =
          code === undefined
            ? "bin/detect did not finish"
            : `bin/detect failed with exit code ${code}${code === 141 ? ` (it printed more than ${DETECT_OUTPUT_BYTES} bytes)` : ""}`;
        const failure = new Hop3Error(`buildpack ${bp.descriptor.id}: ${why}`, "deployFailed");
        return { passed: false, plan: [], output, failure };
      }
      const plan =
        code === 0
          ? parseDetectPlan(
              new ContainedDir(this.path("tmp"), `buildpack ${bp.descriptor.id}`).readText(
                `${dir}/plan.toml`,
              ) ?? "",
              `${bp.descriptor.id} build plan`,
            )
          : [];
      return { passed: code === 0, plan, output };
    });
  }

  /** Runs each buildpack's bin/build in order; later buildpacks see earlier build layers. */
  async build(group: GroupMember[]): Promise<{
    exported: ExportedBuildpack[];
    launch: ReturnType<typeof mergeProcesses>;
    labels: Env;
    cached: Map<string, string[]>;
  }> {
    let env: Env = { ...this.baseEnv };
    const exported: ExportedBuildpack[] = [];
    const perBp: { buildpackId: string; processes: ProcessDef[] }[] = [];
    const labels: Env = {};
    const cached = new Map<string, string[]>();
    const cacheDir = appCacheDir(this.o.cacheRoot, this.input.app);
    for (const [i, m] of group.entries()) {
      const started = Date.now();
      const esc = escapeId(m.entry.id);
      const hostLayers = this.path("layers", esc);
      mkdirSync(hostLayers, { recursive: true });
      const restored = restoreLayers(join(cacheDir, esc), hostLayers);
      this.restored.push(...restored);
      if (restored.length > 0)
        this.emit(`Restored from cache (${m.entry.id}): ${restored.map((r) => r.layer).join(", ")}`);
      const planDir = `build-${i}`;
      mkdirSync(this.path("tmp", planDir), { recursive: true });
      writeFileSync(
        this.path("tmp", planDir, "plan.toml"),
        stringify({
          entries: m.plan.map((p) => ({ name: p.name, ...(p.metadata ? { metadata: p.metadata } : {}) })),
        }),
      );
      chownTreeToParent(this.o.workRoot, this.path("tmp", planDir));
      chownTreeToParent(this.o.workRoot, hostLayers);
      const planPath = `${IN.tmp}/${planDir}/plan.toml`;
      const layersDir = `${IN.layers}/${esc}`;
      const bpEnv = { ...env, ...this.cnbEnv(m.bp), CNB_LAYERS_DIR: layersDir, CNB_BP_PLAN_PATH: planPath };
      const code = await this.exec(
        [`${m.bp.containerDir}/bin/build`, layersDir, IN.platform, planPath],
        bpEnv,
        (l) => this.emit(l),
      );
      if (code !== 0) {
        throw new Hop3Error(
          `buildpack ${m.entry.id} failed: bin/build exited with code ${code}`,
          "deployFailed",
        );
      }
      // What the buildpack wrote is read without following any link it made (contained-files.ts).
      const written = new ContainedDir(this.path("layers"), `buildpack ${m.entry.id}`);
      const layers = readLayers(written, esc, m.entry.id);
      for (const [name, l] of Object.entries(layers)) {
        if (l.types.build)
          env = applyBuildLayer(env, layerSnapshot(written, `${esc}/${name}`, `${layersDir}/${name}`));
      }
      const launchText = written.readText(`${esc}/launch.toml`);
      if (launchText !== undefined) {
        const launch = parseLaunchToml(launchText, `${m.entry.id} launch.toml`);
        perBp.push({ buildpackId: m.entry.id, processes: launch.processes });
        for (const l of launch.labels) labels[l.key] = l.value;
      }
      const launchLayers = Object.fromEntries(
        Object.entries(layers).filter(([name, l]) => l.types.launch && existsSync(join(hostLayers, name))),
      );
      exported.push({
        id: m.entry.id,
        version: m.entry.version,
        ...(m.bp.descriptor.homepage ? { homepage: m.bp.descriptor.homepage } : {}),
        layers: launchLayers,
      });
      cached.set(
        esc,
        Object.entries(layers)
          .filter(([, l]) => l.types.cache)
          .map(([name]) => name),
      );
      this.mark(`build:${m.entry.id}`, Date.now() - started, `buildpack ${m.entry.id}`);
      this.emit(`       ${m.entry.id} done in ${seconds(Date.now() - started)}`);
    }
    // Files a buildpack extracted with foreign owners would be unreadable or undeletable on the host.
    await this.exec(["chown", "-R", "0:0", IN.layers, IN.workspace], this.baseEnv, (l) => this.emit(l));
    // Nothing of the build may still run while the host packs and caches its files: a process a buildpack
    // left behind could swap a checked file for a link to a platform file between the check and the read.
    await this.container!.stop({ t: 0 }).catch(() => {});
    return { exported, launch: mergeProcesses(perBp), labels, cached };
  }

  /** Writes the launcher and process scripts, then builds the app image on the run image. */
  async export(
    built: Awaited<ReturnType<CnbBuild["build"]>>,
  ): Promise<{ imageId: string; processes: Record<string, string>; defaultProcess?: string }> {
    const started = Date.now();
    const { launch } = built;
    const uid = this.o.userId ?? 1000;
    const gid = this.o.groupId ?? 1000;
    const lifecycleDir = this.path("cnb", "lifecycle");
    writeFileSync(join(lifecycleDir, "launcher"), LAUNCHER_SCRIPT);
    chmodSync(join(lifecycleDir, "launcher"), 0o755);
    const layerPaths = built.exported.flatMap((b) =>
      Object.keys(b.layers)
        .sort()
        .map((l) => `${IN.layers}/${escapeId(b.id)}/${l}`),
    );
    writeFileSync(join(lifecycleDir, "layers"), layerPaths.map((p) => `${p}\n`).join(""));
    if (launch.defaultProcess)
      writeFileSync(join(lifecycleDir, "default-process"), `${launch.defaultProcess}\n`);
    const processes: Record<string, string> = {};
    for (const p of launch.processes) {
      writeFileSync(join(lifecycleDir, "processes", p.type), processScript(p));
      symlinkSync(LAUNCHER_PATH, this.path("cnb", "process", p.type));
      processes[p.type] = [...p.command, ...p.args].join(" ");
    }
    const input = {
      runImage: this.o.stack.run,
      stackId: this.o.stack.stackId,
      userId: uid,
      groupId: gid,
      buildpacks: built.exported,
      processes: launch.processes,
      ...(launch.defaultProcess ? { defaultProcess: launch.defaultProcess } : {}),
      labels: built.labels,
      app: this.input.app,
      release: this.input.release,
      ...(this.input.revision ? { revision: this.input.revision } : {}),
      lifecycleVersion: LIFECYCLE_VERSION,
    };
    const keep = new Map(built.exported.map((b) => [escapeId(b.id), new Set(Object.keys(b.layers))]));
    const keepLayer = (name: string) => {
      const rel = relative(this.workDir, name).split(sep);
      if (rel[0] !== "layers" || rel.length === 1) return true;
      const layers = keep.get(rel[1]!);
      if (!layers || layers.size === 0) return false;
      return rel.length === 2 || layers.has(rel[2]!);
    };
    const pack = (top: string[], filter: (name: string) => boolean, forDigest = false) =>
      tar.pack(this.workDir, {
        entries: top.filter((t) => existsSync(this.path(t))),
        ignore: (name) => !filter(name),
        // entries in name order, so that the same files always make the same tar (and digest)
        ...({ sort: true } as object),
        map: (header) => {
          Object.assign(header, exportOwner(header.name, input));
          // The digest is of names, owners, modes, links and contents: buildpacks rewrite unchanged files
          // (env files, `ln -sfn`) at every build. The image keeps the times the files had.
          if (forDigest) header.mtime = new Date(0);
          return header;
        },
      }) as unknown as NodeJS.ReadableStream;

    // 1. The launch layers on the run image, as the app's layers image, reused while their files are the same
    //    (node_modules unchanged: only the app's own files are written below). The digest covers every byte
    //    of them, so the layers image of another app with the same digest is as good as a new one: it is
    //    tagged for this app instead (a new app with the same dependencies as another writes nothing).
    const runImageId = (await this.o.docker.getImage(this.o.stack.run).inspect()).Id;
    const digest = await sha256Of(pack(["layers"], keepLayer, true), `${runImageId}\n${uid}:${gid}\n`);
    const layersTag = appLayersImageTag(this.input.app);
    const existing = await this.o.docker
      .getImage(layersTag)
      .inspect()
      .catch(() => undefined);
    let reused: "app" | "other app" | undefined =
      existing?.Config?.Labels?.[LABEL_LAYERS_DIGEST] === digest ? "app" : undefined;
    // Which layers image has which digest is the server's own record (image ids, which name their content),
    // never a label an image could claim: a hostile image labelled with another app's digest is not found.
    const index = this.o.sharedCacheRoot ? join(this.o.sharedCacheRoot, "cnb-layers") : undefined;
    if (!reused && index) {
      const id = readLayersIndex(index, digest);
      const other = id
        ? await this.o.docker
            .getImage(id)
            .inspect()
            .catch(() => undefined)
        : undefined;
      if (other?.Config?.Labels?.[LABEL_LAYERS_DIGEST] === digest) {
        const colon = layersTag.lastIndexOf(":");
        await this.o.docker
          .getImage(other.Id)
          .tag({ repo: layersTag.slice(0, colon), tag: layersTag.slice(colon + 1) });
        reused = "other app";
      }
    }
    if (!reused) {
      const id = await commitLayer(this.o.docker, {
        base: this.o.stack.run,
        namePrefix: `hop3-cnb-export-${this.input.app}-r${this.input.release}`,
        tar: pack(["layers"], keepLayer),
        config: {},
        labels: { "io.hop3.role": "", [LABEL_LAYERS_DIGEST]: digest },
        containerOnlyLabels: { "io.hop3.role": "cnb-build" },
        tag: layersTag,
      });
      if (index) writeLayersIndex(index, digest, id);
    }
    this.mark("export:layers", Date.now() - started, reused ? "launch layers (reused)" : "launch layers");
    // 2. The app and the launcher on top, with the image's configuration and labels.
    await commitLayer(this.o.docker, {
      base: layersTag,
      namePrefix: `hop3-cnb-export-${this.input.app}-r${this.input.release}`,
      tar: pack(["workspace", "cnb"], () => true),
      config: exportImageConfig(input),
      labels: { ...exportLabels(input), [LABEL_LAYERS_DIGEST]: "" },
      containerOnlyLabels: { "io.hop3.role": "cnb-build" },
      tag: this.input.tag,
    });
    const imageId = (await this.o.docker.getImage(this.input.tag).inspect()).Id;
    this.mark("export", Date.now() - started);
    this.emit(
      `Exported ${this.input.tag} in ${seconds(this.timings.export ?? 0)}${reused === "app" ? " (launch layers unchanged, reused)" : reused ? " (launch layers the same as another app's, shared)" : ""}`,
    );
    return {
      imageId,
      processes,
      ...(launch.defaultProcess ? { defaultProcess: launch.defaultProcess } : {}),
    };
  }

  saveCache(cached: Map<string, string[]>): void {
    const cacheDir = appCacheDir(this.o.cacheRoot, this.input.app);
    mkdirSync(cacheDir, { recursive: true });
    for (const [esc, layers] of cached) saveLayers(this.path("layers", esc), join(cacheDir, esc), layers);
    this.restored = [];
  }

  /**
   * Offers the packages this build downloaded to the other apps: each blob of its saved npm cache enters the
   * shared store only if its sha512 is its name (shared-npm-cache.ts). Never fails the build.
   */
  shareCache(): void {
    if (!this.o.sharedCacheRoot) return;
    const from = appNpmCacheDir(appCacheDir(this.o.cacheRoot, this.input.app));
    if (!existsSync(from)) return;
    const started = Date.now();
    const store = sharedNpmCacheDir(this.o.sharedCacheRoot);
    try {
      const r = promoteNpmBlobs(from, store);
      if (r.promoted > 0) {
        const { bytes, removed } = pruneStore(
          store,
          this.o.sharedNpmCacheBytes ?? DEFAULT_SHARED_NPM_CACHE_BYTES,
        );
        this.emit(
          `Shared package cache: ${r.promoted} new npm packages (${(bytes / 1024 / 1024).toFixed(0)} MiB in all${removed ? `, ${removed} old ones removed` : ""})`,
        );
      }
      if (r.rejected > 0)
        this.emit(`warning: ${r.rejected} files of the npm cache are not what their names say: not shared`);
    } catch (err) {
      this.emit(`warning: the shared package cache was not updated: ${(err as Error).message}`);
    }
    this.input.timings?.add("cache share", Date.now() - started, true);
  }

  async close(): Promise<void> {
    if (this.restored.length > 0) unrestoreLayers(this.restored);
    if (this.container) await this.container.remove({ force: true }).catch(() => {});
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

/**
 * `<layer>.toml` files of a buildpack's layers dir `esc` (launch.toml, build.toml and store.toml are not
 * layers), read through `written` (never following a link the buildpack made).
 */
function readLayers(written: ContainedDir, esc: string, bpId: string): Record<string, LayerContent> {
  const out: Record<string, LayerContent> = {};
  for (const entry of written.list(esc) ?? []) {
    const file = entry.name;
    if (!file.endsWith(".toml") || ["launch.toml", "build.toml", "store.toml"].includes(file)) continue;
    const name = file.slice(0, -5);
    if (!isValidLayerName(name))
      throw new Hop3Error(`buildpack ${bpId}: invalid layer name ${JSON.stringify(name)}`, "deployFailed");
    out[name] = parseLayerToml(written.readText(`${esc}/${file}`) ?? "", `${bpId} ${file}`);
  }
  return out;
}

/**
 * What a build layer changes in the environment of later buildpacks. The env files' values are read on the
 * host, through `written`: a link among them fails the build (contained-files.ts). bin/, lib/... only
 * name paths inside the container, so a link there is harmless and counts as present.
 */
function layerSnapshot(written: ContainedDir, rel: string, containerPath: string) {
  const entries = written.list(rel) ?? [];
  const has = (d: string) => entries.some((e) => e.name === d && (e.isDirectory() || e.isSymbolicLink()));
  const files = (sub: string) =>
    (written.list(`${rel}/${sub}`) ?? [])
      .filter((e) => !e.isDirectory()) // env.launch/<process>/ directories are for the launcher
      .map((e) => ({ name: e.name, value: written.readText(`${rel}/${sub}/${e.name}`) ?? "" }));
  return {
    path: containerPath,
    dirs: { bin: has("bin"), lib: has("lib"), include: has("include"), pkgconfig: has("pkgconfig") },
    env: files("env"),
    envBuild: files("env.build"),
  };
}

/**
 * When Hop3 runs as root (installer, tests), what it writes for a build container must belong to the
 * user whose rootless Podman runs it: the owner of the work root.
 */
/** The id of the layers image the server committed for a digest (`<shared cache>/cnb-layers/<digest>`). */
function readLayersIndex(dir: string, digest: string): string | undefined {
  try {
    const id = readFileSync(join(dir, digest), "utf8").trim();
    return /^(sha256:)?[0-9a-f]{64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

function writeLayersIndex(dir: string, digest: string, id: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, digest), `${id}\n`);
  } catch {
    // only a later app with the same layers misses the sharing
  }
}

/** sha256 of `prefix` then everything `stream` yields, in hex. */
function sha256Of(stream: NodeJS.ReadableStream, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256").update(prefix);
    stream.on("data", (chunk: Buffer) => hash.update(chunk));
    stream.on("error", reject);
    stream.on("end", () => resolve(hash.digest("hex")));
  });
}

export function chownTreeToParent(parent: string, dir: string): void {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = statSync(parent);
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.uid !== uid || st.gid !== gid) lchownSync(p, uid, gid);
    if (st.isDirectory()) for (const c of readdirSync(p)) walk(join(p, c));
  };
  walk(dir);
}

/** The whole lifecycle for one app build. */
export async function runLifecycle(o: LifecycleOptions, input: AppBuildInput): Promise<BuildResult> {
  mkdirSync(o.workRoot, { recursive: true });
  mkdirSync(o.cacheRoot, { recursive: true });
  const b = new CnbBuild(o, input);
  const started = Date.now();
  try {
    await b.prepare();
    const group = await b.detect();
    const built = await b.build(group);
    const image = await b.export(built);
    const saving = Date.now();
    b.saveCache(built.cached);
    input.timings?.add("cache save", Date.now() - saving, true);
    b.shareCache();
    b.timings.total = Date.now() - started;
    input.emit(`Built with buildpacks in ${seconds(b.timings.total)}`);
    return {
      tag: input.tag,
      imageId: image.imageId,
      buildpacks: group.map((m) => ({ id: m.entry.id, version: m.entry.version })),
      processes: image.processes,
      ...(image.defaultProcess ? { defaultProcess: image.defaultProcess } : {}),
      timings: b.timings,
    };
  } finally {
    await b.close();
  }
}

/** Detection only (the builder's detect()): prepare, detect, clean up. */
export async function detectOnly(
  o: LifecycleOptions,
  input: Omit<AppBuildInput, "tag">,
): Promise<{ id: string; version: string }[] | undefined> {
  mkdirSync(o.workRoot, { recursive: true });
  const b = new CnbBuild(o, { ...input, tag: "unused" });
  try {
    await b.prepare();
    return (await b.detect()).map((m) => ({ id: m.entry.id, version: m.entry.version }));
  } catch (err) {
    if (err instanceof Hop3Error && err.message.startsWith("no buildpack recognised")) return undefined;
    throw err;
  } finally {
    await b.close();
  }
}
