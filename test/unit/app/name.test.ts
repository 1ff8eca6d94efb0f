import { describe, expect, it } from "vitest";
import { APP_NAME_PATTERN, isValidAppName, validateAppName } from "../../../src/app/name.js";
import { expectUsageError } from "./expect-usage.js";

describe("validateAppName", () => {
  it.each(["ab", "myapp", "my-app", "app2", "a1-b2-c3", `a${"b".repeat(62)}`])("accepts %s", (name) => {
    expect(validateAppName(name)).toBe(name);
    expect(isValidAppName(name)).toBe(true);
  });

  it.each([
    "",
    "a",
    "MyApp",
    "my_app",
    "1app",
    "-app",
    "app-",
    "../etc",
    "app/../x",
    "app;rm -rf /",
    "app$(id)",
    "app name",
    "app\n",
    "ápp",
    `a${"b".repeat(63)}`,
  ])("rejects %j", (name) => {
    const err = expectUsageError(() => validateAppName(name));
    expect(err.message).toContain(JSON.stringify(name));
    expect(err.message).toContain("lowercase letters, digits and hyphens");
    expect(isValidAppName(name)).toBe(false);
  });

  it("quotes control characters safely and cuts very long input", () => {
    const err = expectUsageError(() => validateAppName("x\u001b[31mred"));
    expect(err.message).toContain('"x\\u001b[31mred"');
    expect(err.message).not.toContain("\u001b");
    const long = expectUsageError(() => validateAppName("A".repeat(500)));
    expect(long.message.length).toBeLessThan(300);
  });

  it("exports the pattern", () => {
    expect(APP_NAME_PATTERN.test("ok-name")).toBe(true);
    expect(APP_NAME_PATTERN.test("No")).toBe(false);
  });
});
