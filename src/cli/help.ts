/** Help text, generated from the command table so it never drifts from what the parser accepts. */
import { type CommandSpec, GLOBAL_OPTIONS, type OptionSpec } from "./command-spec.js";
import { formatColumns } from "./output.js";

export const GROUP_ORDER = ["Apps", "Deploy", "Config", "Processes", "Setup", "Help"];

const usageLine = (spec: CommandSpec) => `hop ${spec.name}${spec.args ? ` ${spec.args}` : ""}`;

function optionLabel(opt: OptionSpec): string {
  const names = `${opt.short ? `-${opt.short}, ` : "    "}--${opt.name}`;
  return opt.type === "string" ? `${names} ${opt.value ?? "VALUE"}` : names;
}

const indent = (text: string, by = "  ") =>
  text
    .split("\n")
    .map((l) => (l ? by + l : l))
    .join("\n");

/** Greedy word wrap for prose paragraphs. */
export function wrap(text: string, width = 100): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.join("\n");
}

export const APP_LOOKUP =
  "Without --app, the app is HOP3_APP, else the name in a .hop3-app file (this directory or a parent up to the " +
  "git root), else [metadata].id of hop3.toml, else the app of the `hop3` git remote (hop3@host:APP).";

export function generalHelp(table: CommandSpec[]): string {
  const groups = [...new Set([...GROUP_ORDER, ...table.map((c) => c.group)])];
  const width = Math.max(...table.map((c) => usageLine(c).length - 4));
  const sections = groups
    .map((group) => {
      const cmds = table.filter((c) => c.group === group);
      if (cmds.length === 0) return "";
      // Pad to the widest usage of all groups so the summaries form one column down the page.
      return `${group}:\n${indent(formatColumns(cmds.map((c) => [usageLine(c).slice(4).padEnd(width), c.summary])))}`;
    })
    .filter(Boolean);
  return [
    "Usage: hop COMMAND [ARGS] [--app NAME] [--json]",
    "",
    "Hop3 command-line client: deploy and run apps on your Hop3 server.",
    "",
    ...sections.flatMap((s) => [s, ""]),
    "Global options:",
    indent(formatColumns(GLOBAL_OPTIONS.map((o) => [optionLabel(o), o.description]))),
    "",
    "Colon and space forms are the same command: `hop config:set K=V` = `hop config set K=V` = `hop env set K=V`.",
    wrap(APP_LOOKUP),
    wrap(
      "The server is HOP3_URL (unix:/path or https://host) with HOP3_TOKEN, else ~/.config/hop3/config.json, " +
        "else the local socket. Run `hop help COMMAND` for details and examples.",
    ),
  ].join("\n");
}

export function commandHelp(spec: CommandSpec): string {
  const opts = spec.options ?? [];
  const out = [
    `Usage: ${usageLine(spec)}${opts.length ? " [options]" : ""}`,
    "",
    `${spec.summary[0]!.toUpperCase()}${spec.summary.slice(1)}.`,
  ];
  if (spec.description) out.push("", wrap(spec.description));
  if (spec.aliases?.length) out.push("", `Also: ${spec.aliases.map((a) => `hop ${a}`).join(", ")}`);
  if (opts.length) {
    out.push("", "Options:", indent(formatColumns(opts.map((o) => [optionLabel(o), o.description]))));
  }
  out.push("", "Global options: -a, --app NAME   --json   -h, --help");
  if (spec.usesApp) out.push("", wrap(APP_LOOKUP));
  if (spec.examples?.length) out.push("", "Examples:", ...spec.examples.map((e) => `  $ ${e}`));
  return out.join("\n");
}
