import { describe, expect, it } from "vitest";
import { validateImageRef } from "../../../src/build/image-source.js";
import { Hop3Error } from "../../../src/util/errors.js";

const digest = `sha256:${"0123456789abcdef".repeat(4)}`;

describe("validateImageRef", () => {
  it.each([
    "debian",
    "debian:bookworm-slim",
    "docker.io/library/debian:bookworm-slim",
    "localhost/x/y:1",
    `host:5000/a/b@${digest}`,
    `ghcr.io/owner/repo:v1.2.3@${digest}`,
    "registry.example.com:443/team/app_name/sub-part:latest",
    "a/b__c/d.e",
    "127.0.0.1:5000/x:Tag_1",
    `x:${"t".repeat(128)}`,
  ])("accepts %s and returns it unchanged", (ref) => {
    expect(validateImageRef(ref)).toBe(ref);
  });

  it.each([
    ["empty", ""],
    ["leading space", " debian"],
    ["inner space", "debian latest"],
    ["trailing newline", "debian\n"],
    ["shell separator", "debian;rm -rf /"],
    ["command substitution", "$(id)"],
    ["uppercase repository", "docker.io/Library/debian"],
    ["uppercase name", "Debian"],
    ["option-looking", "--help"],
    ["empty tag", "debian:"],
    ["two tags", "debian:a:b"],
    ["empty path component", "a//b"],
    ["trailing slash", "a/b/"],
    ["short digest", "debian@sha256:abc"],
    ["non-sha256 digest", `debian@md5:${"a".repeat(64)}`],
    ["tag too long", `x:${"t".repeat(129)}`],
    ["tag starting with a dot", "x:.hidden"],
    ["scheme", "https://docker.io/debian"],
  ])("refuses %s as a usage error", (_what, ref) => {
    let caught: unknown;
    try {
      validateImageRef(ref);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(Hop3Error);
    expect((caught as Hop3Error).kind).toBe("usage");
    expect((caught as Hop3Error).message).toBe(`${JSON.stringify(ref)} is not a valid image reference`);
  });

  it("refuses references longer than 512 characters", () => {
    const long = `${"a".repeat(300)}/${"b".repeat(300)}`;
    expect(() => validateImageRef(long)).toThrow(Hop3Error);
  });
});
