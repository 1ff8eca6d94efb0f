/**
 * Backing services: `hop addons` and `addons:*` (Hop3 also spells them `addon list|create|...`), and the
 * clients of each type: `pg:*`, `redis:*`, `mariadb:*` (alias `mysql:*`). Clients run through the same attach
 * channel as `hop run`: dumps and restores stream, terminals are real terminals.
 */
import { notFound, usageError } from "../../util/errors.js";
import type { CommandSpec } from "../command-spec.js";
import type { CliContext } from "../context.js";
import { formatKeyValues, formatMiB, formatTable, relativeTime } from "../output.js";
import { runOperation } from "../render.js";
import { attachSession, hasTerminal } from "./run.js";
import { confirmByName } from "./shared.js";

interface AddonSummary {
  name: string;
  type: string;
  version: string;
  state: string;
  apps: { app: string; prefix: string }[];
  createdAt: string;
}

const addonPath = (name: string, rest = "") => `/api/v1/addons/${encodeURIComponent(name)}${rest}`;

/** The app only when asked for explicitly (`-a APP`, HOP3_APP): listing addons is not an app command. */
const explicitApp = (ctx: CliContext) => ctx.opt("app") ?? (ctx.io.env.HOP3_APP || undefined);

/**
 * The addon a type command acts on: the one named, else the only addon of that type attached to the app
 * (found like every app: -a, HOP3_APP, .hop3-app, hop3.toml, the git remote).
 */
async function addonOfType(ctx: CliContext, type: string, title: string): Promise<string> {
  if (ctx.args[0]) return ctx.args[0];
  const app = await ctx.app();
  const { addons } = await ctx
    .client()
    .json<{ addons: AddonSummary[] }>(`/api/v1/addons?app=${encodeURIComponent(app)}`);
  const mine = addons.filter((a) => a.type === type);
  if (mine.length === 1) return mine[0]!.name;
  if (mine.length === 0) {
    throw notFound(
      `${app} has no ${title} addon attached`,
      `create one: hop addons:create ${type} -a ${app}`,
    );
  }
  throw usageError(
    `${app} has several ${title} addons: ${mine.map((a) => a.name).join(", ")}`,
    "name the one you mean",
  );
}

export const addonsCommand: CommandSpec = {
  name: "addons",
  aliases: ["addon list", "addons:list", "addon"],
  group: "Addons",
  summary: "list backing services (Postgres, MariaDB, Redis) and the apps they are attached to",
  maxArgs: 0,
  description: "With -a APP, only the addons attached to that app.",
  examples: ["hop addons", "hop addons -a shop", "hop addons --json"],
  async run(ctx) {
    const app = explicitApp(ctx);
    const { addons } = await ctx
      .client()
      .json<{ addons: AddonSummary[] }>(`/api/v1/addons${app ? `?app=${encodeURIComponent(app)}` : ""}`);
    if (ctx.json) {
      ctx.printJson(addons);
      return 0;
    }
    if (addons.length === 0) {
      ctx.out(
        `No addons${app ? ` attached to ${app}` : ""}. Create one with \`hop addons:create postgres\`.`,
      );
      return 0;
    }
    ctx.out(
      formatTable(
        ["NAME", "TYPE", "VERSION", "STATE", "APPS", "CREATED"],
        addons.map((a) => [
          a.name,
          a.type,
          a.version,
          a.state,
          a.apps.map((t) => (t.prefix ? `${t.app} (${t.prefix}_)` : t.app)).join(", ") || "-",
          relativeTime(a.createdAt),
        ]),
      ),
    );
    return 0;
  },
};

export const addonsCreateCommand: CommandSpec = {
  name: "addons:create",
  aliases: ["addon create"],
  group: "Addons",
  summary: "create a Postgres, MariaDB (mysql) or Redis addon; with -a, attach it to the app",
  args: "TYPE [NAME]",
  minArgs: 1,
  maxArgs: 2,
  options: [
    {
      name: "extensions",
      type: "string",
      value: "LIST",
      description: "Postgres extensions to enable, comma-separated (pg_trgm,hstore...)",
    },
    { name: "as", type: "string", value: "PREFIX", description: "with -a: prefix of its variables" },
  ],
  description:
    "The first creation of a type builds its image from the distribution's packages (about a minute); the " +
    "addon runs on no network but those of the apps it is attached to, with generated credentials.",
  examples: [
    "hop addons:create postgres shop-db",
    "hop addons:create redis -a shop",
    "hop addon create mysql",
  ],
  async run(ctx) {
    const [type, name] = ctx.args as [string, string | undefined];
    const extensions = ctx
      .opt("extensions")
      ?.split(",")
      .map((e) => e.trim())
      .filter(Boolean);
    let created: string | undefined;
    const code = await runOperation(
      ctx,
      "/api/v1/addons",
      { method: "POST", json: { type, ...(name ? { name } : {}), ...(extensions ? { extensions } : {}) } },
      (r) => {
        created = String(r.name);
        return `Created ${r.type} ${r.version} addon ${r.name}`;
      },
    );
    const app = explicitApp(ctx);
    if (code !== 0 || !app || !created) return code;
    return attach(ctx, created, app, ctx.opt("as"));
  },
};

function attach(ctx: CliContext, name: string, app: string, prefix?: string): Promise<number> {
  return runOperation(
    ctx,
    addonPath(name, "/attachments"),
    { method: "POST", json: { app, ...(prefix ? { as: prefix } : {}) } },
    (r) => `Attached ${name} to ${app}: ${(r.variables as string[]).join(", ")}`,
  );
}

export const addonsAttachCommand: CommandSpec = {
  name: "addons:attach",
  aliases: ["addon attach"],
  group: "Addons",
  summary: "give an app an addon's variables (a new release, like config:set)",
  args: "NAME",
  minArgs: 1,
  maxArgs: 1,
  usesApp: true,
  options: [
    {
      name: "as",
      type: "string",
      value: "PREFIX",
      description: "prefix of its variables (CACHE: CACHE_REDIS_URL)",
    },
  ],
  description:
    "The first addon of a type gives the plain variables (DATABASE_URL...); a second one of the same type " +
    "gets its name as prefix unless --as says otherwise.",
  examples: ["hop addons:attach shop-db -a shop", "hop addons:attach cache -a shop --as CACHE"],
  async run(ctx) {
    return attach(ctx, ctx.args[0]!, await ctx.app(), ctx.opt("as"));
  },
};

export const addonsDetachCommand: CommandSpec = {
  name: "addons:detach",
  aliases: ["addon detach"],
  group: "Addons",
  summary: "take an addon's variables away from an app (a new release); its data stays",
  args: "NAME",
  minArgs: 1,
  maxArgs: 1,
  usesApp: true,
  examples: ["hop addons:detach shop-db -a shop"],
  async run(ctx) {
    const name = ctx.args[0]!;
    const app = await ctx.app();
    return runOperation(
      ctx,
      addonPath(name, `/attachments/${encodeURIComponent(app)}`),
      { method: "DELETE" },
      () => `Detached ${name} from ${app} (its data is kept: hop addons:destroy removes it)`,
    );
  },
};

export const addonsExposeCommand: CommandSpec = {
  name: "addons:expose",
  aliases: ["addon expose"],
  group: "Addons",
  summary: "publish an addon on this host's 127.0.0.1 only, at a port, for an SSH tunnel (restarts it)",
  args: "NAME",
  minArgs: 1,
  maxArgs: 1,
  options: [{ name: "port", type: "string", value: "PORT", description: "host port, 1024-65535 (required)" }],
  description:
    "Never on the network: reach it from your machine with ssh -L PORT:127.0.0.1:PORT HOST. Podman publishes " +
    "ports only when a container is created, so the addon restarts (a few seconds); its data stays.",
  examples: ["hop addons:expose shop-db --port 15432", "hop addons:unexpose shop-db"],
  async run(ctx) {
    const name = ctx.args[0]!;
    const port = ctx.opt("port");
    if (!port) throw usageError("give the host port: hop addons:expose NAME --port 15432");
    return runOperation(
      ctx,
      addonPath(name, "/expose"),
      { method: "PUT", json: { port } },
      (r) => `${name} answers on ${String(r.exposed)} (this host only)`,
    );
  },
};

export const addonsUnexposeCommand: CommandSpec = {
  name: "addons:unexpose",
  aliases: ["addon unexpose"],
  group: "Addons",
  summary: "stop publishing an addon on the host (restarts it)",
  args: "NAME",
  minArgs: 1,
  maxArgs: 1,
  examples: ["hop addons:unexpose shop-db"],
  async run(ctx) {
    const name = ctx.args[0]!;
    return runOperation(
      ctx,
      addonPath(name, "/expose"),
      { method: "DELETE" },
      () => `${name} is no longer published on the host`,
    );
  },
};

export const addonsInfoCommand: CommandSpec = {
  name: "addons:info",
  aliases: ["addon show", "addon info", "addons:show"],
  group: "Addons",
  summary: "show an addon: type, version, state, apps and the variables each gets",
  args: "NAME",
  minArgs: 1,
  maxArgs: 1,
  examples: ["hop addons:info shop-db", "hop addons:info shop-db --json"],
  async run(ctx) {
    const { addon } = await ctx
      .client()
      .json<{ addon: Record<string, unknown> & AddonSummary }>(addonPath(ctx.args[0]!));
    if (ctx.json) {
      ctx.printJson(addon);
      return 0;
    }
    const vars = addon.variables as { app: string; names: string[] }[];
    ctx.out(`=== ${addon.name}`);
    ctx.out(
      formatKeyValues([
        ["Type", `${addon.title} ${addon.version}`],
        ["State", addon.state],
        ["Hostname", `${addon.hostname}:${addon.port} (on the attached apps' networks only)`],
        ["Exposed", addon.exposed ? `${String(addon.exposed)} (this host only)` : "no"],
        ["Image", String(addon.image)],
        ["Volume", String(addon.volume)],
        ["Memory limit", formatMiB(Number(addon.memoryLimit))],
        ...((addon.extensions as string[]).length
          ? [["Extensions", (addon.extensions as string[]).join(", ")] as [string, string]]
          : []),
        ["Created", relativeTime(addon.createdAt)],
        ["Apps", vars.map((v) => `${v.app}: ${v.names.join(", ")}`).join("\n") || "-"],
      ]),
    );
    return 0;
  },
};

export const addonsDestroyCommand: CommandSpec = {
  name: "addons:destroy",
  aliases: ["addon destroy"],
  group: "Addons",
  summary: "delete an addon and its data (it must be detached from every app first)",
  args: "NAME",
  minArgs: 1,
  maxArgs: 1,
  options: [{ name: "confirm", type: "string", value: "NAME", description: "NAME must be the addon's name" }],
  description:
    "The only command that removes an addon's data. On a terminal it asks you to type the name; scripts pass " +
    "--confirm NAME.",
  examples: ["hop addons:destroy shop-db --confirm shop-db"],
  async run(ctx) {
    const name = ctx.args[0]!;
    const confirm = await confirmByName(ctx, name, {
      destroys: `addon ${name} and all its data`,
      needs: `destroying addon ${name} deletes its data`,
      prompt: "Type the addon name to confirm: ",
    });
    return runOperation(
      ctx,
      addonPath(name, `?confirm=${encodeURIComponent(confirm)}`),
      { method: "DELETE" },
      () => `Destroyed ${name} and its data`,
    );
  },
};

interface TypeCommands {
  type: string;
  title: string;
  prefix: string;
  aliases: string[];
}

const TYPES: Record<string, TypeCommands> = {
  postgres: { type: "postgres", title: "Postgres", prefix: "pg", aliases: ["postgres"] },
  redis: { type: "redis", title: "Redis", prefix: "redis", aliases: [] },
  mariadb: { type: "mariadb", title: "MariaDB", prefix: "mariadb", aliases: ["mysql"] },
};

const spell = (t: TypeCommands, verb: string) => [
  ...t.aliases.map((a) => `${a}:${verb}`),
  `${t.prefix} ${verb}`,
  ...t.aliases.map((a) => `${a} ${verb}`),
];

/** An interactive client (psql, redis-cli, mariadb): a terminal when there is one, else streams. */
function clientCommand(t: TypeCommands, verb: string, program: string): CommandSpec {
  return {
    name: `${t.prefix}:${verb}`,
    aliases: spell(t, verb),
    group: "Addons",
    summary: `open ${program} on a ${t.title} addon (NAME, or the app's only one)`,
    args: `[NAME] [${program.toUpperCase()} ARGS...]`,
    usesApp: true,
    passThroughArgs: true,
    description: `Runs ${program} in a container beside the addon: nothing is exposed. Without a terminal, stdin is the input.`,
    examples: [`hop ${t.prefix}:${verb} -a shop`, `echo 'select 1' | hop ${t.prefix}:${verb} shop-db`],
    async run(ctx) {
      const name = await addonOfType(ctx, t.type, t.title);
      const term = hasTerminal(ctx);
      return session(ctx, name, t, "cli", ctx.args.slice(1), { ...term, interactive: true });
    },
  };
}

async function session(
  ctx: CliContext,
  name: string,
  t: TypeCommands,
  action: string,
  args: string[],
  how: { tty: boolean; interactive: boolean; cols?: number; rows?: number },
): Promise<number> {
  const created = await ctx.client().json<{ id: string }>(addonPath(name, "/sessions"), {
    method: "POST",
    json: { action, type: t.type, args, ...how },
  });
  return attachSession(ctx, created.id, how.tty);
}

function dumpCommand(t: TypeCommands, what: string): CommandSpec {
  return {
    name: `${t.prefix}:dump`,
    aliases: spell(t, "dump"),
    group: "Addons",
    summary: `write a ${what} of a ${t.title} addon to stdout (streamed)`,
    args: "[NAME]",
    maxArgs: 1,
    usesApp: true,
    examples: [`hop ${t.prefix}:dump shop-db > shop.dump`],
    async run(ctx) {
      const name = await addonOfType(ctx, t.type, t.title);
      if ((ctx.io.stdout as { isTTY?: boolean }).isTTY) {
        throw usageError(
          "a dump is not for a terminal",
          `redirect it: hop ${t.prefix}:dump ${name} > ${name}.dump`,
        );
      }
      return session(ctx, name, t, "dump", [], { tty: false, interactive: false });
    },
  };
}

function restoreCommand(t: TypeCommands, from: string): CommandSpec {
  return {
    name: `${t.prefix}:restore`,
    aliases: spell(t, "restore"),
    group: "Addons",
    summary: `replace a ${t.title} addon's data with ${from} read from stdin (streamed)`,
    args: "NAME",
    minArgs: 1,
    maxArgs: 1,
    options: [
      { name: "confirm", type: "string", value: "NAME", description: "NAME must be the addon's name" },
    ],
    description: "Objects in the dump replace those of the same name. Needs --confirm NAME.",
    examples: [`hop ${t.prefix}:restore shop-db --confirm shop-db < shop.dump`],
    async run(ctx) {
      const name = ctx.args[0]!;
      if (ctx.opt("confirm") !== name) {
        throw usageError(
          `restoring into ${name} replaces its data and needs confirmation`,
          `pass --confirm ${name}`,
        );
      }
      if (ctx.io.stdin.isTTY) {
        throw usageError(
          "the dump is read from stdin",
          `hop ${t.prefix}:restore ${name} --confirm ${name} < ${name}.dump`,
        );
      }
      const code = await session(ctx, name, t, "restore", [], { tty: false, interactive: true });
      if (code === 0 && !ctx.json) ctx.err(`Restored ${name}`);
      else if (code !== 0) ctx.err(`The restore of ${name} failed (exit code ${code})`);
      return code;
    },
  };
}

function infoCommand(t: TypeCommands): CommandSpec {
  return {
    name: `${t.prefix}:info`,
    aliases: spell(t, "info"),
    group: "Addons",
    summary: `what a ${t.title} addon reports about itself (version, size...)`,
    args: "[NAME]",
    maxArgs: 1,
    usesApp: true,
    examples: [`hop ${t.prefix}:info shop-db`],
    async run(ctx) {
      const name = await addonOfType(ctx, t.type, t.title);
      const body = await ctx
        .client()
        .json<{ report: Record<string, string> }>(addonPath(name, `/report?type=${t.type}`));
      if (ctx.json) ctx.printJson({ name, ...body.report });
      else {
        ctx.out(`=== ${name}`);
        const entries = Object.entries(body.report);
        // redis INFO is long: the lines people look for first
        const keep =
          t.type === "redis"
            ? entries.filter(([k]) =>
                [
                  "redis_version",
                  "uptime_in_seconds",
                  "connected_clients",
                  "used_memory_human",
                  "maxmemory_human",
                  "db0",
                  "aof_enabled",
                  "rdb_last_save_time",
                ].includes(k),
              )
            : entries;
        ctx.out(formatKeyValues(keep));
      }
      return 0;
    },
  };
}

function credentialsCommand(t: TypeCommands): CommandSpec {
  return {
    name: `${t.prefix}:credentials`,
    aliases: spell(t, "credentials"),
    group: "Addons",
    summary: `print a ${t.title} addon's connection variables (secrets included)`,
    args: "[NAME]",
    maxArgs: 1,
    usesApp: true,
    description: "The hostname is the addon's name, which resolves on the attached apps' networks only.",
    examples: [`hop ${t.prefix}:credentials shop-db`],
    async run(ctx) {
      const name = await addonOfType(ctx, t.type, t.title);
      const body = await ctx
        .client()
        .json<{ variables: Record<string, string> }>(addonPath(name, `/credentials?type=${t.type}`));
      if (ctx.json) ctx.printJson(body.variables);
      else for (const [k, v] of Object.entries(body.variables)) ctx.out(`${k}=${v}`);
      return 0;
    },
  };
}

const pg = TYPES.postgres!;
const redis = TYPES.redis!;
const mariadb = TYPES.mariadb!;

export const ADDON_COMMANDS: CommandSpec[] = [
  addonsCommand,
  addonsCreateCommand,
  addonsAttachCommand,
  addonsDetachCommand,
  addonsInfoCommand,
  addonsExposeCommand,
  addonsUnexposeCommand,
  addonsDestroyCommand,
  clientCommand(pg, "psql", "psql"),
  infoCommand(pg),
  credentialsCommand(pg),
  dumpCommand(pg, "pg_dump (custom format)"),
  restoreCommand(pg, "a pg:dump"),
  clientCommand(redis, "cli", "redis-cli"),
  infoCommand(redis),
  credentialsCommand(redis),
  clientCommand(mariadb, "cli", "mariadb"),
  infoCommand(mariadb),
  credentialsCommand(mariadb),
  dumpCommand(mariadb, "mariadb-dump (SQL)"),
  restoreCommand(mariadb, "a mariadb:dump"),
];
