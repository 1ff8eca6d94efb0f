/**
 * Build plan resolution (Buildpack API: Phase 1, Detection): among the buildpacks of a group that passed
 * bin/detect, pick the first combination of plan alternatives where every `requires` is provided by the
 * same or an earlier buildpack and every `provides` is required by the same or a later one. Optional
 * buildpacks whose plan does not fit are dropped; a required one makes the combination fail.
 */
import type { DetectPlan, GroupEntry, PlanAlternative, Requirement } from "./descriptors.js";

export interface Detected {
  entry: GroupEntry & { version: string };
  plan: DetectPlan;
}

export interface Resolved {
  entry: GroupEntry & { version: string };
  /** The Buildpack Plan handed to bin/build: requirements for what this buildpack provides. */
  plan: Requirement[];
}

export type Resolution = { ok: true; group: Resolved[] } | { ok: false; reason: string };

/** Trials beyond this are not worth a build's time: a plan that needs them is a buildpack bug. */
const MAX_TRIALS = 4096;

export function resolvePlan(detected: Detected[]): Resolution {
  const options = detected.map((d) => (d.plan.length > 0 ? d.plan : [{ provides: [], requires: [] }]));
  let reason = "no buildpack passed detection";
  let trials = 0;
  const choice: PlanAlternative[] = [];
  const walk = (i: number): Resolved[] | undefined => {
    if (i === detected.length) {
      if (++trials > MAX_TRIALS) return undefined;
      const r = checkTrial(detected, choice);
      if ("group" in r) return r.group;
      reason = r.reason;
      return undefined;
    }
    for (const alt of options[i]!) {
      choice[i] = alt;
      const found = walk(i + 1);
      if (found) return found;
      if (trials > MAX_TRIALS) return undefined;
    }
    return undefined;
  };
  if (detected.length === 0) return { ok: false, reason };
  const group = walk(0);
  return group ? { ok: true, group } : { ok: false, reason };
}

function checkTrial(
  detected: Detected[],
  choice: PlanAlternative[],
): { group: Resolved[] } | { reason: string } {
  let members = detected.map((d, i) => ({ d, alt: choice[i]! }));
  for (;;) {
    const unmet = new Set<number>();
    let reason = "";
    members.forEach((m, i) => {
      for (const r of m.alt.requires) {
        if (!members.slice(0, i + 1).some((p) => p.alt.provides.some((x) => x.name === r.name))) {
          unmet.add(i);
          reason ||= `${m.d.entry.id} requires ${r.name}, which no buildpack before it provides`;
        }
      }
      for (const p of m.alt.provides) {
        if (!members.slice(i).some((q) => q.alt.requires.some((x) => x.name === p.name))) {
          unmet.add(i);
          reason ||= `${m.d.entry.id} provides ${p.name}, which no buildpack after it requires`;
        }
      }
    });
    if (unmet.size === 0) break;
    if ([...unmet].some((i) => !members[i]!.d.entry.optional)) return { reason };
    members = members.filter((_, i) => !unmet.has(i));
  }
  if (members.length === 0) return { reason: "no buildpack passed detection" };
  return {
    group: members.map((m) => {
      const names = new Set(m.alt.provides.map((p) => p.name));
      const plan = members.flatMap((q) => q.alt.requires.filter((r) => names.has(r.name)));
      return { entry: m.d.entry, plan };
    }),
  };
}
