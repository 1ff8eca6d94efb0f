/** The source revision a `hop deploy DIR` uploads, for the releases list. */

async function git(dir: string, args: string[]): Promise<string | undefined> {
  const res = await (await import("execa"))
    .execa("git", args, { cwd: dir, reject: false, stdin: "ignore" })
    .catch(() => undefined);
  return res && res.exitCode === 0 ? String(res.stdout).trim() : undefined;
}

/**
 * `git rev-parse HEAD` of the work tree holding `dir`, with `-dirty` when it has uncommitted or untracked
 * changes (untracked files are uploaded too, so they make the upload differ from the commit).
 * Undefined outside a work tree or before the first commit.
 */
export async function gitRevision(dir: string): Promise<string | undefined> {
  if ((await git(dir, ["rev-parse", "--is-inside-work-tree"])) !== "true") return undefined;
  const head = await git(dir, ["rev-parse", "--verify", "--quiet", "HEAD"]);
  if (!head) return undefined;
  const status = await git(dir, ["status", "--porcelain", "--", "."]);
  return status ? `${head}-dirty` : head;
}

/** `0123abc` or `0123abc-dirty`; anything not a SHA is shown whole. */
export function shortRevision(revision: string): string {
  const m = /^([0-9a-f]{7})[0-9a-f]{33,57}(-dirty)?$/.exec(revision);
  return m ? `${m[1]}${m[2] ?? ""}` : revision;
}
