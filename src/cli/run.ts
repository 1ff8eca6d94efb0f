/**
 * `hop` as a function: parses argv, runs the command, and turns every outcome into an exit code and output.
 * Users never see a stack trace for their own mistakes; a bug says so, with the stack only under HOP3_DEBUG=1.
 */
import { Hop3Error } from "../util/errors.js";
import { parseCommandLine } from "./args.js";
import { COMMANDS, helpCommand, versionCommand } from "./commands.js";
import { CliContext, type CliIo, processIo } from "./context.js";
import { commandHelp, generalHelp } from "./help.js";

export async function run(argv: string[], io: CliIo = processIo()): Promise<number> {
  const end = argv.indexOf("--");
  const wantsJson = (end < 0 ? argv : argv.slice(0, end)).includes("--json");
  try {
    const parsed = parseCommandLine(COMMANDS, argv);
    let command = parsed.command;
    if (!command && parsed.options.version) command = versionCommand;
    if (!command) {
      io.stdout.write(`${generalHelp(COMMANDS)}\n`);
      return 0;
    }
    if (parsed.options.help && command !== helpCommand) {
      io.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    const ctx = new CliContext(io, command, parsed.args, parsed.options);
    return (await command.run(ctx)) ?? 0;
  } catch (err) {
    return reportError(err, io, wantsJson);
  }
}

/** Prints an error the way the user asked for (text on stderr, or JSON on stdout) and returns the exit code. */
export function reportError(
  err: unknown,
  io: Pick<CliIo, "stdout" | "stderr" | "env">,
  json: boolean,
): number {
  if (err instanceof Hop3Error) {
    if (json) {
      const error = { kind: err.kind, message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
      io.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
    } else {
      io.stderr.write(`Error: ${err.message}\n${err.hint ? `Hint: ${err.hint}\n` : ""}`);
    }
    return err.exitCode;
  }
  const message = `internal error: ${err instanceof Error ? err.message : String(err)}`;
  if (json) io.stdout.write(`${JSON.stringify({ error: { kind: "error", message } }, null, 2)}\n`);
  else io.stderr.write(`Error: ${message}\n`);
  if (io.env.HOP3_DEBUG === "1" && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
  else if (!json)
    io.stderr.write("This is a bug in hop. Run again with HOP3_DEBUG=1 to see the stack trace.\n");
  return 1;
}
