/** `hop config` and friends (Hop3 also spells them `env show|get|set|unset`). */
import { parseAssignments, validateKey } from "../assignments.js";
import type { CommandSpec } from "../command-spec.js";
import { appPath } from "../context.js";
import { formatKeyValues } from "../output.js";
import { runOperation, type SuccessLine } from "../render.js";
import { releaseLabel } from "./shared.js";

const configChanged: SuccessLine = (r) => {
  const changed = Array.isArray(r.changed) ? r.changed.map(String) : [];
  const what = changed.length ? `Config changed: ${changed.join(", ")}` : "Config unchanged";
  return r.release !== undefined ? `${what} (release ${releaseLabel(r.release)})` : what;
};

export const configCommand: CommandSpec = {
  name: "config",
  aliases: ["env", "env show", "config:show", "env:show"],
  group: "Config",
  summary: "show an app's config variables",
  maxArgs: 0,
  usesApp: true,
  examples: ["hop config", "hop config --json"],
  async run(ctx) {
    const app = await ctx.app();
    const body = await ctx.client().json<{ config: Record<string, string> }>(appPath(app, "/config"));
    if (ctx.json) {
      ctx.printJson(body.config);
      return 0;
    }
    const entries = Object.entries(body.config ?? {}).sort(([a], [b]) => a.localeCompare(b));
    if (entries.length === 0) {
      ctx.out(`${app} has no config vars. Set some with \`hop config:set KEY=VALUE\`.`);
      return 0;
    }
    ctx.out(`=== ${app} config vars`);
    ctx.out(formatKeyValues(entries.map(([k, v]) => [ctx.paint.green(k), String(v)])));
    return 0;
  },
};

export const configGetCommand: CommandSpec = {
  name: "config:get",
  aliases: ["env get", "env:get"],
  group: "Config",
  summary: "print one config value (nothing else, for scripts)",
  args: "KEY",
  minArgs: 1,
  maxArgs: 1,
  usesApp: true,
  examples: ["hop config:get DATABASE_URL", 'psql "$(hop config:get DATABASE_URL)"'],
  async run(ctx) {
    const app = await ctx.app();
    const key = validateKey(ctx.args[0]!);
    const body = await ctx
      .client()
      .json<{ key: string; value: string }>(appPath(app, `/config/${encodeURIComponent(key)}`));
    if (ctx.json) ctx.printJson(body);
    else ctx.out(String(body.value ?? ""));
    return 0;
  },
};

export const configSetCommand: CommandSpec = {
  name: "config:set",
  aliases: ["env set", "env:set", "config:add"],
  group: "Config",
  summary: "set config variables and restart the app with them",
  args: "KEY=VALUE...",
  minArgs: 1,
  usesApp: true,
  description:
    "Splits each argument at its first `=`: the value may contain more `=`, and `KEY=` sets an empty value. " +
    "A new release with the new config is started.",
  examples: ["hop config:set LOG_LEVEL=debug", "hop env set SECRET_KEY=abc== DEBUG="],
  async run(ctx) {
    const set = parseAssignments(ctx.args);
    const app = await ctx.app();
    return runOperation(ctx, appPath(app, "/config"), { method: "PATCH", json: { set } }, configChanged);
  },
};

export const configUnsetCommand: CommandSpec = {
  name: "config:unset",
  aliases: ["env unset", "env:unset", "config:remove"],
  group: "Config",
  summary: "remove config variables and restart the app without them",
  args: "KEY...",
  minArgs: 1,
  usesApp: true,
  examples: ["hop config:unset LOG_LEVEL DEBUG"],
  async run(ctx) {
    const unset = ctx.args.map(validateKey);
    const app = await ctx.app();
    return runOperation(ctx, appPath(app, "/config"), { method: "PATCH", json: { unset } }, configChanged);
  },
};
