/**
 * The pre-receive hook of every app repository (installed by git-shell). Deploys the pushed deploy branch before
 * its ref moves, so a failed deploy fails the `git push` and leaves the branch where it was.
 */
import { resolve } from "node:path";
import { ApiClient, defaultSocketPath } from "../client/api-client.js";
import { Hop3Error } from "../util/errors.js";
import { deployPush } from "./push-deploy.js";
import { formatError } from "./push-output.js";
import { appFromRepoDir, deployBranches, parseRefUpdates, selectDeployUpdate } from "./ref-updates.js";

// A user who interrupts the push closes our output; the deploy goes on server-side, and so must we, quietly.
process.stdout.on("error", () => {});

const write = (text: string) => {
  if (text) process.stdout.write(text);
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(): Promise<number> {
  const repoDir = resolve(process.env.GIT_DIR ?? ".");
  const app = appFromRepoDir(repoDir);
  const update = selectDeployUpdate(parseRefUpdates(await readStdin()), deployBranches());
  if (!update) return 0;
  const client = new ApiClient({ url: `unix:${defaultSocketPath(process.env.HOP3_ROOT)}` });
  const ok = await deployPush({ client, app, revision: update.newSha, repoDir, write });
  return ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    write(
      formatError(
        err instanceof Hop3Error
          ? err
          : new Hop3Error(
              `internal error in the push hook: ${err instanceof Error ? err.message : String(err)}`,
            ),
      ),
    );
    process.exitCode = 1;
  },
);
