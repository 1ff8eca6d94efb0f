/** Runs the shipped buildpacks' bin/detect and bin/build on the host, the way a lifecycle would. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { parse } from "smol-toml";

export const BUILDPACKS = resolve(dirname(fileURLToPath(import.meta.url)), "../../../buildpacks");
export const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../fixtures/apps");

/** A temp app directory with the given files. */
export function makeApp(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "hop3-bp-app-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

export async function detect(bp: string, appDir: string) {
  const platform = mkdtempSync(join(tmpdir(), "hop3-bp-platform-"));
  const r = await execa(join(BUILDPACKS, bp, "bin/detect"), [], {
    cwd: appDir,
    reject: false,
    env: {
      CNB_PLATFORM_DIR: platform,
      CNB_BUILD_PLAN_PATH: join(platform, "plan.toml"),
      CNB_BUILDPACK_DIR: join(BUILDPACKS, bp),
    },
  });
  return r.exitCode;
}

export interface BuildResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  layers: string;
  launch: { processes?: Array<{ type: string; command: string[]; args?: string[]; default?: boolean }> };
}

export async function build(
  bp: string,
  appDir: string,
  opts: { layers?: string; env?: Record<string, string> } = {},
): Promise<BuildResult> {
  const layers = opts.layers ?? mkdtempSync(join(tmpdir(), "hop3-bp-layers-"));
  const platform = mkdtempSync(join(tmpdir(), "hop3-bp-platform-"));
  mkdirSync(join(platform, "env"));
  for (const [k, v] of Object.entries(opts.env ?? {})) writeFileSync(join(platform, "env", k), v);
  writeFileSync(join(platform, "plan.toml"), "");
  const r = await execa(join(BUILDPACKS, bp, "bin/build"), [], {
    cwd: appDir,
    reject: false,
    env: {
      CNB_LAYERS_DIR: layers,
      CNB_PLATFORM_DIR: platform,
      CNB_BP_PLAN_PATH: join(platform, "plan.toml"),
      CNB_BUILDPACK_DIR: join(BUILDPACKS, bp),
    },
  });
  let launch = {};
  try {
    launch = parse(readFileSync(join(layers, "launch.toml"), "utf8"));
  } catch {
    // no launch.toml: the build failed or wrote no processes
  }
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr), layers, launch };
}

export function processes(r: BuildResult): Record<string, string[]> {
  return Object.fromEntries(
    (r.launch.processes ?? []).map((p) => [p.type, [...p.command, ...(p.args ?? [])]]),
  );
}
