/**
 * The server's provenance signing key: one ed25519 key pair, generated on first use and kept as a PKCS#8 PEM
 * file (mode 0600) in the server's data directory (`<root>/provenance.key`, beside backup.key). Only the
 * public half ever leaves the server (`hop sbom:verify --print-key`), so that an operator can check releases
 * with a key they keep elsewhere.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Hop3Error } from "../util/errors.js";

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** sha256 of the public key's SubjectPublicKeyInfo (DER), hex: the DSSE `keyid`. */
  keyid: string;
}

export const signingKeyPath = (root: string) => join(root, "provenance.key");

/** The key at `path`, created (0600) when missing. Two processes creating it at once end with the same key. */
export function loadOrCreateSigningKey(path: string): SigningKey {
  try {
    return fromPrivatePem(readFileSync(path, "utf8"), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync("ed25519");
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  // written under a temporary name, then linked into place: link fails when another process won the race,
  // and a reader never sees half a key
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, pem, { mode: 0o600, flag: "wx" });
  chmodSync(tmp, 0o600);
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  return fromPrivatePem(readFileSync(path, "utf8"), path);
}

function fromPrivatePem(pem: string, path: string): SigningKey {
  const mode = statSync(path).mode & 0o077;
  if (mode !== 0)
    throw new Hop3Error(
      `the provenance signing key ${path} is readable by others (mode ${(statSync(path).mode & 0o777).toString(8)})`,
      "error",
      `chmod 600 ${path}`,
    );
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new Hop3Error(`the provenance signing key ${path} is unreadable: ${(err as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== "ed25519")
    throw new Hop3Error(`the provenance signing key ${path} is not an ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyid: keyIdOf(publicKey) };
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("hex");
}

export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ type: "spki", format: "pem" }).toString();
}

/** A public key given by the operator (`--key FILE`): an SPKI PEM of an ed25519 key. */
export function parsePublicKeyPem(pem: string, source = "the key"): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Hop3Error(
      `${source} is not a public key in PEM form: ${(err as Error).message}`,
      "usage",
      "export it with `hop sbom:verify --print-key`",
    );
  }
  if (key.asymmetricKeyType !== "ed25519")
    throw new Hop3Error(`${source} is a ${key.asymmetricKeyType} key, not ed25519`, "usage");
  return key;
}
