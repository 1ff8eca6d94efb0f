/**
 * The release phase: one-off containers of the new image and config that must succeed before any traffic
 * moves. Procfile `preflight:` checks first (Piku: a variable set, a service reachable), then `release:`.
 */
import { releaseLimits } from "../runtime/limits.js";
import { runOneOff } from "../runtime/one-off.js";
import type { ReleaseRow } from "../store/store.js";
import { Hop3Error } from "../util/errors.js";
import { deploySignal } from "./cancel.js";
import type { Platform, Progress } from "./platform.js";
import type { ReleaseSpec } from "./release-spec.js";
import { platformEnv } from "./urls.js";
import { releaseMounts } from "./volumes.js";

export async function runReleasePhase(
  p: Platform,
  app: string,
  release: Pick<ReleaseRow, "number" | "image">,
  spec: ReleaseSpec,
  env: Record<string, string>,
  progress: Progress,
): Promise<void> {
  if (spec.preflight?.length) await oneOff(p, "preflight", app, release, spec, env, progress);
  if (spec.releaseCommand) await oneOff(p, "release", app, release, spec, env, progress);
}

async function oneOff(
  p: Platform,
  what: "preflight" | "release",
  app: string,
  release: Pick<ReleaseRow, "number" | "image">,
  spec: ReleaseSpec,
  env: Record<string, string>,
  progress: Progress,
): Promise<void> {
  const phase =
    what === "preflight"
      ? {
          script: `set -e\n${spec.preflight!.join("\n")}`,
          step: `Running the preflight checks: ${spec.preflight!.join("; ")}`,
          failed: "the preflight check",
        }
      : {
          script: spec.releaseCommand!,
          step: `Running the release phase: ${spec.releaseCommand}`,
          failed: "the release command",
        };
  progress.step(phase.step);
  const code = await runOneOff(p.docker, {
    app,
    release: release.number,
    image: release.image!,
    cmd: ["/bin/sh", "-c", phase.script],
    env: {
      ...env,
      ...platformEnv(app, p.settings, p.store.listDomains(app), spec.domains),
      PROC_TYPE: what,
      DYNO: `${what}.1`,
    },
    purpose: "release",
    mounts: releaseMounts(app, spec, p.settings.root),
    limits: releaseLimits(spec, p.settings.limits),
    // [run] release-timeout, never above the server's bound; deploy:cancel aborts it too
    timeoutSeconds: Math.min(
      spec.releaseTimeout ?? Number.POSITIVE_INFINITY,
      p.settings.timeouts?.releaseSeconds ?? 1800,
    ),
    ...(deploySignal(app) ? { signal: deploySignal(app)! } : {}),
    onLine: (l) => progress.log(l),
  });
  if (code !== 0) throw new Hop3Error(`${phase.failed} exited with code ${code}`, "deployFailed");
}
