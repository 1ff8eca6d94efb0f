/** `KEY=VALUE` arguments of `config:set` and `deploy --env`. */
import { usageError } from "../util/errors.js";

/** Environment variable names as POSIX shells accept them. */
export const ENV_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits at the first `=`: the value may contain more `=`, and `KEY=` sets an empty value. */
export function parseAssignment(arg: string): [string, string] {
  const eq = arg.indexOf("=");
  if (eq < 0) {
    throw usageError(`expected KEY=VALUE, got ${JSON.stringify(arg)}`, `to set an empty value write ${arg}=`);
  }
  const key = arg.slice(0, eq);
  if (!ENV_KEY_PATTERN.test(key)) {
    throw usageError(
      `invalid variable name ${JSON.stringify(key)} in ${JSON.stringify(arg)}`,
      "names are letters, digits and underscores, not starting with a digit",
    );
  }
  return [key, arg.slice(eq + 1)];
}

/** Later assignments of the same key win, as in a shell. */
export function parseAssignments(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of args) {
    const [k, v] = parseAssignment(arg);
    out[k] = v;
  }
  return out;
}

export function validateKey(key: string): string {
  if (!ENV_KEY_PATTERN.test(key)) {
    throw usageError(
      `invalid variable name ${JSON.stringify(key)}`,
      "names are letters, digits and underscores, not starting with a digit",
    );
  }
  return key;
}
