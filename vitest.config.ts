import { defineConfig } from "vitest/config";

/** Integration files that must run with nothing else beside them (scripts/test runs them first, one at a time). */
const SERIAL_INTEGRATION = [
  "test/integration/crash-recovery.test.ts", // kills and restarts the server
  "test/integration/hostile-resources.test.ts", // exhausts memory, processes and disk on purpose
  "test/integration/releases-and-scale.test.ts", // counts failed requests during deploys
  "test/integration/routing-robustness.test.ts", // counts failed requests during route changes
  "test/integration/router-caddy.test.ts", // a throughput floor during reloads
];

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
          exclude: SERIAL_INTEGRATION,
          // Real Podman builds against one shared server, several files at a time (scripts/test passes
          // --maxWorkers=$HOP3_TEST_JOBS, 2 by default): most of a deploy is waiting (health checks, Podman, the
          // network), and CI must stay well under 30 minutes on 2 cores. Every file names its apps uniquely and
          // cleans up only what it made, so files do not meet.
          pool: "forks",
          testTimeout: 300_000,
          hookTimeout: 600_000,
          globalSetup: ["test/integration/global-setup.ts"],
        },
      },
      {
        test: {
          // Files that restart the server, stress the whole host or count failed requests under load: alone.
          name: "integration-serial",
          include: SERIAL_INTEGRATION,
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
