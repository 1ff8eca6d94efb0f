/**
 * Encryption at rest for config values and generated secrets: AES-256-GCM with a 32-byte key kept in a file
 * next to (not inside) the database, so a copied or leaked database file reveals no secret by itself.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { Hop3Error } from "../util/errors.js";

export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = "v1";

/**
 * Reads the key at `path`, creating it (32 random bytes, mode 0600) when missing. Refuses a key other users could
 * read, or one of the wrong length, rather than silently using or replacing it: replacing it would make every
 * sealed value unreadable.
 */
export function loadOrCreateKey(path: string): Buffer {
  const existing = readKeyIfPresent(path);
  if (existing) return existing;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, randomBytes(KEY_BYTES));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    // link() rather than rename(): it never replaces a key another process created meanwhile, and the key
    // appears under its name complete or not at all.
    linkSync(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    unlinkSync(temp);
  }
  const key = readKeyIfPresent(path);
  if (!key) throw new Hop3Error(`could not create the secret key ${path}`);
  return key;
}

function readKeyIfPresent(path: string): Buffer | undefined {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if (!stat.isFile()) throw new Hop3Error(`secret key ${path} is not a regular file`);
  if ((stat.mode & 0o077) !== 0) {
    throw new Hop3Error(
      `secret key ${path} is readable by other users (mode ${(stat.mode & 0o777).toString(8)})`,
      "error",
      `restrict it with: chmod 600 ${path}`,
    );
  }
  const key = readFileSync(path);
  if (key.length !== KEY_BYTES) {
    throw new Hop3Error(
      `secret key ${path} has ${key.length} bytes, expected ${KEY_BYTES}`,
      "error",
      "restore the original key from a backup; without it sealed config values cannot be read",
    );
  }
  return key;
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES)
    throw new Hop3Error(`secret key must be ${KEY_BYTES} bytes, got ${key.length}`);
}

/**
 * Encrypts `plaintext` as `v1:<nonce>:<tag>:<ciphertext>` (base64). `context`, when given, is authenticated but
 * not stored: the value only opens with the same context, so a sealed value cannot be moved to another row.
 */
export function seal(key: Buffer, plaintext: string, context?: string): string {
  checkKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  if (context !== undefined) cipher.setAAD(Buffer.from(context, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [FORMAT, nonce.toString("base64"), tag.toString("base64"), ciphertext.toString("base64")].join(":");
}

/** Decrypts a value made by `seal`; throws a Hop3Error if it was altered, or sealed with another key or context. */
export function open(key: Buffer, sealed: string, context?: string): string {
  checkKey(key);
  const parts = sealed.split(":");
  if (parts.length !== 4 || parts[0] !== FORMAT) {
    throw new Hop3Error(`sealed value has an unknown format (expected ${FORMAT})`);
  }
  const [, nonceB64, tagB64, ciphertextB64] = parts as [string, string, string, string];
  const nonce = decodeBase64(nonceB64);
  const tag = decodeBase64(tagB64);
  const ciphertext = decodeBase64(ciphertextB64);
  if (nonce.length !== NONCE_BYTES || tag.length !== TAG_BYTES) {
    throw new Hop3Error("sealed value is malformed");
  }
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  if (context !== undefined) decipher.setAAD(Buffer.from(context, "utf8"));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
  } catch {
    throw new Hop3Error(
      "sealed value failed authentication: it was altered or sealed with another key",
      "error",
      "check that the server uses the secret key this database was written with",
    );
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(text: string): Buffer {
  // Buffer.from(..., "base64") skips invalid characters silently; a strict check keeps corruption visible.
  if (!BASE64.test(text) || text.length % 4 !== 0) throw new Hop3Error("sealed value is malformed");
  return Buffer.from(text, "base64");
}
