/**
 * The shape of the declarative command table: parsing, help text and dispatch all read the same data.
 */
import type { CliContext } from "./context.js";

export interface OptionSpec {
  /** Long name without dashes: `app` is `--app`. */
  name: string;
  /** One letter: `a` is `-a`. */
  short?: string;
  type: "boolean" | "string";
  /** May be given several times; the value is then a list. */
  multiple?: boolean;
  /** Placeholder shown in help for a string option. */
  value?: string;
  description: string;
}

export type OptionValue = string | boolean | string[];

export interface CommandSpec {
  /** Canonical name, Heroku colon form: `config:set`. The space form (`config set`) always works too. */
  name: string;
  /** Other spellings, colon or space form: `env set`, `apps:create`. */
  aliases?: string[];
  group: string;
  summary: string;
  /** Positional arguments as shown in usage: `KEY=VALUE...`. */
  args?: string;
  minArgs?: number;
  /** Omitted means unlimited. */
  maxArgs?: number;
  options?: OptionSpec[];
  /** Whether `--app` (or its fallbacks) is meaningful for this command; shown in help. */
  usesApp?: boolean;
  /**
   * Everything after the first positional argument is passed as is, options included (`hop run ls -la`);
   * the command's own options go before it.
   */
  passThroughArgs?: boolean;
  description?: string;
  examples?: string[];
  /** Returns the exit code; nothing means 0. */
  run(ctx: CliContext): Promise<number | undefined>;
}

export const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: "app", short: "a", type: "string", value: "NAME", description: "the app to act on" },
  { name: "json", type: "boolean", description: "machine-readable JSON output" },
  { name: "help", short: "h", type: "boolean", description: "show help" },
  { name: "version", type: "boolean", description: "show the hop version" },
];
