import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { constantTimeEqual, hashToken, newToken } from "../../../src/store/tokens.js";

describe("tokens", () => {
  it("makes distinct hop3_ tokens carrying 32 random bytes", () => {
    const a = newToken();
    const b = newToken();
    expect(a).not.toBe(b);
    expect(a).toMatch(/^hop3_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice(5), "base64url")).toHaveLength(32);
  });

  it("hashes with SHA-256 as hex", () => {
    expect(hashToken("hop3_abc")).toBe(createHash("sha256").update("hop3_abc").digest("hex"));
    expect(hashToken("hop3_abc")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("compares strings of equal and different lengths", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
  });
});
