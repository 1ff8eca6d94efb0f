import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { AppRoute, RouterSettings } from "../../../src/router/routes.js";

/** A route table exercising every case: several hosts and upstreams, .localhost, IP, wildcard, catch-all, down. */
export const sampleRoutes = (): AppRoute[] => [
  {
    app: "blog",
    hosts: ["www.Example.com", "blog.example.com", "blog.localhost", "*.blog.example.com"],
    upstreams: [
      { host: "127.0.0.1", port: 8002 },
      { host: "127.0.0.1", port: 8001 },
    ],
  },
  { app: "api", hosts: ["api.example.com", "10.0.0.1"], upstreams: [{ host: "127.0.0.1", port: 9000 }] },
  { app: "fallback", hosts: ["_"], upstreams: [{ host: "127.0.0.1", port: 9100 }] },
  { app: "down", hosts: ["down.example.com"], upstreams: [] },
];

export const tlsAuto: RouterSettings = {
  httpPort: 80,
  httpsPort: 443,
  tls: "auto",
  acmeEmail: "ops@example.com",
  acmeCa: "https://127.0.0.1:14000/dir",
};

export const tlsOff: RouterSettings = { httpPort: 8080, httpsPort: 8443, tls: "off" };

const GOLDEN_DIR = join(import.meta.dirname, "golden");

/**
 * Compares with test/unit/router/golden/<name>. UPDATE_GOLDEN=1 rewrites the file (then review the diff);
 * a missing file fails, so a golden is never created silently.
 */
export function expectGolden(name: string, actual: string): void {
  const file = join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, actual);
  if (!existsSync(file))
    throw new Error(`missing golden file ${file}; run with UPDATE_GOLDEN=1 and review it`);
  expect(actual).toBe(readFileSync(file, "utf8"));
}
