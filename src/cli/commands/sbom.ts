/** `hop sbom` (a release's SBOM, CycloneDX or SPDX) and `hop sbom:diff` (what changed between two releases). */
import { resolve } from "node:path";
import type { SbomDiff } from "../../sbom/diff.js";
import { writeFileAtomic } from "../../util/atomic-file.js";
import { usageError } from "../../util/errors.js";
import type { CommandSpec } from "../command-spec.js";
import { appPath } from "../context.js";
import { formatTable } from "../output.js";

function releaseArg(value: string | undefined, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (!/^v?\d{1,9}$/.test(value))
    throw usageError(`invalid ${what} ${JSON.stringify(value)}`, "give it as vN");
  return value.replace(/^v/, "");
}

export const sbomCommand: CommandSpec = {
  name: "sbom",
  aliases: ["sbom:show", "releases:sbom"],
  group: "Supply chain",
  summary: "print a release's SBOM (software bill of materials)",
  maxArgs: 0,
  usesApp: true,
  options: [
    { name: "release", type: "string", value: "vN", description: "the release (default: the active one)" },
    {
      name: "format",
      type: "string",
      value: "FORMAT",
      description: "cyclonedx (CycloneDX 1.6, default) or spdx (SPDX 2.3)",
    },
    {
      name: "output",
      short: "o",
      type: "string",
      value: "FILE",
      description: "write it to FILE instead of printing it",
    },
  ],
  description:
    "Every release that gets a new image has an SBOM, generated from the image right after the deploy " +
    "switched traffic to it: the OS packages (dpkg, apk), the language packages (npm, Python, Ruby, PHP, Go) " +
    "with exact versions and purls, the buildpacks, the base image and the image digest (docs/sbom.md). " +
    "An image whose packages could not all be read gets an SBOM that says so, and a warning here.",
  examples: ["hop sbom -a myapp", "hop sbom -a myapp --release v3 --format spdx --output myapp-v3.spdx.json"],
  async run(ctx) {
    const app = await ctx.app();
    const format = ctx.opt("format") ?? "cyclonedx";
    if (format !== "cyclonedx" && format !== "spdx")
      throw usageError(`unknown format ${JSON.stringify(format)}`, "use cyclonedx or spdx");
    const body = await ctx
      .client()
      .json<{ release: number; incomplete: string[]; sbom: unknown }>(appPath(app, "/sbom"), {
        query: { release: releaseArg(ctx.opt("release"), "release"), format },
      });
    for (const note of body.incomplete)
      ctx.err(ctx.paintErr.yellow(`warning: the SBOM of ${app} v${body.release} is incomplete: ${note}`));
    const text = `${JSON.stringify(body.sbom, null, 2)}\n`;
    const output = ctx.opt("output");
    if (output) {
      const path = resolve(ctx.io.cwd, output);
      writeFileAtomic(path, text);
      ctx.err(
        `Wrote the ${format === "spdx" ? "SPDX 2.3" : "CycloneDX 1.6"} SBOM of ${app} v${body.release} to ${path}`,
      );
    } else ctx.io.stdout.write(text);
    return 0;
  },
};

/** Rows of `hop sbom:diff`: one line per added, removed or changed component. */
export function diffRows(d: SbomDiff): string[][] {
  return [
    ...d.changed.map((c) => ["~", c.name, c.from, c.to]),
    ...d.added.map((c) => ["+", c.name, "", c.version]),
    ...d.removed.map((c) => ["-", c.name, c.version, ""]),
  ];
}

export const sbomDiffCommand: CommandSpec = {
  name: "sbom:diff",
  aliases: ["sbom diff"],
  group: "Supply chain",
  summary: "components added, removed and upgraded between two releases",
  args: "vA vB",
  minArgs: 2,
  maxArgs: 2,
  usesApp: true,
  examples: ["hop sbom:diff v3 v4 -a myapp", "hop sbom:diff v3 v4 --json"],
  async run(ctx) {
    const app = await ctx.app();
    const [a, b] = ctx.args;
    const body = await ctx
      .client()
      .json<SbomDiff & { from: number; to: number }>(appPath(app, "/sbom/diff"), {
        query: { from: releaseArg(a, "release"), to: releaseArg(b, "release") },
      });
    if (ctx.json) {
      ctx.printJson(body);
      return 0;
    }
    const rows = diffRows(body);
    if (!rows.length) {
      ctx.out(`${app}: v${body.from} and v${body.to} have the same components`);
      return 0;
    }
    ctx.out(
      `=== ${app} v${body.from} → v${body.to}: ${body.changed.length} changed, ${body.added.length} added, ${body.removed.length} removed`,
    );
    ctx.out(formatTable(["", "COMPONENT", `v${body.from}`, `v${body.to}`], rows));
    return 0;
  },
};

export const SBOM_COMMANDS = [sbomCommand, sbomDiffCommand];
