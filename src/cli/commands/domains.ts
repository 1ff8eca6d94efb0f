/** `hop domains` (Heroku/Dokku `domains:add`, Hop3 `domain list|add|remove`). */
import type { CommandSpec } from "../command-spec.js";
import { appPath } from "../context.js";

export const domainsCommand: CommandSpec = {
  name: "domains",
  aliases: ["domain list", "domains:list", "domain:list"],
  group: "Domains",
  summary: "list the hostnames an app answers to",
  maxArgs: 0,
  usesApp: true,
  examples: ["hop domains", "hop domains --json"],
  async run(ctx) {
    const app = await ctx.app();
    const body = await ctx
      .client()
      .json<{ default: string; custom: string[]; fromHop3Toml: string[] }>(appPath(app, "/domains"));
    if (ctx.json) {
      ctx.printJson(body);
      return 0;
    }
    ctx.out(`=== ${app} domains`);
    ctx.out(`${body.default}  (default)`);
    for (const d of body.custom) ctx.out(`${d}  (added with domains:add)`);
    for (const d of body.fromHop3Toml) ctx.out(`${d}  (hop3.toml)`);
    return 0;
  },
};

export const domainsAddCommand: CommandSpec = {
  name: "domains:add",
  aliases: ["domain add", "domain:add"],
  group: "Domains",
  summary: "route another hostname to the app",
  args: "HOSTNAME",
  minArgs: 1,
  maxArgs: 1,
  usesApp: true,
  examples: ["hop domains:add www.example.org"],
  async run(ctx) {
    const app = await ctx.app();
    const body = await ctx.client().json<{ added: string; url: string }>(appPath(app, "/domains"), {
      method: "POST",
      json: { hostname: ctx.args[0] },
    });
    if (ctx.json) ctx.printJson(body);
    else ctx.out(`Added ${body.added} to ${app}: ${body.url}`);
    return 0;
  },
};

export const domainsRemoveCommand: CommandSpec = {
  name: "domains:remove",
  aliases: ["domain remove", "domain:remove", "domains:rm"],
  group: "Domains",
  summary: "stop routing a hostname to the app",
  args: "HOSTNAME",
  minArgs: 1,
  maxArgs: 1,
  usesApp: true,
  examples: ["hop domains:remove www.example.org"],
  async run(ctx) {
    const app = await ctx.app();
    const hostname = ctx.args[0]!;
    const body = await ctx
      .client()
      .json<{ removed: string }>(appPath(app, `/domains/${encodeURIComponent(hostname)}`), {
        method: "DELETE",
      });
    if (ctx.json) ctx.printJson(body);
    else ctx.out(`Removed ${body.removed} from ${app}`);
    return 0;
  },
};
