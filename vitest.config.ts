import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          // Some unit tests run real shell scripts (buildpacks' bin/detect and bin/build, install.sh's functions):
          // under 1.5 s alone, but vitest runs files side by side on 2 cores, and 5 s (its default) was missed.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          // Real Podman builds on 2 cores: one file at a time, generous timeouts.
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 300_000,
          hookTimeout: 600_000,
          globalSetup: ["test/integration/global-setup.ts"],
        },
      },
      {
        test: {
          // Production-like hosts: systemd + rootless Podman 5 in privileged containers (images/testhost).
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          pool: "forks",
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 600_000,
          hookTimeout: 1_200_000,
        },
      },
    ],
  },
});
