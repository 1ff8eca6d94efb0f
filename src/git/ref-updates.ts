/**
 * What a push asks for (the pre-receive hook's `old new ref` lines) and which part of it Hop3 deploys.
 * One branch is deployed; everything else that would change the repository's meaning is refused before any ref moves.
 */
import { basename } from "node:path";
import { quoteForMessage, validateAppName } from "../app/name.js";
import { Hop3Error, usageError } from "../util/errors.js";

export interface RefUpdate {
  oldSha: string;
  newSha: string;
  ref: string;
}

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const isZero = (sha: string) => /^0+$/.test(sha);

export function parseRefUpdates(text: string): RefUpdate[] {
  const updates: RefUpdate[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const [oldSha, newSha, ref, ...rest] = line.trim().split(" ");
    if (!oldSha || !newSha || !ref || rest.length || !SHA.test(oldSha) || !SHA.test(newSha)) {
      throw new Hop3Error(`unexpected input from git receive-pack: ${quoteForMessage(line)}`);
    }
    updates.push({ oldSha, newSha, ref });
  }
  return updates;
}

/** HOP3_DEPLOY_BRANCH when set, else `main` or `master` (Heroku's rule). */
export function deployBranches(env: NodeJS.ProcessEnv = process.env): string[] {
  const branch = env.HOP3_DEPLOY_BRANCH?.trim();
  if (!branch) return ["main", "master"];
  if (!/^[A-Za-z0-9._/-]+$/.test(branch) || branch.includes("..") || branch.startsWith("/")) {
    throw new Hop3Error(`HOP3_DEPLOY_BRANCH is not a usable branch name: ${quoteForMessage(branch)}`);
  }
  return [branch];
}

const describeBranches = (branches: readonly string[]) => `the branch ${branches.join(" or ")}`;

/**
 * Returns the update to deploy, or undefined for a push of tags only (stored, nothing deployed).
 * Throws a usage error for deletions, other branches and other refs: the whole push is then refused.
 */
export function selectDeployUpdate(
  updates: readonly RefUpdate[],
  branches: readonly string[],
): RefUpdate | undefined {
  const deploys: RefUpdate[] = [];
  for (const u of updates) {
    const name = u.ref.replace(/^refs\/(heads|tags)\//, "");
    if (isZero(u.newSha)) {
      throw usageError(
        `deleting ${quoteForMessage(name)} is not allowed`,
        "Hop3 keeps the deployed history; push a new commit instead",
      );
    }
    if (u.ref.startsWith("refs/tags/")) continue;
    if (u.ref.startsWith("refs/heads/") && branches.includes(name)) {
      deploys.push(u);
      continue;
    }
    const target = branches[0]!;
    throw usageError(
      `Hop3 deploys only ${describeBranches(branches)}; ${quoteForMessage(name)} was not accepted`,
      `push it as the deploy branch: git push hop3 ${u.ref.startsWith("refs/heads/") ? name : "HEAD"}:${target}`,
    );
  }
  if (deploys.length > 1) {
    throw usageError(`push one deploy branch at a time, not ${deploys.map((u) => u.ref).join(" and ")}`);
  }
  return deploys[0];
}

/** The app is the repository's directory name: $HOP3_ROOT/git/<app>.git. */
export function appFromRepoDir(dir: string): string {
  const name = basename(dir.replace(/\/+$/, ""));
  if (!name.endsWith(".git")) {
    throw new Hop3Error(
      `the pre-receive hook runs in ${quoteForMessage(dir)}, not in an <app>.git repository`,
    );
  }
  return validateAppName(name.slice(0, -".git".length));
}
