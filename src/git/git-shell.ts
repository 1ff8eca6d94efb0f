/**
 * The forced command of every Hop3 SSH key (authorized_keys `command="node .../git-shell.js [--root DIR] FPR"`).
 * Lets through only `git push` to an app's repository, which it creates on first push.
 * Its stderr is what the user sees, so it stays quiet except for errors.
 */
import { spawn } from "node:child_process";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_HOP3_ROOT } from "../client/api-client.js";
import { Hop3Error } from "../util/errors.js";
import { ensureBareRepo, renderPreReceiveHook, repoPath } from "./bare-repo.js";
import { parsePushCommand, parseShellArgs } from "./push-command.js";

/** The hook script sits next to this file, whichever tree (installed or dev) this runs from. */
function hookScriptPath(): string {
  const self = fileURLToPath(import.meta.url);
  const ext = basename(self).replace(/^git-shell/, "");
  return join(dirname(self), `pre-receive${ext}`);
}

async function main(): Promise<number> {
  const args = parseShellArgs(process.argv.slice(2));
  const { app } = parsePushCommand(process.env.SSH_ORIGINAL_COMMAND);
  const root = args.root ?? process.env.HOP3_ROOT ?? DEFAULT_HOP3_ROOT;
  const repo = repoPath(root, app);
  // the pack's bound follows the server's upload bound when this shell sees it (else the same default)
  const maxPush = Number(process.env.HOP3_MAX_UPLOAD);
  await ensureBareRepo(
    repo,
    renderPreReceiveHook(process.execPath, hookScriptPath()),
    Number.isSafeInteger(maxPush) && maxPush > 0 ? maxPush : undefined,
  );

  const env: NodeJS.ProcessEnv = { ...process.env, HOP3_ROOT: root };
  if (args.fingerprint) env.HOP3_PUSH_KEY = args.fingerprint;
  const child = spawn("git", ["receive-pack", repo], { stdio: "inherit", env });
  return new Promise((resolve) => {
    child.on("error", (err) => {
      process.stderr.write(`Hop3: cannot run git receive-pack: ${err.message}\n`);
      resolve(1);
    });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof Hop3Error) {
      process.stderr.write(`${err.message}\n${err.hint ? `${err.hint}\n` : ""}`);
    } else {
      process.stderr.write(
        `Hop3: internal error in the git shell: ${err instanceof Error ? err.message : err}\n`,
      );
    }
    process.exitCode = 1;
  },
);
