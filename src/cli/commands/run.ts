/** One-off work: `hop run` (attached or detached) and the cron commands. */
import type { Duplex } from "node:stream";
import { ExitCode, Hop3Error } from "../../util/errors.js";
import { openUpgrade } from "../attach.js";
import type { CommandSpec } from "../command-spec.js";
import { appPath, type CliContext } from "../context.js";
import { formatTable, relativeTime } from "../output.js";
import { exitCodeForKind } from "../render.js";
import { FrameDemuxer } from "../stream-demux.js";
import { text } from "./shared.js";

interface CreatedRun {
  id: string;
  name: string;
  source: string;
}

type TtyIn = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
type TtyOut = NodeJS.WritableStream & {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  on(ev: "resize", fn: () => void): unknown;
};

const runPath = (id: string, rest: string) => `/api/v1/runs/${encodeURIComponent(id)}${rest}`;

export const runCommand: CommandSpec = {
  name: "run",
  aliases: ["app run", "run:detached"],
  group: "Processes",
  summary: "run a command in a one-off container with the app's image and config",
  args: "COMMAND [ARG...]",
  minArgs: 1,
  usesApp: true,
  passThroughArgs: true,
  options: [
    {
      name: "detach",
      short: "d",
      type: "boolean",
      description: "start it and return; its output shows in `hop logs -p run`",
    },
  ],
  description:
    "Options go before COMMAND; everything from COMMAND on is passed as is (`hop run ls -la`). With a terminal, " +
    "the session is interactive (`hop run bash`); otherwise stdin is forwarded and stdout and stderr are kept " +
    "apart. hop exits with the command's exit code. No shell is involved unless you run one: " +
    "`hop run sh -c 'a && b'`.",
  examples: [
    "hop run bash",
    "hop run python manage.py migrate",
    "echo 'select 1' | hop run psql",
    "hop run -d ./long-task",
  ],
  async run(ctx) {
    const app = await ctx.app();
    const detach = ctx.flag("detach");
    const stdin = ctx.io.stdin as TtyIn;
    const stdout = ctx.io.stdout as TtyOut;
    const tty = !detach && Boolean(stdin.isTTY && stdout.isTTY && stdin.setRawMode);
    const size = tty && stdout.columns && stdout.rows ? { cols: stdout.columns, rows: stdout.rows } : {};
    const client = ctx.client();
    const created = await client.json<CreatedRun>(appPath(app, "/runs"), {
      method: "POST",
      json: { command: ctx.args, tty, interactive: !detach, detach, ...size },
    });
    if (detach) {
      if (ctx.json) ctx.printJson(created);
      else {
        ctx.out(created.name);
        ctx.err(`Running as ${created.source}: follow it with \`hop logs -f -p ${created.source}\``);
      }
      return ExitCode.ok;
    }
    return attachSession(ctx, created.id, tty);
  },
};

/**
 * Attaches to a created session (a `hop run`, an addon client such as `hop pg:psql`), pumps the terminal or
 * the streams, and answers the session's exit code (130 when Ctrl-C ended it).
 */
export async function attachSession(ctx: CliContext, id: string, tty: boolean): Promise<number> {
  const client = ctx.client();
  const socket = await openUpgrade(client.endpoint, runPath(id, "/attach"));
  const interrupted = await (tty ? pumpTty(ctx, id, socket) : pumpStreams(ctx, socket));
  const { exitCode } = await client.json<{ exitCode: number }>(runPath(id, "/wait"));
  return interrupted ? 130 : exitCode;
}

/** Whether this hop can give a session a terminal (stdin and stdout are terminals). */
export function hasTerminal(ctx: CliContext): { tty: boolean; cols?: number; rows?: number } {
  const stdin = ctx.io.stdin as TtyIn;
  const stdout = ctx.io.stdout as TtyOut;
  const tty = Boolean(stdin.isTTY && stdout.isTTY && stdin.setRawMode);
  return tty && stdout.columns && stdout.rows ? { tty, cols: stdout.columns, rows: stdout.rows } : { tty };
}

/** Raw terminal both ways; Ctrl-C is a byte for the container's terminal. Answers false (never interrupted). */
async function pumpTty(ctx: CliContext, id: string, socket: Duplex): Promise<boolean> {
  const stdin = ctx.io.stdin as TtyIn;
  const stdout = ctx.io.stdout as TtyOut;
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  const onInput = (d: Buffer) => socket.write(d);
  const onResize = () => {
    if (!stdout.columns || !stdout.rows) return;
    void ctx
      .client()
      .json(runPath(id, "/resize"), { method: "POST", json: { cols: stdout.columns, rows: stdout.rows } })
      .catch(() => {});
  };
  socket.on("data", (d: Buffer) => stdout.write(d));
  socket.on("error", () => {});
  stdin.setRawMode?.(true);
  stdin.on("data", onInput);
  stdin.resume();
  stdout.on("resize", onResize);
  try {
    await closed;
  } finally {
    stdin.removeListener("data", onInput);
    (stdout as unknown as NodeJS.EventEmitter).removeListener("resize", onResize);
    stdin.setRawMode?.(false);
    stdin.pause();
  }
  return false;
}

/** stdin forwarded (its end is the container's), output demultiplexed. Answers whether Ctrl-C ended it. */
async function pumpStreams(ctx: CliContext, socket: Duplex): Promise<boolean> {
  const { stdin, stdout, stderr } = ctx.io;
  let interrupted = false;
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  const demux = new FrameDemuxer((stream, data) => (stream === "stderr" ? stderr : stdout).write(data));
  socket.on("data", (d: Buffer) => demux.push(d));
  socket.on("error", () => {});
  const onInput = (d: Buffer) => socket.write(d);
  const onEnd = () => socket.end();
  stdin.on("data", onInput);
  stdin.once("end", onEnd);
  stdin.on("error", onEnd);
  stdin.resume();
  // the server stops a run whose caller went away
  const off = ctx.io.onInterrupt(() => {
    interrupted = true;
    socket.destroy();
  });
  try {
    await closed;
  } finally {
    off();
    stdin.removeListener("data", onInput);
    stdin.removeListener("end", onEnd);
    stdin.removeListener("error", onEnd);
    stdin.pause();
  }
  if (demux.buffered > 0 && !interrupted) {
    throw new Hop3Error("the output stream was cut in the middle of a frame", "network");
  }
  return interrupted;
}

interface CronJobInfo {
  name: string;
  schedule: string;
  command: string;
  lastRun: { state: string; startedAt: string | null; exitCode: number | null } | null;
  nextRun: string | null;
}

export function cronRows(jobs: CronJobInfo[], now = new Date()): string[][] {
  return jobs.map((j) => [
    j.name,
    j.schedule,
    j.command,
    j.lastRun ? relativeTime(j.lastRun.startedAt ?? undefined, now) || "-" : "never",
    j.lastRun ? (j.lastRun.state === "running" ? "running" : text(j.lastRun.exitCode)) : "-",
    j.nextRun ? relativeTime(j.nextRun, now) : "never",
  ]);
}

export const cronListCommand: CommandSpec = {
  name: "cron:list",
  aliases: ["cron", "cron list"],
  group: "Processes",
  summary: "list an app's cron jobs (Procfile `cron:` lines), their last and next runs",
  maxArgs: 0,
  usesApp: true,
  examples: ["hop cron:list", "hop cron:list --json"],
  async run(ctx) {
    const app = await ctx.app();
    const body = await ctx.client().json<{ jobs: CronJobInfo[]; timeZone?: string }>(appPath(app, "/cron"));
    if (ctx.json) {
      ctx.printJson(body);
      return 0;
    }
    if (body.jobs.length === 0) {
      ctx.out(`${app} has no cron jobs. Declare them in the Procfile: cron: */5 * * * * python tasks.py`);
      return 0;
    }
    ctx.out(
      formatTable(["NAME", "SCHEDULE", "COMMAND", "LAST RUN", "EXIT", "NEXT RUN"], cronRows(body.jobs)),
    );
    if (body.timeZone) ctx.out(`(schedules are in the server's time zone, ${body.timeZone})`);
    return 0;
  },
};

export const cronRunCommand: CommandSpec = {
  name: "cron:run",
  aliases: ["cron run"],
  group: "Processes",
  summary: "run a cron job now and show its output",
  args: "NAME",
  minArgs: 1,
  maxArgs: 1,
  usesApp: true,
  description:
    "hop exits with the job's exit code. The run shows in `hop cron:list` and `hop logs` like a scheduled one.",
  examples: ["hop cron:run cron", "hop cron:run cron-backup"],
  async run(ctx) {
    const app = await ctx.app();
    const name = ctx.args[0]!;
    for await (const ev of ctx.client().stream(appPath(app, `/cron/${encodeURIComponent(name)}/run`))) {
      if (ev.event === "step") {
        if (!ctx.json) ctx.err(ctx.paintErr.bold(`-----> ${ev.message}`));
      } else if (ev.event === "log") {
        if (!ctx.json) ctx.out(ev.line);
      } else if (ev.event === "done") {
        if (ev.ok) {
          const exitCode = Number(ev.result?.exitCode ?? 1);
          if (ctx.json) ctx.printJson(ev.result);
          else if (exitCode !== 0) ctx.err(`${name} exited with code ${exitCode}`);
          return exitCode;
        }
        if (ctx.json) ctx.printJson({ error: ev.error });
        else ctx.err(ctx.paintErr.red(`!      ${ev.error?.message ?? "the run failed"}`));
        if (!ctx.json && ev.error?.hint) ctx.err(`!      ${ev.error.hint}`);
        return exitCodeForKind(ev.error?.kind);
      }
    }
    throw new Hop3Error("the server closed the stream before the run finished", "network");
  },
};
