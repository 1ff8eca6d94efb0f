import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fingerprintOf, parsePublicKey, SUPPORTED_KEY_TYPES } from "../../../src/git/public-key.js";
import { Hop3Error } from "../../../src/util/errors.js";

const dir = mkdtempSync(join(tmpdir(), "hop3-pubkey-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let made = 0;
function keygen(type: string, bits?: number): { pub: string; priv: string; fingerprint: string } {
  const file = join(dir, `key${++made}`);
  const args = ["-q", "-t", type, "-N", "", "-C", "dev@laptop", "-f", file];
  if (bits) args.push("-b", String(bits));
  execFileSync("ssh-keygen", args);
  const fingerprint = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${file}.pub`], {
    encoding: "utf8",
  }).split(" ")[1]!;
  return { pub: readFileSync(`${file}.pub`, "utf8"), priv: readFileSync(file, "utf8"), fingerprint };
}

function expectUsage(fn: () => unknown, message: RegExp) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Hop3Error);
    expect((err as Hop3Error).kind).toBe("usage");
    expect((err as Hop3Error).message).toMatch(message);
    return;
  }
  throw new Error("expected a usage error");
}

const ed = keygen("ed25519");

describe("parsePublicKey", () => {
  it.each([
    ["ed25519", undefined],
    ["ecdsa", 256],
    ["ecdsa", 384],
    ["ecdsa", 521],
    ["rsa", 3072],
  ])("parses a %s key and computes the fingerprint ssh-keygen prints", (type, bits) => {
    const key = keygen(type, bits);
    const parsed = parsePublicKey(key.pub);
    expect(parsed.fingerprint).toBe(key.fingerprint);
    expect(parsed.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(`${parsed.type} ${parsed.blob} ${parsed.comment}\n`).toBe(key.pub);
    expect(SUPPORTED_KEY_TYPES).toContain(parsed.type);
  });

  it("takes a key without a comment, and the comment's spaces", () => {
    const [type, blob] = ed.pub.trim().split(" ");
    expect(parsePublicKey(`${type} ${blob}`)).toEqual({ type, blob, fingerprint: ed.fingerprint });
    expect(parsePublicKey(`${type} ${blob}   my  laptop key `).comment).toBe("my laptop key");
  });

  it("accepts an sk-ssh-ed25519 key (security key)", () => {
    const str = (b: Buffer | string) => {
      const buf = Buffer.from(b);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(buf.length);
      return Buffer.concat([len, buf]);
    };
    const type = "sk-ssh-ed25519@openssh.com";
    const blob = Buffer.concat([str(type), str(Buffer.alloc(32, 7)), str("ssh:")]);
    const parsed = parsePublicKey(`${type} ${blob.toString("base64")} yubikey`);
    expect(parsed.type).toBe(type);
    expect(parsed.fingerprint).toBe(fingerprintOf(blob));
  });

  it("refuses a private key with a clear message", () => {
    expectUsage(() => parsePublicKey(ed.priv), /this is a private key; give the \.pub file/);
  });

  it("refuses options before the key", () => {
    expectUsage(() => parsePublicKey(`command="/bin/sh" ${ed.pub}`), /options are not accepted/);
    expectUsage(() => parsePublicKey(`no-pty,from="*" ${ed.pub}`), /options are not accepted/);
  });

  it("refuses several keys, embedded newlines and control characters", () => {
    expectUsage(() => parsePublicKey(`${ed.pub}${ed.pub}`), /exactly one SSH public key/);
    expectUsage(() => parsePublicKey(`${ed.pub.trim()}\ncommand="x" ${ed.pub}`), /exactly one/);
    expectUsage(() => parsePublicKey(`${ed.pub.trim()}\r\nssh-ed25519 AAAA`), /exactly one/);
    expectUsage(() => parsePublicKey(`${ed.pub.trim()} evil\x1b[2J`), /control characters/);
  });

  it("refuses a blob whose embedded type is not the declared one", () => {
    const rsa = keygen("rsa", 2048);
    const rsaBlob = rsa.pub.split(" ")[1];
    expectUsage(() => parsePublicKey(`ssh-ed25519 ${rsaBlob}`), /embedded type differs/);
  });

  it("refuses garbage, bad base64, truncated or padded blobs", () => {
    const blob = ed.pub.split(" ")[1]!;
    expectUsage(() => parsePublicKey(""), /empty/);
    expectUsage(() => parsePublicKey("hello world"), /unknown key type/);
    expectUsage(() => parsePublicKey("ssh-ed25519"), /not valid base64/);
    expectUsage(() => parsePublicKey("ssh-ed25519 not*base64"), /not valid base64/);
    const bytes = Buffer.from(blob, "base64");
    expectUsage(
      () => parsePublicKey(`ssh-ed25519 ${bytes.subarray(0, bytes.length - 4).toString("base64")}`),
      /truncated|32 bytes/,
    );
    expectUsage(
      () => parsePublicKey(`ssh-ed25519 ${Buffer.concat([bytes, Buffer.alloc(4)]).toString("base64")}`),
      /trailing bytes/,
    );
    expectUsage(() => parsePublicKey("ssh-dss AAAAB3NzaC1kc3MAAACBAP"), /unknown key type/);
  });

  it("refuses short RSA keys", () => {
    const rsa = keygen("rsa", 1024);
    expectUsage(() => parsePublicKey(rsa.pub), /1024 bits/);
  });

  it("refuses RFC 4716 keys with a conversion hint", () => {
    try {
      parsePublicKey("---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----\n");
      throw new Error("accepted");
    } catch (err) {
      expect((err as Hop3Error).hint).toMatch(/ssh-keygen -i/);
    }
  });
});
