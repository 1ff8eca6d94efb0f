/**
 * What a command handler gets: its arguments and options, the process's streams and environment (injectable
 * for tests), an API client, and app resolution.
 */
import { resolve } from "node:path";
import { ApiClient, resolveEndpoint } from "../client/api-client.js";
import { requireApp } from "./app-resolve.js";
import type { CommandSpec, OptionValue } from "./command-spec.js";
import { type Painter, painter, useColor } from "./output.js";

export type OutStream = NodeJS.WritableStream & { isTTY?: boolean };

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Registers a Ctrl-C handler; returns its removal. */
  onInterrupt(handler: () => void): () => void;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    onInterrupt(handler) {
      process.on("SIGINT", handler);
      return () => process.off("SIGINT", handler);
    },
  };
}

export class CliContext {
  readonly paint: Painter;
  readonly paintErr: Painter;
  private apiClient?: ApiClient;

  constructor(
    readonly io: CliIo,
    readonly command: CommandSpec,
    readonly args: string[],
    readonly options: Record<string, OptionValue>,
  ) {
    this.paint = painter(!this.json && useColor(io.stdout, io.env));
    this.paintErr = painter(useColor(io.stderr, io.env));
  }

  get json(): boolean {
    return this.options.json === true;
  }

  /** A string option's value. */
  opt(name: string): string | undefined {
    const v = this.options[name];
    return typeof v === "string" ? v : undefined;
  }

  flag(name: string): boolean {
    return this.options[name] === true;
  }

  list(name: string): string[] {
    const v = this.options[name];
    return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
  }

  out(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }

  err(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  /** Machine-readable output: pretty JSON on stdout, nothing else. */
  printJson(value: unknown): void {
    this.out(JSON.stringify(value, null, 2));
  }

  client(): ApiClient {
    this.apiClient ??= new ApiClient(resolveEndpoint(this.io.env));
    return this.apiClient;
  }

  /** The app to act on, looked up from `dir` (default: the working directory); a usage error if none. */
  async app(dir?: string): Promise<string> {
    const found = await requireApp({
      flag: this.opt("app"),
      env: this.io.env,
      dir: resolve(this.io.cwd, dir ?? "."),
    });
    return found.name;
  }
}

/** `/api/v1/apps/NAME` with the name escaped. */
export const appPath = (app: string, rest = "") => `/api/v1/apps/${encodeURIComponent(app)}${rest}`;
