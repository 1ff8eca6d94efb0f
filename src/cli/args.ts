/**
 * Command-line parsing driven by the command table: colon (`config:set`) and space (`config set`) forms,
 * global flags anywhere, `--opt value` / `--opt=value` / `-o value`, and `--` to end options.
 */
import { usageError } from "../util/errors.js";
import { type CommandSpec, GLOBAL_OPTIONS, type OptionSpec, type OptionValue } from "./command-spec.js";

export interface ParsedCommandLine {
  /** Undefined when no command was named (plain `hop`, `hop --help`). */
  command?: CommandSpec;
  /** Positional arguments after the command words. */
  args: string[];
  /** Every option given, by long name (global ones included). */
  options: Record<string, OptionValue>;
}

/** All the spellings of a command as word lists: `config:set` and `config set` are both ["config", "set"]. */
export function commandForms(spec: CommandSpec): string[][] {
  return [spec.name, ...(spec.aliases ?? [])].map((form) => form.split(/[:\s]+/).filter(Boolean));
}

/**
 * Every option any command knows, by long and short name. A name must mean the same thing everywhere
 * so options can be parsed before the command is known (`hop -a x logs -n 5`).
 */
export function optionIndex(table: CommandSpec[]): Map<string, OptionSpec> {
  const index = new Map<string, OptionSpec>();
  for (const opt of [...GLOBAL_OPTIONS, ...table.flatMap((c) => c.options ?? [])]) {
    for (const key of [`--${opt.name}`, ...(opt.short ? [`-${opt.short}`] : [])]) {
      const seen = index.get(key);
      if (seen && (seen.name !== opt.name || seen.type !== opt.type)) {
        throw new Error(
          `option ${key} is declared twice with different meanings (${seen.name}, ${opt.name})`,
        );
      }
      index.set(key, opt);
    }
  }
  return index;
}

/** Finds the command named by the leading positionals, preferring the longest matching form. */
export function matchCommand(
  table: CommandSpec[],
  positionals: string[],
): { command: CommandSpec; rest: string[] } | undefined {
  if (positionals.length === 0) return undefined;
  const [first, ...others] = positionals;
  const firstWords = first!.split(":").filter(Boolean);
  const words = [...firstWords, ...others];
  let best: { command: CommandSpec; used: number } | undefined;
  for (const spec of table) {
    for (const form of commandForms(spec)) {
      // A colon form must be consumed whole: `config:set` never matches plain `config` with `set` left over.
      if (form.length < firstWords.length) continue;
      if (form.length > words.length) continue;
      if (!form.every((w, i) => words[i] === w)) continue;
      if (!best || form.length > best.used) best = { command: spec, used: form.length };
    }
  }
  if (!best) return undefined;
  return { command: best.command, rest: words.slice(best.used) };
}

/** Edit distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** Command spellings close to what was typed (same first word, a small typo, or a shared prefix). */
export function suggestCommands(table: CommandSpec[], typed: string): string[] {
  const norm = typed.replace(/\s+/g, ":");
  const scored: [string, number][] = [];
  for (const spec of table) {
    for (const form of [spec.name, ...(spec.aliases ?? [])]) {
      const f = form.replace(/\s+/g, ":");
      const d = editDistance(norm, f);
      const sameGroup = f.split(":")[0] === norm.split(":")[0];
      const prefix = f.startsWith(norm) || norm.startsWith(f);
      if (d <= Math.max(2, Math.floor(norm.length / 3)) || sameGroup || prefix) scored.push([form, d]);
    }
  }
  scored.sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]));
  return [...new Set(scored.map(([f]) => f))].slice(0, 5);
}

/** Splits argv into options and positionals, then finds the command and checks its options and arity. */
export function parseCommandLine(table: CommandSpec[], argv: string[]): ParsedCommandLine {
  const index = optionIndex(table);
  const options: Record<string, OptionValue> = {};
  const given: string[] = [];
  const positionals: string[] = [];
  // set once the words typed so far name a command that passes its arguments through (`hop run`)
  let passThrough = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      if (passThrough) {
        positionals.push(...argv.slice(i));
        break;
      }
      positionals.push(token);
      const named = matchCommand(table, positionals);
      passThrough = Boolean(named?.command.passThroughArgs && named.rest.length === 0);
      continue;
    }
    let key = token;
    let inline: string | undefined;
    if (token.startsWith("--")) {
      const eq = token.indexOf("=");
      if (eq > 0) {
        key = token.slice(0, eq);
        inline = token.slice(eq + 1);
      }
    } else if (token.length > 2) {
      // `-n50`: a short string option glued to its value
      key = token.slice(0, 2);
      inline = token.slice(2);
    }
    const spec = index.get(key);
    if (!spec) throw usageError(`unknown option ${token}`, "see `hop help` for the options of each command");
    let value: OptionValue;
    if (spec.type === "boolean") {
      if (inline !== undefined) throw usageError(`option ${key} takes no value`);
      value = true;
    } else if (inline !== undefined) {
      value = inline;
    } else {
      const next = argv[i + 1];
      if (next === undefined)
        throw usageError(`option ${key} needs a value${spec.value ? ` (${spec.value})` : ""}`);
      value = next;
      i++;
    }
    if (spec.multiple) {
      const list = (options[spec.name] as string[] | undefined) ?? [];
      options[spec.name] = [...list, value as string];
    } else {
      options[spec.name] = value;
    }
    given.push(`--${spec.name}`);
  }

  if (positionals.length === 0) return { args: [], options };
  const match = matchCommand(table, positionals);
  if (!match) {
    const typed = positionals[0]!;
    const close = suggestCommands(table, typed);
    throw usageError(
      `unknown command ${JSON.stringify(typed)}`,
      close.length ? `did you mean: ${close.join(", ")}?` : "run `hop help` for the list of commands",
    );
  }
  const { command, rest } = match;
  if (!options.help) checkCommandLine(command, rest, given);
  return { command, args: rest, options };
}

function checkCommandLine(command: CommandSpec, args: string[], given: string[]): void {
  const allowed = new Set([...GLOBAL_OPTIONS, ...(command.options ?? [])].map((o) => `--${o.name}`));
  for (const flag of given) {
    if (!allowed.has(flag)) {
      throw usageError(`hop ${command.name} does not take ${flag}`, `see \`hop help ${command.name}\``);
    }
  }
  const usage = `usage: hop ${command.name}${command.args ? ` ${command.args}` : ""}`;
  if (args.length < (command.minArgs ?? 0)) {
    throw usageError(`hop ${command.name}: missing argument`, usage);
  }
  if (command.maxArgs !== undefined && args.length > command.maxArgs) {
    throw usageError(
      `hop ${command.name}: unexpected argument ${JSON.stringify(args[command.maxArgs])}`,
      usage,
    );
  }
}
