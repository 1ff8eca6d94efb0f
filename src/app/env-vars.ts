/**
 * What an app's environment variable may be called and hold, wherever it comes from: the ENV file, hop3.toml
 * [env], `hop config:set` (the API) and `hop deploy --env`. Checked where the value enters, so a bad value is
 * refused with its key and its source, before anything is stored, instead of breaking every later deploy.
 */
import { usageError } from "../util/errors.js";

/** POSIX-style variable names: what a shell, and therefore every process in the app, can read. */
export const ENV_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const ENV_KEY_RULE = 'letters, digits and "_", not starting with a digit';

/**
 * Control characters (C0 except tab, and DEL) cannot cross every path a value takes: a NUL ends a C string,
 * and env files (Podman's --env-file, read by quadlets) hold one KEY=VALUE per line with no quoting, so a line
 * feed or carriage return would end or alter the value. A lone UTF-16 surrogate has no UTF-8 form: the app
 * would receive a different string.
 */
const FORBIDDEN =
  /[\u0000-\u0008\u000a-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const NAMES: Record<number, string> = {
  0: "a NUL byte",
  10: "a line feed",
  13: "a carriage return",
  27: "an escape character",
  127: "a DEL character",
};

/** Why `value` cannot be an environment value, or undefined when it can. */
export function envValueProblem(value: string): string | undefined {
  const found = FORBIDDEN.exec(value);
  if (!found) return undefined;
  const code = found[0].charCodeAt(0);
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  const what = code >= 0xd800 ? "an unpaired surrogate" : (NAMES[code] ?? "a control character");
  return `contains ${what} (${hex}) at character ${found.index + 1}`;
}

/**
 * Throws a usage error naming `where` (e.g. "ENV:3", "hop3.toml:7", "config:set") and the key when the name or
 * value is not allowed.
 */
export function checkEnvVar(key: string, value: unknown, where: string): void {
  if (!ENV_KEY_PATTERN.test(key)) {
    throw usageError(`${where}: invalid variable name ${JSON.stringify(key)}: use ${ENV_KEY_RULE}`);
  }
  if (typeof value !== "string") throw usageError(`${where}: the value of ${key} must be a string`);
  const problem = envValueProblem(value);
  if (problem) {
    throw usageError(
      `${where}: the value of ${key} ${problem}: values cannot contain control characters other than tab`,
      "for a multi-line value (a PEM key...), store it encoded (base64) and decode it in the app, or keep it in a file in a volume",
    );
  }
}
