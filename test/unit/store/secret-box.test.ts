import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadOrCreateKey, open, seal } from "../../../src/store/secret-box.js";
import { Hop3Error } from "../../../src/util/errors.js";
import { useTempDirs } from "./temp-dir.js";

const tempDir = useTempDirs();

describe("loadOrCreateKey", () => {
  it("creates a 32-byte key with mode 0600, in a new directory with mode 0700", () => {
    const path = join(tempDir(), "secrets", "store.key");
    const key = loadOrCreateKey(path);
    expect(key.length).toBe(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, "..")).mode & 0o777).toBe(0o700);
    expect(readFileSync(path).equals(key)).toBe(true);
    // no temporary file left behind
    expect(readdirSync(join(path, ".."))).toEqual(["store.key"]);
  });

  it("returns the same key on the next call and different keys for different files", () => {
    const dir = tempDir();
    const first = loadOrCreateKey(join(dir, "a.key"));
    expect(loadOrCreateKey(join(dir, "a.key")).equals(first)).toBe(true);
    expect(loadOrCreateKey(join(dir, "b.key")).equals(first)).toBe(false);
  });

  it.each([0o640, 0o604, 0o644])("refuses a key file with mode %o", (mode) => {
    const path = join(tempDir(), "store.key");
    loadOrCreateKey(path);
    chmodSync(path, mode);
    expect(() => loadOrCreateKey(path)).toThrow(/readable by other users/);
    expect(() => loadOrCreateKey(path)).toThrow(Hop3Error);
  });

  it("refuses a key file of the wrong length and leaves it alone", () => {
    const path = join(tempDir(), "store.key");
    writeFileSync(path, Buffer.alloc(16, 7), { mode: 0o600 });
    expect(() => loadOrCreateKey(path)).toThrow(/16 bytes, expected 32/);
    expect(readFileSync(path)).toEqual(Buffer.alloc(16, 7));
  });

  it("refuses a directory in place of the key", () => {
    const dir = tempDir();
    expect(() => loadOrCreateKey(dir)).toThrow(/not a regular file/);
  });
});

describe("seal and open", () => {
  const key = Buffer.alloc(32, 1);

  it("round-trips text, including empty and non-ASCII strings", () => {
    for (const text of ["", "postgres://u:p@h/db", "héllo ✓ 🚀", "x".repeat(10_000)]) {
      expect(open(key, seal(key, text))).toBe(text);
    }
  });

  it("uses the v1 text format with a fresh 12-byte nonce each time", () => {
    const a = seal(key, "same");
    const b = seal(key, "same");
    expect(a).not.toBe(b);
    const parts = a.split(":");
    expect(parts).toHaveLength(4);
    expect(parts[0]).toBe("v1");
    expect(Buffer.from(parts[1]!, "base64")).toHaveLength(12);
    expect(Buffer.from(parts[2]!, "base64")).toHaveLength(16);
    expect(a).not.toContain("same");
  });

  it("detects a changed ciphertext, nonce or tag", () => {
    const sealed = seal(key, "secret value");
    const parts = sealed.split(":");
    for (const index of [1, 2, 3]) {
      const bytes = Buffer.from(parts[index]!, "base64");
      bytes[0]! ^= 1;
      const tampered = parts.map((p, i) => (i === index ? bytes.toString("base64") : p)).join(":");
      expect(() => open(key, tampered)).toThrow(/failed authentication/);
    }
  });

  it("refuses another key, another context, and malformed input", () => {
    const sealed = seal(key, "v", "config_vars\0app\0A");
    expect(open(key, sealed, "config_vars\0app\0A")).toBe("v");
    expect(() => open(Buffer.alloc(32, 2), sealed, "config_vars\0app\0A")).toThrow(/failed authentication/);
    expect(() => open(key, sealed, "config_vars\0other\0A")).toThrow(/failed authentication/);
    expect(() => open(key, sealed)).toThrow(/failed authentication/);
    expect(() => open(key, "plain text")).toThrow(/unknown format/);
    expect(() => open(key, sealed.replace(/^v1/, "v2"))).toThrow(/unknown format/);
    expect(() => open(key, "v1:!!!!:AAAA:AAAA")).toThrow(/malformed/);
  });

  it("refuses a key of the wrong size", () => {
    expect(() => seal(Buffer.alloc(16), "x")).toThrow(/32 bytes/);
  });
});
