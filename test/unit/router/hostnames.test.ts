import { describe, expect, it } from "vitest";
import { normalizeHostname, wantsCertificate } from "../../../src/router/hostnames.js";
import { Hop3Error } from "../../../src/util/errors.js";

describe("normalizeHostname", () => {
  it.each([
    ["Example.COM", "example.com"],
    ["a.b-c.example", "a.b-c.example"],
    ["*.apps.example.com", "*.apps.example.com"],
    ["192.168.1.10", "192.168.1.10"],
    ["app.localhost", "app.localhost"],
    ["_", "_"],
    ["x", "x"],
  ])("accepts %s", (input, expected) => {
    expect(normalizeHostname(input)).toBe(expected);
  });

  it.each([
    "",
    "exa mple.com",
    "a`) || Host(`evil.com",
    "{{ .Env.SECRET }}.example.com",
    "ex{{ample.com",
    "example.com\n",
    "-lead.example.com",
    "trail-.example.com",
    "a..b",
    ".example.com",
    "example.com.",
    "*.*.example.com",
    "a.*.example.com",
    "*",
    "ünicode.example",
    "under_score.example.com",
    "http://example.com",
    "example.com:8080",
    `${"a".repeat(64)}.example.com`,
    `${"abcdefghi.".repeat(26)}com`,
  ])("rejects %j with a usage error", (input) => {
    try {
      normalizeHostname(input);
      expect.unreachable(`accepted ${input}`);
    } catch (err) {
      expect(err).toBeInstanceOf(Hop3Error);
      expect((err as Hop3Error).kind).toBe("usage");
    }
  });
});

describe("wantsCertificate", () => {
  it.each([
    ["example.com", true],
    ["www.example.com", true],
    ["localhost", false],
    ["app.localhost", false],
    ["10.0.0.1", false],
    ["*.example.com", false],
    ["_", false],
  ])("%s -> %s", (host, expected) => {
    expect(wantsCertificate(host)).toBe(expected);
  });
});
