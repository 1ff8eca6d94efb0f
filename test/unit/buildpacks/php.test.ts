import { describe, expect, it } from "vitest";
import { detect, makeApp } from "./helpers.js";

// The build itself needs PHP and Composer (the build image): test/integration/buildpacks-php.test.ts runs it.
describe("hop3/php detect", () => {
  it("passes for composer.json, or an index.php at the root or in public/, web/ or htdocs/", async () => {
    for (const file of [
      "composer.json",
      "index.php",
      "public/index.php",
      "web/index.php",
      "htdocs/index.php",
    ])
      expect(await detect("php", makeApp({ [file]: "{}" })), file).toBe(0);
  });

  it("does not pass for other PHP files or an index.php deeper down", async () => {
    expect(await detect("php", makeApp({ "app.php": "<?php" }))).toBe(100);
    expect(await detect("php", makeApp({ "src/public/index.php": "<?php" }))).toBe(100);
    expect(await detect("php", makeApp({ "index.html": "<p>" }))).toBe(100);
  });
});
