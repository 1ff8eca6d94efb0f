/**
 * Paketo's build-plan convention: plan.toml's requirements, as hop3/build-plan's bin/detect writes them, resolved by
 * the platform's resolvePlan with the plans the language buildpacks' real bin/detect write.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { parseDetectPlan } from "../../../src/build/cnb/descriptors.js";
import { resolvePlan } from "../../../src/build/cnb/plan.js";
import { BUILDPACKS, FIXTURES, makeApp } from "./helpers.js";

async function detectPlan(bp: string, appDir: string) {
  const platform = mkdtempSync(join(tmpdir(), "hop3-bp-platform-"));
  const planPath = join(platform, "plan.toml");
  writeFileSync(planPath, "");
  const r = await execa(join(BUILDPACKS, bp, "bin/detect"), [], {
    cwd: appDir,
    reject: false,
    env: {
      CNB_PLATFORM_DIR: platform,
      CNB_BUILD_PLAN_PATH: planPath,
      CNB_BUILDPACK_DIR: join(BUILDPACKS, bp),
    },
  });
  return {
    code: r.exitCode,
    stderr: String(r.stderr),
    plan: parseDetectPlan(readFileSync(planPath, "utf8")),
  };
}

/** The first group of order.toml (languages optional, hop3/build-plan required), detected and resolved. */
async function resolveBuildPlanGroup(appDir: string) {
  const detected = [];
  for (const bp of ["nodejs", "python", "go", "build-plan"]) {
    const d = await detectPlan(bp, appDir);
    if (d.code === 0) {
      detected.push({
        entry: { id: `hop3/${bp}`, optional: bp !== "build-plan", version: "0.1.0" },
        plan: d.plan,
      });
    } else if (bp === "build-plan") return { ok: false as const, reason: "hop3/build-plan did not pass" };
  }
  return resolvePlan(detected);
}

describe("plan.toml (hop3/build-plan)", () => {
  it("the Paketo procfile sample: go is required at launch and hop3/go gets that in its Buildpack Plan", async () => {
    const r = await resolveBuildPlanGroup(join(FIXTURES, "paketo-procfile-go"));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.group.map((m) => m.entry.id)).toEqual(["hop3/go", "hop3/build-plan"]);
    const go = r.group.find((m) => m.entry.id === "hop3/go")!;
    expect(go.plan).toContainEqual({ name: "go", metadata: { launch: true } });
  });

  it("a plan.toml alone brings in the toolchain it names, with no source of that language", async () => {
    const app = makeApp({
      "plan.toml": '[[requires]]\nname = "python"\n[requires.metadata]\nlaunch = true\n',
    });
    const r = await resolveBuildPlanGroup(app);
    expect(r.ok && r.group.map((m) => m.entry.id)).toEqual(["hop3/python", "hop3/build-plan"]);
  });

  it("node and [[or]] alternatives: the first alternative that some buildpack provides wins", async () => {
    const app = makeApp({
      "package.json": "{}",
      "plan.toml":
        '[[requires]]\nname = "ruby-nonexistent"\n\n[[or]]\n[[or.requires]]\nname = "node"\nversion = "18"\n',
    });
    const r = await resolveBuildPlanGroup(app);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const node = r.group.find((m) => m.entry.id === "hop3/nodejs")!;
    expect(node.plan).toContainEqual({ name: "node", metadata: { version: "18" } });
  });

  it("a requirement nothing provides fails this group (the usual groups are tried next)", async () => {
    const app = makeApp({ "main.go": "package main\n", "plan.toml": '[[requires]]\nname = "rust"\n' });
    const r = await resolveBuildPlanGroup(app);
    expect(r).toEqual({
      ok: false,
      reason: "hop3/build-plan requires rust, which no buildpack before it provides",
    });
  });

  it("no plan.toml, or one that names nothing: does not apply; invalid TOML: an error naming the file", async () => {
    expect((await detectPlan("build-plan", makeApp({ "main.go": "package main\n" }))).code).toBe(100);
    expect((await detectPlan("build-plan", makeApp({ "plan.toml": "# nothing\n" }))).code).toBe(100);
    const bad = await detectPlan("build-plan", makeApp({ "plan.toml": "[[requires]\nname=" }));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("plan.toml: not valid TOML");
    const noName = await detectPlan("build-plan", makeApp({ "plan.toml": "[[requires]]\nversion = '1'\n" }));
    expect(noName.code).toBe(1);
    expect(noName.stderr).toContain("requires[0] needs a name");
  });
});
