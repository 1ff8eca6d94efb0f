/**
 * The service user's authorized_keys: every key is forced through Hop3's git shell, which only allows
 * `git push`. The file is generated from the store as a whole and never edited in place.
 */
import { chmod, chown, mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Hop3Error } from "../util/errors.js";
import { parsePublicKey, sanitizeComment } from "./public-key.js";

export interface AuthorizedKey {
  fingerprint: string;
  type: string;
  blob: string;
  comment?: string;
}

export interface RenderOptions {
  /** the forced command without the fingerprint, e.g. `/usr/bin/node /opt/hop3/dist/git/git-shell.js` */
  shellCommand: string;
}

/** No port, X11 or agent forwarding, no terminal, no ~/.ssh/rc: a key can only run the forced command. */
export const KEY_RESTRICTIONS = "no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-pty,no-user-rc";

const HEADER = [
  "# Managed by Hop3: this file is rewritten whenever SSH keys are added or removed; edits are lost.",
  "# Add a key with `hop setup:ssh ~/.ssh/id_ed25519.pub`.",
];

export interface GitShellOptions {
  /** defaults to the Node running this code */
  nodePath?: string;
  /** defaults to git-shell.js next to this module (…/dist/git/git-shell.js) */
  script?: string;
  /** HOP3_ROOT for pushes; given as `--root` because sshd does not pass its environment on */
  root?: string;
}

/** The forced command for `renderAuthorizedKeys`, each word quoted for the user's shell when it needs it. */
export function gitShellCommand(opts: GitShellOptions = {}): string {
  const script = opts.script ?? join(dirname(fileURLToPath(import.meta.url)), "git-shell.js");
  const words = [opts.nodePath ?? process.execPath, script, ...(opts.root ? ["--root", opts.root] : [])];
  return words
    .map((w) => {
      if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w)) return w;
      // Single quotes are all sh needs; a path holding one (or a backslash or double quote) is refused outright.
      if (/['"\\\x00-\x1f\x7f]/.test(w))
        throw new Hop3Error(`unusable path for the git shell command: ${JSON.stringify(w)}`);
      return `'${w}'`;
    })
    .join(" ");
}

/** Renders the whole authorized_keys file. Keys are re-checked: a bad record fails here, not inside sshd. */
export function renderAuthorizedKeys(keys: readonly AuthorizedKey[], opts: RenderOptions): string {
  const shellCommand = opts.shellCommand.trim();
  // The command sits inside a double-quoted option: quotes, backslashes and line breaks would escape it.
  if (!shellCommand || /["\\\x00-\x1f\x7f]/.test(shellCommand)) {
    throw new Hop3Error(
      `unusable git shell command for authorized_keys: ${JSON.stringify(opts.shellCommand)}`,
    );
  }
  const lines = [...HEADER];
  const seen = new Set<string>();
  for (const key of keys) {
    const parsed = parsePublicKey(`${key.type} ${key.blob}`);
    if (parsed.fingerprint !== key.fingerprint) {
      throw new Hop3Error(
        `stored SSH key ${JSON.stringify(key.fingerprint)} does not match its data (${parsed.fingerprint})`,
      );
    }
    if (seen.has(parsed.fingerprint)) continue;
    seen.add(parsed.fingerprint);
    const comment = sanitizeComment(key.comment);
    const command = `${shellCommand} ${parsed.fingerprint}`;
    lines.push(
      `command="${command}",${KEY_RESTRICTIONS} ${parsed.type} ${parsed.blob}${comment ? ` ${comment}` : ""}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

export interface WriteOptions {
  /** owner to give the directory and file, when root writes them for the service user */
  uid?: number;
  gid?: number;
}

/**
 * Replaces the file atomically (temp file + rename in the same directory), so sshd never reads half a file.
 * The directory is made 0700 and the file 0600, as sshd's StrictModes wants.
 */
export async function writeAuthorizedKeys(
  path: string,
  content: string,
  opts: WriteOptions = {},
): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const owned = opts.uid !== undefined && opts.gid !== undefined;
  if (owned) await chown(dir, opts.uid!, opts.gid!);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const handle = await open(tmp, "wx", 0o600);
    try {
      await handle.writeFile(content, "utf8");
      await handle.sync();
      if (owned) await handle.chown(opts.uid!, opts.gid!);
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
