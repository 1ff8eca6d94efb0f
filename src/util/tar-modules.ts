/**
 * tar-fs and tar-stream, loaded at their first use: an idle server packs and unpacks nothing, and the two
 * (with streamx and their other dependencies) are ~1.7 MiB of its private memory (docs/benchmarks.md,
 * footprint). Both are CommonJS, so they are required synchronously and the functions that use them keep
 * their shapes (as src/router/traefik-config.ts does for yaml).
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export const tarFs = (): typeof import("tar-fs") => require("tar-fs");
export const tarStream = (): typeof import("tar-stream") => require("tar-stream");
