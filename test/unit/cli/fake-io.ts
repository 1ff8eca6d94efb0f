import { PassThrough, Readable } from "node:stream";
import type { CliIo } from "../../../src/cli/context.js";

export interface FakeIo extends CliIo {
  stdoutText(): string;
  stderrText(): string;
  interrupt(): void;
}

/** Streams that record what the CLI writes; no TTY, so no colours and no prompts. */
export function fakeIo(
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string; tty?: boolean } = {},
): FakeIo {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on("data", (c: Buffer) => out.push(c));
  stderr.on("data", (c: Buffer) => err.push(c));
  const stdin = Object.assign(Readable.from([Buffer.from(opts.stdin ?? "")]), { isTTY: opts.tty ?? false });
  const handlers = new Set<() => void>();
  return {
    stdout,
    stderr,
    stdin,
    env: { NO_COLOR: "1", ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
    onInterrupt(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    interrupt() {
      for (const h of handlers) h();
    },
    stdoutText: () => Buffer.concat(out).toString("utf8"),
    stderrText: () => Buffer.concat(err).toString("utf8"),
  };
}
