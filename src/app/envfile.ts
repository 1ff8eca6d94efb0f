import { usageError } from "../util/errors.js";
import { checkEnvVar, ENV_KEY_PATTERN, ENV_KEY_RULE } from "./env-vars.js";
import { quoteForMessage } from "./name.js";
import { stripInlineComment } from "./procfile.js";

export { ENV_KEY_PATTERN };

/**
 * Parses an `ENV` file (Piku/Hop3) or a `.env`-style file: `KEY=VALUE` lines, `#` comments, blank lines,
 * an optional `export ` prefix, and values optionally wrapped in single quotes (literal) or double quotes
 * (with `\n`, `\t`, `\"`, `\\` escapes). A later line overrides an earlier one. Values holding control characters
 * other than tab (a `\n` escape included) are refused (env-vars.ts).
 */
export function parseEnvFile(text: string, file = "ENV"): Record<string, string> {
  // a Map, so that a name like __proto__ or toString is an ordinary variable
  const env = new Map<string, string>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n|\r/);
  lines.forEach((raw, index) => {
    const where = `${file}:${index + 1}`;
    let line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    if (/^export\s/.test(line)) line = line.slice("export".length).trimStart();

    const eq = line.indexOf("=");
    if (eq < 0) {
      throw usageError(`${where}: expected KEY=VALUE, got ${quoteForMessage(line)}`);
    }
    const key = line.slice(0, eq).trim();
    if (!ENV_KEY_PATTERN.test(key)) {
      throw usageError(`${where}: invalid variable name ${quoteForMessage(key)}: use ${ENV_KEY_RULE}`);
    }
    const value = parseValue(line.slice(eq + 1).trim(), where, key);
    checkEnvVar(key, value, where);
    env.set(key, value);
  });
  return Object.fromEntries(env);
}

function parseValue(value: string, where: string, key: string): string {
  const quote = value[0];
  if (quote !== '"' && quote !== "'") return stripInlineComment(value).trim();

  let out = "";
  for (let i = 1; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === quote) {
      const rest = value.slice(i + 1).trim();
      if (rest !== "" && !rest.startsWith("#")) {
        throw usageError(
          `${where}: unexpected text after the closing quote of ${key}: ${quoteForMessage(rest)}`,
        );
      }
      return out;
    }
    if (ch === "\\" && quote === '"' && i + 1 < value.length) {
      const next = value[++i]!;
      out += next === "n" ? "\n" : next === "t" ? "\t" : next === "r" ? "\r" : next;
      continue;
    }
    out += ch;
  }
  throw usageError(
    `${where}: unterminated ${quote === '"' ? "double" : "single"} quote in the value of ${key}`,
  );
}
