import { describe, expect, it } from "vitest";
import { addonImageRepo } from "../../../src/addons/images.js";
import {
  APP_NAME_PATTERN,
  isReservedAppName,
  isValidAppName,
  validateAppName,
  validateNewAppName,
} from "../../../src/app/name.js";
import { stackImages } from "../../../src/build/cnb/stack.js";
import { CADDY_IMAGE_REPO } from "../../../src/router/caddy-router.js";
import { appImageRepo } from "../../../src/runtime/labels.js";
import { DEFAULT_BASE_IMAGE } from "../../../src/server/settings.js";
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

describe("validateNewAppName", () => {
  it.each(["base", "caddy", "router", "cnb-build", "cnb-run", "addon-redis", "addon-anything", "hop3"])(
    "refuses %s, the name of a platform image, saying why",
    (name) => {
      expect(validateAppName(name)).toBe(name); // an app made before the rule can still be managed
      const err = expectUsageError(() => validateNewAppName(name));
      expect(err.message).toContain(`"${name}" is reserved`);
      expect(err.message).toContain(`localhost/hop3/${name}`);
    },
  );

  it.each(["myapp", "basement", "caddy2", "my-router", "cnb", "addon"])("accepts %s", (name) => {
    expect(validateNewAppName(name)).toBe(name);
  });

  it("reserves the repository of every platform image an app's images could collide with", () => {
    const repoOf = (image: string) => image.replace(/:[^/:]+$/, "");
    const platform = [
      DEFAULT_BASE_IMAGE,
      CADDY_IMAGE_REPO,
      stackImages().build,
      stackImages().run,
      addonImageRepo("postgres"),
      addonImageRepo("redis"),
    ].map(repoOf);
    for (const repo of platform) {
      const name = repo.replace(/^localhost\/hop3\//, "");
      expect(appImageRepo(name), repo).toBe(repo);
      expect(isReservedAppName(name), repo).toBe(true);
    }
  });
});
