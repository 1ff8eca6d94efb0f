/**
 * env.json, the only part of a backup with secrets (config vars, generated env, addon credentials), sealed with
 * the backup key: a file of 32 random bytes (HOP3_BACKUP_KEY_FILE) that the operator copies off the server.
 * Without it a backup's other files restore nothing secret; with it, a backup restores on any server
 * (`backup:restore --key-file`). A wrong key fails authentication before anything changes.
 */
import { KEY_BYTES, loadOrCreateKey, open, seal } from "../store/secret-box.js";
import { Hop3Error, usageError } from "../util/errors.js";

/** Authenticated with the value: a sealed env.json opens only as a backup env, and only for its backup. */
const context = (id: string) => `hop3-backup-env:${id}`;

export const backupKey = (path: string): Buffer => loadOrCreateKey(path);

/** A key given with a request (base64 of the key file's 32 bytes). */
export function keyFromBase64(text: string): Buffer {
  const key = Buffer.from(text, "base64");
  if (key.length !== KEY_BYTES || key.toString("base64") !== text) {
    throw usageError(`the backup key must be the ${KEY_BYTES} bytes of a backup key file`);
  }
  return key;
}

export function sealEnv(key: Buffer, id: string, env: unknown): string {
  return `${JSON.stringify({ sealed: seal(key, JSON.stringify(env), context(id)) })}\n`;
}

export function openEnv<T>(key: Buffer, id: string, text: string): T {
  let sealed: unknown;
  try {
    sealed = (JSON.parse(text) as { sealed?: unknown }).sealed;
  } catch {
    sealed = undefined;
  }
  if (typeof sealed !== "string")
    throw new Hop3Error("the backup's env.json is not a sealed env", "conflict");
  try {
    return JSON.parse(open(key, sealed, context(id))) as T;
  } catch {
    throw new Hop3Error(
      "the backup key does not open this backup's env.json (a wrong key, or an altered file): nothing was changed",
      "authentication",
      "give the key file of the server that made it: hop backup:restore ID --key-file PATH",
    );
  }
}
