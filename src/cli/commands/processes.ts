/** Process commands: ps, start/stop/restart, logs (and the reserved ps:scale). */
import type { IncomingMessage } from "node:http";
import { pipeline } from "node:stream/promises";
import { type ApiErrorBody, ExitCode, Hop3Error, usageError } from "../../util/errors.js";
import type { CommandSpec } from "../command-spec.js";
import { appPath } from "../context.js";
import { formatTable, relativeTime } from "../output.js";
import { runOperation } from "../render.js";
import { appFromArgOrContext, releaseLabel, text } from "./shared.js";

interface ProcessInfo {
  type: string;
  instance?: number;
  state?: string;
  status?: string;
  container?: string;
  release?: unknown;
  startedAt?: string;
}

export function processRows(processes: ProcessInfo[], now = new Date()): string[][] {
  return processes.map((p) => [
    p.instance !== undefined ? `${p.type}.${p.instance}` : p.type,
    text(p.state),
    text(p.status),
    releaseLabel(p.release),
    relativeTime(p.startedAt, now) || "-",
  ]);
}

export const psCommand: CommandSpec = {
  name: "ps",
  aliases: ["app ps", "ps:list"],
  group: "Processes",
  summary: "list an app's processes",
  args: "[APP]",
  maxArgs: 1,
  usesApp: true,
  examples: ["hop ps", "hop ps --app myapp --json"],
  async run(ctx) {
    const app = await appFromArgOrContext(ctx);
    const body = await ctx.client().json<{ processes: ProcessInfo[] }>(appPath(app, "/ps"));
    if (ctx.json) {
      ctx.printJson(body);
      return 0;
    }
    if (body.processes.length === 0) {
      ctx.out(`${app} has no processes. Start it with \`hop start\` or deploy it with \`hop deploy\`.`);
      return 0;
    }
    ctx.out(formatTable(["PROCESS", "STATE", "STATUS", "RELEASE", "STARTED"], processRows(body.processes)));
    return 0;
  },
};

export const psScaleCommand: CommandSpec = {
  name: "ps:scale",
  aliases: ["ps scale", "scale"],
  group: "Processes",
  summary: "set how many instances of each process type run",
  args: "TYPE=N...",
  minArgs: 1,
  usesApp: true,
  examples: ["hop ps:scale web=2 worker=1", "hop ps:scale worker=0"],
  async run(ctx) {
    const app = await ctx.app();
    const scale: Record<string, number> = {};
    for (const arg of ctx.args) {
      const m = /^([A-Za-z0-9_-]+)=(\d{1,3})$/.exec(arg);
      if (!m)
        throw usageError(`expected TYPE=N, got ${JSON.stringify(arg)}`, "for example: hop ps:scale web=2");
      scale[m[1]!] = Number(m[2]);
    }
    return runOperation(ctx, appPath(app, "/scale"), { method: "POST", json: { scale } }, (r) => {
      const now = (r.scale ?? {}) as Record<string, number>;
      return `${app} scaled: ${Object.entries(now)
        .map(([t, n]) => `${t}=${n}`)
        .join(" ")}`;
    });
  },
};

export const psRestartCommand: CommandSpec = {
  name: "ps:restart",
  aliases: ["ps restart"],
  group: "Processes",
  summary: "restart all processes, or those of one type, with zero downtime",
  args: "[TYPE]",
  maxArgs: 1,
  usesApp: true,
  examples: ["hop ps:restart", "hop ps:restart worker"],
  async run(ctx) {
    const app = await ctx.app();
    const type = ctx.args[0];
    return runOperation(
      ctx,
      appPath(app, "/restart"),
      { method: "POST", query: { process: type } },
      () => `${app}${type ? ` ${type}` : ""} restarted`,
    );
  },
};

export const rollbackCommand: CommandSpec = {
  name: "rollback",
  aliases: ["releases:rollback", "app rollback"],
  group: "Deploy",
  summary: "return to an earlier release (the previous one by default)",
  args: "[vN]",
  maxArgs: 1,
  usesApp: true,
  examples: ["hop rollback", "hop rollback v3"],
  async run(ctx) {
    const app = await ctx.app();
    const arg = ctx.args[0];
    let release: number | undefined;
    if (arg !== undefined) {
      const m = /^v?(\d+)$/.exec(arg);
      if (!m) throw usageError(`expected a release like v3, got ${JSON.stringify(arg)}`);
      release = Number(m[1]);
    }
    return runOperation(
      ctx,
      appPath(app, "/rollback"),
      { method: "POST", json: release === undefined ? {} : { release } },
      (r) => `${app} rolled back: now running v${String(r.release)}`,
    );
  },
};

const VERB_PAST: Record<string, string> = { start: "started", stop: "stopped", restart: "restarted" };

function lifecycleCommand(verb: "start" | "stop" | "restart"): CommandSpec {
  return {
    name: verb,
    aliases: [`app ${verb}`, `apps:${verb}`],
    group: "Processes",
    summary: `${verb} an app's processes`,
    args: "[APP]",
    maxArgs: 1,
    usesApp: true,
    examples: [`hop ${verb}`, `hop ${verb} myapp`],
    async run(ctx) {
      const app = await appFromArgOrContext(ctx);
      return runOperation(
        ctx,
        appPath(app, `/${verb}`),
        { method: "POST" },
        () => `${app} ${VERB_PAST[verb]}`,
      );
    },
  };
}

export const startCommand = lifecycleCommand("start");
export const stopCommand = lifecycleCommand("stop");
export const restartCommand = lifecycleCommand("restart");

async function errorFrom(res: IncomingMessage): Promise<Hop3Error> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  const raw = Buffer.concat(chunks).toString("utf8");
  try {
    const body = JSON.parse(raw) as ApiErrorBody;
    if (body.error?.message) {
      const kind = body.error.kind in ExitCode ? body.error.kind : "error";
      return new Hop3Error(body.error.message, kind, body.error.hint);
    }
  } catch {
    // not JSON
  }
  return new Hop3Error(`server answered HTTP ${res.statusCode}: ${raw.slice(0, 200)}`, "network");
}

export const logsCommand: CommandSpec = {
  name: "logs",
  aliases: ["app logs", "apps:logs"],
  group: "Processes",
  summary: "show (and follow) an app's logs",
  args: "[PROCESS]",
  maxArgs: 2,
  usesApp: true,
  options: [
    { name: "follow", short: "f", type: "boolean", description: "keep following new lines (Ctrl-C to stop)" },
    { name: "tail", short: "t", type: "boolean", description: "same as --follow (Heroku)" },
    { name: "num", short: "n", type: "string", value: "N", description: "how many past lines (default 100)" },
    { name: "process", short: "p", type: "string", value: "TYPE", description: "only this process type" },
  ],
  description:
    "Lines read `TIMESTAMP TYPE.N | text`. The seed form `hop logs APP PROCESS` (two arguments) works too.",
  examples: ["hop logs", "hop logs -f web", "hop logs -t -p worker -n 20"],
  async run(ctx) {
    let app: string;
    let process = ctx.opt("process");
    if (ctx.args.length === 2) {
      app = await appFromArgOrContext(ctx);
      process ??= ctx.args[1];
    } else {
      app = await ctx.app();
      process ??= ctx.args[0];
    }
    const num = ctx.opt("num");
    if (num !== undefined && !/^\d+$/.test(num))
      throw usageError(`-n expects a number of lines, got ${JSON.stringify(num)}`);
    const follow = ctx.flag("follow") || ctx.flag("tail");
    const res = await ctx.client().request(appPath(app, "/logs"), {
      query: { follow: follow ? "1" : undefined, process, lines: num },
    });
    if ((res.statusCode ?? 500) >= 400) throw await errorFrom(res);

    const abort = new AbortController();
    const off = ctx.io.onInterrupt(() => abort.abort());
    try {
      await pipeline(res, ctx.io.stdout, { end: false, signal: abort.signal });
    } catch (err) {
      // Ctrl-C, or the reader of our stdout went away (`hop logs | head`): both are a normal end.
      const code = (err as NodeJS.ErrnoException).code;
      if (abort.signal.aborted || code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE") return 0;
      throw new Hop3Error(`the log stream broke: ${(err as Error).message}`, "network");
    } finally {
      off();
    }
    return 0;
  },
};
