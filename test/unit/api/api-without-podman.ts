/**
 * The API over a real store in a temporary directory, with no Podman behind it: for tests of what the API
 * decides before anything reaches a container (authentication, validation, transports).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Deployer } from "../../../src/deploy/deployer.js";
import type { Lifecycle } from "../../../src/deploy/lifecycle.js";
import type { Platform } from "../../../src/deploy/platform.js";
import { createApi } from "../../../src/server/api.js";
import { Store } from "../../../src/store/store.js";

export function apiWithoutPodman(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const store = Store.open(join(dir, "hop3.db"), join(dir, "secret.key"));
  const { token } = store.createToken("admin", "admin");
  const platform = {
    store,
    settings: {
      root: dir,
      baseDomain: "hop3.test",
      httpPort: 80,
      httpsPort: 443,
      tls: "off",
      drainSeconds: 0,
    },
    log: () => {},
  } as unknown as Platform;
  const api = createApi({
    platform,
    deployer: {} as Deployer,
    lifecycle: {} as Lifecycle,
    version: "test",
    supervisor: "podman",
    uploadsDir: join(dir, "tmp"),
    maxUpload: 1024,
    syncSshKeys: async () => {},
  });
  const close = () => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, store, token, api, close };
}
