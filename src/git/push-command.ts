/**
 * What the forced command accepts: sshd hands the client's command over as one string
 * (SSH_ORIGINAL_COMMAND), and the only thing allowed through is a push to an app's repository.
 * The string is parsed here, never given to a shell.
 */
import { quoteForMessage, validateAppName } from "../app/name.js";
import { usageError } from "../util/errors.js";

export const ONLY_GIT_PUSH = "Hop3 only accepts git push";

const PUSH_HINT = "add the remote and push: git remote add hop3 hop3@HOST:APP && git push hop3 main";

export interface PushCommand {
  app: string;
}

/** Parses SSH_ORIGINAL_COMMAND; throws a usage error for anything but `git-receive-pack '<app>'`. */
export function parsePushCommand(original: string | undefined): PushCommand {
  if (original === undefined || original.trim() === "") {
    throw usageError(`${ONLY_GIT_PUSH}; there is no interactive login`, PUSH_HINT);
  }
  if (/[\x00-\x1f\x7f]/.test(original))
    throw usageError(`${ONLY_GIT_PUSH}; the command has control characters`);

  const match = /^git[- ](receive-pack|upload-pack|upload-archive) (.+)$/.exec(original);
  if (!match) throw usageError(`${ONLY_GIT_PUSH}, not ${quoteForMessage(original)}`, PUSH_HINT);
  if (match[1] !== "receive-pack") {
    throw usageError(`${ONLY_GIT_PUSH}; fetching and cloning are not available`, PUSH_HINT);
  }
  const path = unquote(match[2]!);
  return { app: validateAppName(appFromPath(path)) };
}

/**
 * git quotes the path with single quotes (`'app'`); app names never contain quotes, so a quoted argument is
 * one quote pair around quote-free text, and an unquoted one is a single word without shell syntax.
 */
function unquote(arg: string): string {
  if (arg.startsWith("'")) {
    if (arg.length >= 2 && arg.endsWith("'") && !arg.slice(1, -1).includes("'")) return arg.slice(1, -1);
  } else if (/^[^\s'"\\`$;&|<>(){}*?[\]!#~]+$/.test(arg.replace(/^~\//, ""))) {
    return arg;
  }
  throw usageError(`${ONLY_GIT_PUSH}: unusable repository path ${quoteForMessage(arg)}`, PUSH_HINT);
}

/** `app`, `/app`, `~/app`, `app.git` and `app/` all name the app `app`; anything deeper is refused by the name rule. */
function appFromPath(path: string): string {
  return path
    .replace(/^~?\//, "")
    .replace(/\/$/, "")
    .replace(/\.git$/, "");
}

export interface ShellArgs {
  /** HOP3_ROOT for this push, from `--root DIR` in the forced command */
  root?: string;
  /** fingerprint of the key that authenticated, appended by authorized_keys */
  fingerprint?: string;
}

/** Arguments of the forced command: `[--root DIR] [FINGERPRINT]`, written by Hop3 itself into authorized_keys. */
export function parseShellArgs(argv: readonly string[]): ShellArgs {
  const out: ShellArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--root") {
      const dir = argv[++i];
      if (!dir?.startsWith("/")) throw usageError("git-shell: --root needs an absolute directory");
      out.root = dir;
    } else if (/^SHA256:[A-Za-z0-9+/]{43}$/.test(arg) && out.fingerprint === undefined) {
      out.fingerprint = arg;
    } else {
      throw usageError(`git-shell: unexpected argument ${quoteForMessage(arg)}`);
    }
  }
  return out;
}
