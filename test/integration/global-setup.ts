/**
 * Integration tests need the host install.sh prepares (scripts/test runs it first) and a fresh build of
 * this tree. Refuse to start with a clear message rather than fail forty tests obscurely.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ApiClient, resolveEndpoint } from "../../src/client/api-client.js";

export default async function setup(): Promise<void> {
  const cli = resolve(import.meta.dirname, "..", "..", "dist", "cli", "main.js");
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` (scripts/test does it)`);
  const client = new ApiClient(resolveEndpoint());
  try {
    const info = await client.json<{ version: string; router: string; podman: string | null }>(
      "/api/v1/info",
    );
    if (!info.podman) throw new Error("the server answers but cannot reach Podman");
  } catch (err) {
    throw new Error(
      `integration tests need a running hop3-server (${client.endpoint.url}): ${(err as Error).message}. ` +
        "Run them with scripts/test, which prepares the host with install.sh.",
    );
  }
}
