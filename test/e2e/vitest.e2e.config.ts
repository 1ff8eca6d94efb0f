// Standalone config for the e2e project (the lead's vitest.config.ts gets the same entry):
//   npx vitest run --config test/e2e/vitest.e2e.config.ts
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "e2e",
    include: ["test/e2e/**/*.test.ts"],
    // Test hosts are whole machines: one file at a time, timeouts set per test.
    pool: "forks",
    poolOptions: { forks: { singleFork: true } },
    testTimeout: 600_000,
    hookTimeout: 1_200_000,
  },
});
