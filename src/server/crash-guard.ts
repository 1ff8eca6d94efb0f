/**
 * The last line of defence of a long-running server that streams other programs' output: an error that
 * escapes a stream handler (a RangeError on an absurd line, a socket reset) must cost that one operation,
 * never every app's deploys and `hop logs` at once. Each stream has its own error handler; this guard logs
 * whatever still gets through, with its stack, so it can be fixed where it happened.
 */
export interface CrashGuardLog {
  error(obj: Record<string, unknown>, msg: string): void;
}

export function installCrashGuard(log: CrashGuardLog, proc: NodeJS.Process = process): void {
  proc.on("uncaughtException", (err, origin) => {
    log.error({ err: describe(err), origin }, "uncaught exception (the server keeps running)");
  });
  proc.on("unhandledRejection", (reason) => {
    log.error({ err: describe(reason) }, "unhandled promise rejection (the server keeps running)");
  });
}

function describe(err: unknown): string {
  if (err instanceof Error) return (err.stack ?? `${err.name}: ${err.message}`).slice(0, 4096);
  return String(err).slice(0, 4096);
}
