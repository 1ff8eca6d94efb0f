/** Small pieces several command handlers share. */
import { createInterface } from "node:readline";
import { usageError } from "../../util/errors.js";
import type { CliContext } from "../context.js";

/** Commands that act on one app also accept it as their only argument (`hop restart myapp`). */
export async function appFromArgOrContext(ctx: CliContext): Promise<string> {
  const positional = ctx.args[0];
  if (positional === undefined) return ctx.app();
  const flag = ctx.opt("app");
  if (flag !== undefined && flag !== positional) {
    throw usageError(
      `two different apps given: ${JSON.stringify(positional)} and --app ${JSON.stringify(flag)}`,
    );
  }
  return positional;
}

/** `v3`; a missing release reads `-`. The API gives a number, older answers an object with `number`. */
export function releaseLabel(release: unknown): string {
  if (typeof release === "number") return `v${release}`;
  if (typeof release === "string" && release) return /^\d+$/.test(release) ? `v${release}` : release;
  if (release && typeof release === "object" && "number" in release) return releaseLabel(release.number);
  return "-";
}

export const text = (value: unknown): string =>
  value === undefined || value === null || value === "" ? "-" : String(value);

/** What the API says of a restore into an app that runs, or did not finish (backup/restore-recovery.ts). */
export interface RestoreSummary {
  backup: string;
  status: "restoring" | "failed";
  step?: string | null;
  error?: string | null;
  at?: string;
}

/** The warning `hop apps` and `hop releases` print for an app whose restore did not finish; none otherwise. */
export function restoreFailureLine(app: string, restore: RestoreSummary | undefined): string | undefined {
  if (restore?.status !== "failed") return undefined;
  return `!      ${app}: restore of backup ${restore.backup} FAILED: ${restore.error ?? "(no reason recorded)"}`;
}

/** Asks one question on stderr (stdout stays clean for --json) and returns the answer. */
export async function ask(ctx: CliContext, question: string): Promise<string> {
  const rl = createInterface({
    input: ctx.io.stdin,
    output: ctx.io.stderr,
    terminal: Boolean(ctx.io.stdin.isTTY),
  });
  try {
    return await new Promise<string>((resolve) => {
      rl.once("close", () => resolve(""));
      rl.question(question, resolve);
    });
  } finally {
    rl.close();
  }
}

/**
 * The typed confirmation every command that deletes data asks for: `--confirm NAME`, or on a terminal the
 * name typed after a warning. Anything else stops before the server is asked to do anything.
 */
export async function confirmByName(
  ctx: CliContext,
  name: string,
  what: { destroys: string; needs: string; prompt: string },
): Promise<string> {
  let confirm = ctx.opt("confirm");
  if (confirm === undefined) {
    if (!ctx.io.stdin.isTTY)
      throw usageError(`${what.needs} and needs confirmation`, `pass --confirm ${name}`);
    ctx.err(ctx.paintErr.red(`!      This destroys ${what.destroys}.`));
    confirm = (await ask(ctx, what.prompt)).trim();
  }
  if (confirm !== name)
    throw usageError(`confirmation ${JSON.stringify(confirm)} does not match ${name}; nothing done`);
  return confirm;
}
