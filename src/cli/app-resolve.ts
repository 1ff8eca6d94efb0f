/**
 * Which app a command acts on (UPSTREAM.md): `--app`, then `HOP3_APP`, then a `.hop3-app` file (the directory
 * or a parent up to the git root), then `hop3.toml` `[metadata].id`, then the `hop3` git remote.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { usageError } from "../util/errors.js";

export type AppSource = "flag" | "env" | "file" | "hop3.toml" | "git-remote";

export interface ResolvedApp {
  name: string;
  source: AppSource;
  /** The file or remote the name came from, for messages. */
  from?: string;
}

export interface ResolveAppOptions {
  flag?: string;
  env?: NodeJS.ProcessEnv;
  /** Where to look for files and the git remote. */
  dir: string;
}

/**
 * The directories searched for `.hop3-app` and `hop3.toml`: `dir` and its parents up to and including the
 * git root. Outside a git work tree only `dir` itself, so a stray file in $HOME never names an app.
 */
export function searchDirs(dir: string): string[] {
  const dirs: string[] = [];
  let current = resolve(dir);
  for (;;) {
    dirs.push(current);
    if (existsSync(join(current, ".git"))) return dirs;
    const parent = dirname(current);
    if (parent === current) return [resolve(dir)];
    current = parent;
  }
}

function readIfFile(path: string): string | undefined {
  try {
    return statSync(path).isFile() ? readFileSync(path, "utf8") : undefined;
  } catch {
    return undefined;
  }
}

/** `[metadata].id` of `hop3/hop3.toml` or `hop3.toml` (that order, as the builder looks them up). */
export function appFromHop3Toml(dir: string): { name: string; from: string } | undefined {
  for (const path of [join(dir, "hop3", "hop3.toml"), join(dir, "hop3.toml")]) {
    const text = readIfFile(path);
    if (text === undefined) continue;
    try {
      const doc = parseToml(text) as { metadata?: { id?: unknown } };
      const id = doc.metadata?.id;
      if (typeof id === "string" && id.trim()) return { name: id.trim(), from: path };
    } catch {
      // An invalid hop3.toml is reported by the deploy that reads it, not by app lookup.
    }
    return undefined;
  }
  return undefined;
}

/** The app in a hop3 remote URL: `hop3@host:APP`, `ssh://hop3@host:22/APP`, with or without `.git`. */
export function appFromRemoteUrl(url: string): string | undefined {
  const trimmed = url.trim().replace(/\/+$/, "");
  let path: string | undefined;
  const scp = /^(?:[^@/]+@)?[^:/]+:(?!\/\/)(.+)$/.exec(trimmed);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    try {
      path = new URL(trimmed).pathname;
    } catch {
      return undefined;
    }
  } else if (scp) {
    path = scp[1];
  }
  if (!path) return undefined;
  const last = path.split("/").filter(Boolean).pop();
  const name = last?.replace(/\.git$/, "");
  return name || undefined;
}

export async function appFromGitRemote(dir: string): Promise<{ name: string; from: string } | undefined> {
  const res = await (await import("execa"))
    .execa("git", ["remote", "get-url", "hop3"], {
      cwd: dir,
      reject: false,
      stdin: "ignore",
    })
    .catch(() => undefined);
  if (res?.exitCode !== 0) return undefined;
  const url = String(res.stdout).trim();
  const name = appFromRemoteUrl(url);
  return name ? { name, from: url } : undefined;
}

/** Returns the app, or undefined when nothing names one. */
export async function resolveApp(opts: ResolveAppOptions): Promise<ResolvedApp | undefined> {
  const env = opts.env ?? process.env;
  if (opts.flag) return { name: opts.flag, source: "flag" };
  if (env.HOP3_APP?.trim()) return { name: env.HOP3_APP.trim(), source: "env" };
  const dirs = searchDirs(opts.dir);
  for (const d of dirs) {
    const path = join(d, ".hop3-app");
    const name = readIfFile(path)
      ?.split("\n")
      .map((l) => l.trim())
      .find((l) => l && !l.startsWith("#"));
    if (name) return { name, source: "file", from: path };
  }
  for (const d of dirs) {
    const found = appFromHop3Toml(d);
    if (found) return { ...found, source: "hop3.toml" };
  }
  const remote = await appFromGitRemote(opts.dir);
  if (remote) return { ...remote, source: "git-remote" };
  return undefined;
}

/** Like resolveApp, but a missing app is a usage error that says how to name one. */
export async function requireApp(opts: ResolveAppOptions): Promise<ResolvedApp> {
  const app = await resolveApp(opts);
  if (!app) {
    throw usageError(
      "no app given",
      "name one with --app NAME, HOP3_APP=NAME, a .hop3-app file, [metadata].id in hop3.toml, " +
        "or a git remote named hop3 (hop3@host:NAME)",
    );
  }
  return app;
}
