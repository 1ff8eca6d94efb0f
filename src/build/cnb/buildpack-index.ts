/** Finds buildpacks on disk: every directory holding a buildpack.toml, by id and version. */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Hop3Error } from "../../util/errors.js";
import { ContainedDir } from "./contained-files.js";
import { type BuildpackDescriptor, type GroupEntry, parseBuildpackToml } from "./descriptors.js";

export interface LocatedBuildpack {
  descriptor: BuildpackDescriptor;
  /** Directory on the host. */
  hostDir: string;
  /** The same directory inside the build container. */
  containerDir: string;
}

export class BuildpackIndex {
  private readonly byId = new Map<string, LocatedBuildpack[]>();

  add(bp: LocatedBuildpack): void {
    const list = this.byId.get(bp.descriptor.id) ?? [];
    if (!list.some((b) => b.descriptor.version === bp.descriptor.version)) list.push(bp);
    this.byId.set(bp.descriptor.id, list);
  }

  /** The exact version when asked, else the only (or the last found) one. */
  find(e: Pick<GroupEntry, "id" | "version">): LocatedBuildpack | undefined {
    const list = this.byId.get(e.id);
    if (!list) return undefined;
    return e.version ? list.find((b) => b.descriptor.version === e.version) : list[list.length - 1];
  }

  get(e: Pick<GroupEntry, "id" | "version">): LocatedBuildpack {
    const bp = this.find(e);
    if (!bp) {
      throw new Hop3Error(
        `buildpack ${e.id}${e.version ? `@${e.version}` : ""} is not available on this server`,
        "deployFailed",
        `known: ${[...this.byId.keys()].sort().join(", ") || "none"}`,
      );
    }
    return bp;
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }
}

const SKIP = new Set(["node_modules", ".git", "test", "tests", "fixtures"]);

/**
 * Loads the buildpack in `hostDir` (when it has a buildpack.toml) or the buildpacks below it, down to
 * `depth` levels (`<id>/<version>/buildpack.toml` layouts need 2). `untrusted` (how errors name it) marks a
 * directory an app controls (its repository, a git buildpack it names): its buildpack.toml is read without
 * following links (contained-files.ts), since a link there would resolve to a file of the server.
 */
export function scanBuildpacks(
  hostDir: string,
  containerDir: string,
  depth = 2,
  warn: (m: string) => void = () => {},
  untrusted?: string,
): LocatedBuildpack[] {
  const file = join(hostDir, "buildpack.toml");
  if (untrusted !== undefined) {
    const text = existsSync(hostDir)
      ? new ContainedDir(hostDir, untrusted).readText("buildpack.toml")
      : undefined;
    return text === undefined ? [] : [{ descriptor: parseBuildpackToml(text, file), hostDir, containerDir }];
  }
  if (existsSync(file)) {
    try {
      return [{ descriptor: parseBuildpackToml(readFileSync(file, "utf8"), file), hostDir, containerDir }];
    } catch (err) {
      warn(`skipping ${file}: ${(err as Error).message}`);
      return [];
    }
  }
  if (depth === 0 || !existsSync(hostDir) || !statSync(hostDir).isDirectory()) return [];
  const found: LocatedBuildpack[] = [];
  for (const name of readdirSync(hostDir).sort()) {
    if (SKIP.has(name) || name.startsWith(".")) continue;
    const sub = join(hostDir, name);
    if (statSync(sub).isDirectory())
      found.push(...scanBuildpacks(sub, `${containerDir}/${name}`, depth - 1, warn));
  }
  return found;
}
