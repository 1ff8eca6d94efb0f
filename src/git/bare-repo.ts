/**
 * The bare repository that receives an app's pushes, at $HOP3_ROOT/git/<app>.git, and its pre-receive hook.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { Hop3Error } from "../util/errors.js";

const execFileAsync = promisify(execFile);

export const repoPath = (root: string, app: string) => join(root, "git", `${app}.git`);

/**
 * Deletions are refused (the hook refuses them too, with a message); force pushes are allowed, as on Heroku,
 * and the reflog keeps what they replace.
 */
export const REPO_CONFIG: ReadonlyArray<readonly [string, string]> = [
  ["receive.denyDeletes", "true"],
  ["receive.denyNonFastForwards", "false"],
  ["core.logAllRefUpdates", "always"],
];

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The hook only hands over to Node: the logic lives in pre-receive.js next to the git shell that installs it. */
export function renderPreReceiveHook(nodePath: string, hookScript: string): string {
  return [
    "#!/bin/sh",
    "# Installed by Hop3 at every push; deploys the pushed branch through the Hop3 server.",
    `exec ${shellQuote(nodePath)} ${shellQuote(hookScript)}`,
    "",
  ].join("\n");
}

/**
 * Bound of one push's pack (git's own `receive.maxInputSize`): git refuses a larger pack before writing it.
 * The same bound as an upload (HOP3_MAX_UPLOAD), since the pushed tree is then sent to the server as one.
 */
export const DEFAULT_MAX_PUSH_BYTES = 512 * 1024 * 1024;

/** The config of the repository: written at every push, so existing repositories get new keys too. */
export const repoConfig = (
  maxPushBytes = DEFAULT_MAX_PUSH_BYTES,
): ReadonlyArray<readonly [string, string]> => [
  ...REPO_CONFIG,
  ["receive.maxInputSize", String(maxPushBytes)],
];

/** Creates the repository on first push and (re)installs the hook, so a Hop3 upgrade takes effect at the next push. */
export async function ensureBareRepo(
  repo: string,
  hookContent: string,
  maxPushBytes = DEFAULT_MAX_PUSH_BYTES,
): Promise<void> {
  if (!existsSync(join(repo, "HEAD"))) {
    await mkdir(repo, { recursive: true, mode: 0o750 });
    await git(["init", "--bare", "--quiet", "--initial-branch=main", repo]);
  }
  for (const [key, value] of repoConfig(maxPushBytes)) await git(["--git-dir", repo, "config", key, value]);
  const hooks = join(repo, "hooks");
  await mkdir(hooks, { recursive: true });
  const hook = join(hooks, "pre-receive");
  const tmp = `${hook}.${process.pid}.tmp`;
  await writeFile(tmp, hookContent, { mode: 0o755 });
  await chmod(tmp, 0o755);
  await rename(tmp, hook);
}

async function git(args: string[]): Promise<void> {
  try {
    await execFileAsync("git", args, { env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Hop3Error(
      `cannot prepare the app's repository: git ${args[0]}: ${(e.stderr || e.message).trim()}`,
    );
  }
}
