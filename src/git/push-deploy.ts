/**
 * Sends a pushed revision to the Hop3 server: `git archive` of the commit, gzip'd, as the body of
 * `POST /api/v1/apps/<app>/deploy`, and relays the server's events as they arrive.
 */
import { spawn } from "node:child_process";
import { createGzip } from "node:zlib";
import type { ApiClient } from "../client/api-client.js";
import { Hop3Error } from "../util/errors.js";
import { formatError, formatEvent } from "./push-output.js";

export interface PushDeploy {
  client: ApiClient;
  app: string;
  revision: string;
  /** the bare repository (the hook's GIT_DIR) */
  repoDir: string;
  write: (text: string) => void;
}

/** Returns true when the server reports the app deployed; every failure has been printed when it returns false. */
export async function deployPush({ client, app, revision, repoDir, write }: PushDeploy): Promise<boolean> {
  // The pushed objects are still in quarantine: the hook's environment (GIT_OBJECT_DIRECTORY...) lets git see them.
  const archive = spawn("git", ["archive", "--format=tar", revision], {
    cwd: repoDir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const body = createGzip();
  let archiveError: string | undefined;
  let archiveStderr = "";
  archive.stderr.on("data", (c: Buffer) => {
    archiveStderr += c.toString("utf8");
  });
  // The body only ends once git archive has succeeded: a failed archive must not reach the server as a short tar.
  archive.stdout.pipe(body, { end: false });
  archive.on("error", (err) => {
    archiveError = `cannot run git archive: ${err.message}`;
    body.destroy(new Error(archiveError));
  });
  archive.on("close", (code) => {
    if (code === 0) {
      body.end();
    } else if (!archiveError) {
      archiveError = `git archive of ${revision} failed: ${archiveStderr.trim() || `exit code ${code}`}`;
      body.destroy(new Error(archiveError));
    }
  });

  let ok = false;
  try {
    const events = client.stream(`/api/v1/apps/${encodeURIComponent(app)}/deploy`, {
      query: { create: "1", revision },
      body,
      contentType: "application/gzip",
    });
    for await (const ev of events) {
      write(formatEvent(ev, app));
      if (ev.event === "done") ok = ev.ok;
    }
    return ok;
  } catch (err) {
    if (archiveError) {
      write(formatError(new Hop3Error(archiveError)));
    } else if (err instanceof Hop3Error) {
      write(formatError(err));
    } else {
      write(formatError(new Hop3Error(`deploy failed: ${err instanceof Error ? err.message : String(err)}`)));
    }
    return false;
  } finally {
    if (archive.exitCode === null) archive.kill();
  }
}
