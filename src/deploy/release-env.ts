/** The environment a release runs with: ENV file, hop3.toml [env], config vars, generated secrets, platform. */
import { addonEnvFor } from "../addons/app-env.js";
import { resolveAppEnv } from "../app/env.js";
import type { Platform, Progress } from "./platform.js";
import type { ReleaseSpec } from "./release-spec.js";
import { platformEnv } from "./urls.js";

/** Resolves the env; secrets generated for the first time are kept for later deploys. */
export function resolveReleaseEnv(
  p: Platform,
  app: string,
  spec: ReleaseSpec,
  progress: Progress,
): Record<string, string> {
  const { store } = p;
  const resolved = resolveAppEnv({
    ...(spec.tomlEnv ? { tomlEnv: spec.tomlEnv } : {}),
    envFile: spec.envDefaults,
    configVars: store.getConfig(app),
    generated: store.getGeneratedEnv(app),
    // DATABASE_URL, REDIS_URL... of the attached addons, and [env] references to them
    addons: addonEnvFor(store, app),
    // `${HOP3_PUBLIC_URL}` and friends in [env.computed]
    platformEnv: {
      ...platformEnv(app, p.settings, store.listDomains(app), spec.domains),
      ...(spec.webPort ? { PORT: String(spec.webPort) } : {}),
    },
  });
  if (Object.keys(resolved.newlyGenerated).length > 0) {
    store.setGeneratedEnv(app, { ...store.getGeneratedEnv(app), ...resolved.newlyGenerated });
    progress.log(`Generated ${Object.keys(resolved.newlyGenerated).join(", ")} (kept for later deploys)`);
  }
  return resolved.env;
}
