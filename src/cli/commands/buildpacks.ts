/**
 * `hop buildpacks:map|maps|unmap`: where buildpack URLs lead on a server that cannot reach them; and
 * `hop buildpacks:prepare`: the stack images built ahead of the first buildpack deploy (docs/buildpacks.md).
 */
import type { CommandSpec } from "../command-spec.js";
import { formatTable } from "../output.js";
import { runOperation } from "../render.js";

interface BuildpackMap {
  url: string;
  target: string;
  source: "operator" | "built-in";
  replaces?: string;
}

const MAPS = "/api/v1/buildpacks/maps";

export const buildpacksMapsCommand: CommandSpec = {
  name: "buildpacks:maps",
  aliases: ["buildpacks maps", "buildpacks:mappings"],
  group: "Buildpacks",
  summary: "list where buildpack URLs lead: the operator's mappings, then the built-in ones",
  maxArgs: 0,
  examples: ["hop buildpacks:maps", "hop buildpacks:maps --json"],
  async run(ctx) {
    const { maps } = await ctx.client().json<{ maps: BuildpackMap[] }>(MAPS);
    if (ctx.json) {
      ctx.printJson(maps);
      return 0;
    }
    ctx.out(
      formatTable(
        ["URL", "TARGET", "SOURCE"],
        maps.map((m) => [
          m.url,
          m.target,
          m.source === "operator" && m.replaces ? `operator (instead of ${m.replaces})` : m.source,
        ]),
      ),
    );
    return 0;
  },
};

export const buildpacksMapCommand: CommandSpec = {
  name: "buildpacks:map",
  aliases: ["buildpacks map"],
  group: "Buildpacks",
  summary: "build apps that name a buildpack URL with a buildpack of this server, a directory or a mirror",
  args: "URL TARGET",
  minArgs: 2,
  maxArgs: 2,
  description:
    "URL is any spelling of a git URL (.git or not, #ref, git@host:...) or a registry name (heroku/nodejs).\n" +
    "TARGET is a buildpack id of this server (hop3/nodejs, hop3/python@0.1.0), a directory of buildpacks the\n" +
    "server allows (HOP3_BUILDPACKS_PATHS), or a mirror URL, fetched as written. Admin only.",
  examples: [
    "hop buildpacks:map https://github.com/acme/buildpack-node.git hop3/nodejs",
    "hop buildpacks:map https://github.com/acme/bp https://git.internal.example/mirrors/bp.git",
    "hop buildpacks:map heroku/nodejs /etc/hop3/buildpacks/node",
  ],
  async run(ctx) {
    const [url, target] = ctx.args as [string, string];
    const body = await ctx
      .client()
      .json<{ map: BuildpackMap; previous?: string }>(MAPS, { method: "POST", json: { url, target } });
    if (ctx.json) ctx.printJson(body);
    else {
      ctx.out(
        `Mapped ${body.map.url} -> ${body.map.target}${body.previous ? ` (was ${body.previous})` : ""}`,
      );
    }
    return 0;
  },
};

export const buildpacksUnmapCommand: CommandSpec = {
  name: "buildpacks:unmap",
  aliases: ["buildpacks unmap"],
  group: "Buildpacks",
  summary: "remove an operator mapping of a buildpack URL (a built-in one comes back)",
  args: "URL",
  minArgs: 1,
  maxArgs: 1,
  examples: ["hop buildpacks:unmap https://github.com/acme/buildpack-node.git"],
  async run(ctx) {
    const url = ctx.args[0]!;
    const body = await ctx
      .client()
      .json<{ url: string; restored?: string }>(`${MAPS}?url=${encodeURIComponent(url)}`, {
        method: "DELETE",
      });
    if (ctx.json) ctx.printJson(body);
    else {
      ctx.out(
        `Unmapped ${body.url}${body.restored ? ` (the built-in mapping to ${body.restored} applies again)` : ""}`,
      );
    }
    return 0;
  },
};

export const buildpacksPrepareCommand: CommandSpec = {
  name: "buildpacks:prepare",
  aliases: ["buildpacks prepare"],
  group: "Buildpacks",
  summary: "build the buildpacks' stack images now, not at the first buildpack deploy",
  maxArgs: 0,
  description:
    "The first deploy built with buildpacks otherwise builds the build and run images (Debian's toolchains:\n" +
    "a few minutes on a small host) before its own build. Does nothing when they exist. Admin only.",
  examples: ["hop buildpacks:prepare", "hop buildpacks:prepare --json"],
  run(ctx) {
    return runOperation(
      ctx,
      "/api/v1/buildpacks/prepare",
      { method: "POST" },
      (r) => `Stack images ready: ${r.build} and ${r.run} (${r.seconds} s)`,
    );
  },
};
