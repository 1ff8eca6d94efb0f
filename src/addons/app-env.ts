/** What a deploy needs from the addons for an app's environment (app/env.ts resolveAppEnv `addons`). */
import type { AddonRef } from "../app/env.js";
import type { Store } from "../store/store.js";
import { type AttachedAddon, addonVariables, resolveAddonRefs } from "./variables.js";

export function attachedAddons(store: Store, app: string): AttachedAddon[] {
  return store.addons.attachmentsTo(app).map((t) => {
    const a = store.addons.require(t.addon);
    return { name: a.name, type: a.type, prefix: t.prefix, credentials: a.credentials };
  });
}

/** The app's addon variables, and how `[env] X = { from, key }` references are resolved. */
export function addonEnvFor(
  store: Store,
  app: string,
): { env: Record<string, string>; resolveRefs: (refs: Record<string, AddonRef>) => Record<string, string> } {
  const attached = attachedAddons(store, app);
  return { env: addonVariables(attached), resolveRefs: (refs) => resolveAddonRefs(refs, attached) };
}
