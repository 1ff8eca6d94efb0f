/**
 * Parsing of one OpenSSH public key line, as `hop setup:ssh` and `POST /api/v1/ssh-keys` receive it.
 * Whatever passes here is written into the service user's authorized_keys, so the key is checked down to
 * the structure of its blob: a line that parses can only ever become a key, never an option or a command.
 */
import { createHash } from "node:crypto";
import { usageError } from "../util/errors.js";

export interface PublicKey {
  type: string;
  /** the key blob, base64 as in the .pub file */
  blob: string;
  comment?: string;
  /** `SHA256:...`, as `ssh-keygen -lf` prints it */
  fingerprint: string;
}

/** Fields of the blob after its type string, per RFC 4253/5656/8709 and OpenSSH's PROTOCOL.u2f. */
const BLOB_LAYOUT: Record<string, readonly ("string" | "mpint")[]> = {
  "ssh-ed25519": ["string"],
  "ssh-rsa": ["mpint", "mpint"],
  "ecdsa-sha2-nistp256": ["string", "string"],
  "ecdsa-sha2-nistp384": ["string", "string"],
  "ecdsa-sha2-nistp521": ["string", "string"],
  "sk-ssh-ed25519@openssh.com": ["string", "string"],
  "sk-ecdsa-sha2-nistp256@openssh.com": ["string", "string", "string"],
};

export const SUPPORTED_KEY_TYPES: readonly string[] = Object.keys(BLOB_LAYOUT);

/** RSA keys shorter than this are refused: OpenSSH itself has refused below 1024 since 8.x, and 2048 is the floor. */
export const MIN_RSA_BITS = 2048;

const MAX_COMMENT_LENGTH = 200;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** SHA-256 fingerprint of a key blob, in the form `ssh-keygen -l` prints. */
export function fingerprintOf(blob: Buffer | string): string {
  const bytes = typeof blob === "string" ? Buffer.from(blob, "base64") : blob;
  return `SHA256:${createHash("sha256").update(bytes).digest("base64").replace(/=+$/, "")}`;
}

/** Parses exactly one OpenSSH public key; throws a usage error for anything else. */
export function parsePublicKey(line: string): PublicKey {
  if (typeof line !== "string") throw usageError("an SSH public key must be text");
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(line) || /^PuTTY-User-Key-File-/m.test(line)) {
    throw usageError(
      "this is a private key; give the .pub file",
      "for example: hop setup:ssh ~/.ssh/id_ed25519.pub",
    );
  }
  if (line.includes("---- BEGIN SSH2 PUBLIC KEY ----")) {
    throw usageError(
      "this public key is in RFC 4716 (PuTTY/SSH2) format, not OpenSSH format",
      "convert it with: ssh-keygen -i -f KEY.pub",
    );
  }
  // A .pub file ends with one newline; anything else that spans lines is more than one key.
  const text = line.replace(/\r?\n$/, "").trim();
  if (text === "") throw usageError("the SSH public key is empty", "give the contents of a .pub file");
  if (/[\r\n]/.test(text)) {
    throw usageError("give exactly one SSH public key (one line)", "add several keys one at a time");
  }
  if (/[\x00-\x08\x0b-\x1f\x7f]/.test(text))
    throw usageError("the SSH public key contains control characters");

  const fields = text.split(/[ \t]+/);
  const type = fields[0] ?? "";
  if (!(type in BLOB_LAYOUT)) {
    if (fields.slice(1).some((f) => f in BLOB_LAYOUT)) {
      throw usageError(
        "authorized_keys options are not accepted before the key",
        "give the key alone: TYPE BASE64 [comment]; Hop3 sets the options itself",
      );
    }
    throw usageError(
      `not an OpenSSH public key (unknown key type ${JSON.stringify(type.slice(0, 40))})`,
      `supported types: ${SUPPORTED_KEY_TYPES.join(", ")}`,
    );
  }
  const blob = fields[1] ?? "";
  if (!BASE64.test(blob)) throw usageError("the SSH public key's data is not valid base64");
  const bytes = Buffer.from(blob, "base64");
  // Node's decoder skips what it does not understand; a round trip proves the text was canonical base64.
  if (bytes.toString("base64") !== blob) throw usageError("the SSH public key's data is not valid base64");
  checkBlob(type, bytes);

  const comment = sanitizeComment(fields.slice(2).join(" "));
  return { type, blob, ...(comment ? { comment } : {}), fingerprint: fingerprintOf(bytes) };
}

/** Comments end up after the key in authorized_keys and in listings: printable, one line, bounded. */
export function sanitizeComment(comment: string | undefined): string {
  if (!comment) return "";
  const clean = comment
    .replace(/[\x00-\x1f\x7f]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return [...clean].slice(0, MAX_COMMENT_LENGTH).join("");
}

/** Walks the SSH wire encoding of the blob: its type must be the declared one and the fields must fill it exactly. */
function checkBlob(type: string, bytes: Buffer): void {
  const reader = new WireReader(bytes);
  const embedded = reader.next();
  if (embedded?.toString("latin1") !== type) {
    throw usageError(`the key data does not hold a ${type} key (its embedded type differs)`);
  }
  const values: Buffer[] = [];
  for (const _ of BLOB_LAYOUT[type]!) {
    const v = reader.next();
    if (!v) throw usageError(`the ${type} key data is truncated`);
    values.push(v);
  }
  if (!reader.atEnd()) throw usageError(`the ${type} key data has trailing bytes`);

  if (type.endsWith("ed25519") || type.includes("ed25519@")) {
    if (values[0]!.length !== 32) throw usageError("an ed25519 public key must be 32 bytes");
  } else if (type.startsWith("ecdsa-") || type.startsWith("sk-ecdsa-")) {
    const curve = type
      .replace(/^sk-/, "")
      .replace(/@openssh\.com$/, "")
      .replace("ecdsa-sha2-", "");
    if (values[0]!.toString("latin1") !== curve) throw usageError(`the ${type} key names another curve`);
  } else if (type === "ssh-rsa") {
    const modulus = values[1]!;
    const bits = modulusBits(modulus);
    if (bits < MIN_RSA_BITS) {
      throw usageError(
        `this RSA key has ${bits} bits; Hop3 accepts RSA keys of ${MIN_RSA_BITS} bits or more`,
        "make a new key: ssh-keygen -t ed25519",
      );
    }
  }
}

function modulusBits(mpint: Buffer): number {
  let i = 0;
  while (i < mpint.length && mpint[i] === 0) i++;
  if (i === mpint.length) return 0;
  return (mpint.length - i - 1) * 8 + (32 - Math.clz32(mpint[i]!));
}

class WireReader {
  private offset = 0;
  constructor(private readonly bytes: Buffer) {}

  /** The next length-prefixed field, or undefined when the data is too short for it. */
  next(): Buffer | undefined {
    if (this.offset + 4 > this.bytes.length) return undefined;
    const len = this.bytes.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + len > this.bytes.length) return undefined;
    this.offset = start + len;
    return this.bytes.subarray(start, start + len);
  }

  atEnd(): boolean {
    return this.offset === this.bytes.length;
  }
}
