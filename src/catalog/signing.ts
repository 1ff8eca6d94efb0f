/**
 * Signatures of catalog indexes: ed25519 (node:crypto) over the exact bytes of index.json, in index.json.sig:
 *   { "algorithm": "ed25519", "keyid": "<first 16 hex of sha256(SPKI DER)>", "signature": "<base64>" }
 * The Hop3 catalog key's public half ships in catalog/keys/; operators add theirs for private catalogs in
 * HOP3_ROOT/catalog-keys/ (docs/catalog.md). The private key never is in the repository.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Hop3Error } from "../util/errors.js";
import { type CatalogIndex, parseIndex } from "./catalog-index.js";

export interface TrustedKey {
  keyid: string;
  key: KeyObject;
  /** Where it came from, for messages. */
  source: string;
}

export interface SignatureFile {
  algorithm: "ed25519";
  keyid: string;
  signature: string;
}

export const keyIdOf = (key: KeyObject): string =>
  createHash("sha256")
    .update(key.export({ type: "spki", format: "der" }))
    .digest("hex")
    .slice(0, 16);

export function publicKeyFromPem(pem: string, source: string): TrustedKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Hop3Error(`${source}: not a PEM public key: ${(err as Error).message}`, "usage");
  }
  if (key.asymmetricKeyType !== "ed25519") throw new Hop3Error(`${source}: not an ed25519 key`, "usage");
  return { keyid: keyIdOf(key), key, source };
}

/** Every `*.pub` of the given directories (missing directories are skipped). */
export function loadTrustedKeys(dirs: readonly string[]): TrustedKey[] {
  const keys: TrustedKey[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith(".pub"))
      .sort()) {
      keys.push(publicKeyFromPem(readFileSync(join(dir, f), "utf8"), join(dir, f)));
    }
  }
  return keys;
}

export function signIndex(indexBytes: Buffer | string, privatePem: string): string {
  const priv = createPrivateKey(privatePem);
  if (priv.asymmetricKeyType !== "ed25519")
    throw new Hop3Error("the signing key is not an ed25519 key", "usage");
  const sig: SignatureFile = {
    algorithm: "ed25519",
    keyid: keyIdOf(createPublicKey(priv)),
    signature: sign(null, Buffer.from(indexBytes), priv).toString("base64"),
  };
  return `${JSON.stringify(sig, null, 2)}\n`;
}

const refused = (why: string, hint?: string) =>
  new Hop3Error(`catalog index refused: ${why}`, "conflict", hint);

/**
 * The index, once its signature is checked against the trusted keys and its serial against the installed one.
 * Refused: no signature, a malformed one, an unknown key, a bad signature, an older serial.
 */
export function verifyIndex(
  indexBytes: Buffer,
  sigBytes: Buffer | undefined,
  keys: readonly TrustedKey[],
  installedSerial = 0,
): CatalogIndex {
  if (!sigBytes) throw refused("it is not signed (no index.json.sig)", "only signed catalogs are installed");
  let sig: Partial<SignatureFile>;
  try {
    sig = JSON.parse(sigBytes.toString()) as Partial<SignatureFile>;
  } catch {
    throw refused("index.json.sig is not a signature file (JSON)");
  }
  if (sig.algorithm !== "ed25519" || typeof sig.keyid !== "string" || typeof sig.signature !== "string")
    throw refused('index.json.sig must be { "algorithm": "ed25519", "keyid", "signature" }');
  const key = keys.find((k) => k.keyid === sig.keyid);
  if (!key)
    throw refused(
      `it is signed by an unknown key ${sig.keyid}`,
      "trust a private catalog's key by putting its .pub in HOP3_ROOT/catalog-keys/ (docs/catalog.md)",
    );
  if (!verify(null, indexBytes, key.key, Buffer.from(sig.signature, "base64")))
    throw refused(
      `bad signature (key ${key.keyid}, ${key.source}): the index was changed after it was signed`,
    );
  const index = parseIndex(indexBytes);
  if (index.serial < installedSerial)
    throw refused(
      `its serial ${index.serial} is older than the installed catalog's ${installedSerial} (a replayed, outdated index)`,
    );
  return index;
}
