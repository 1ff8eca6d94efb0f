/** `hop setup:ssh`: authorise a public key for `git push hop3`. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { usageError } from "../../util/errors.js";
import type { CommandSpec } from "../command-spec.js";

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString("utf8");
}

/** The single public key line of a file, ignoring blank lines and comments. */
export function publicKeyLine(content: string, source: string): string {
  if (content.includes("PRIVATE KEY")) {
    throw usageError(`${source} is a private key: never upload it`, "pass the .pub file next to it");
  }
  const lines = content
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  if (lines.length !== 1) {
    throw usageError(
      `${source} must hold exactly one public key line, found ${lines.length}`,
      "pass a public key such as ~/.ssh/id_ed25519.pub",
    );
  }
  return lines[0]!;
}

export const setupSshCommand: CommandSpec = {
  name: "setup:ssh",
  aliases: ["ssh-keys:add", "keys:add"],
  group: "Setup",
  summary: "authorise an SSH public key for git push",
  args: "KEYFILE|-",
  minArgs: 1,
  maxArgs: 1,
  description: "Reads a public key from KEYFILE, or from standard input with `-`, and adds it to the server.",
  examples: ["hop setup:ssh ~/.ssh/id_ed25519.pub", "cat key.pub | hop setup:ssh -"],
  async run(ctx) {
    const source = ctx.args[0]!;
    let content: string;
    if (source === "-") {
      content = await readStdin(ctx.io.stdin);
    } else {
      try {
        content = readFileSync(resolve(ctx.io.cwd, source), "utf8");
      } catch (err) {
        throw usageError(`cannot read ${source}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }
    const key = publicKeyLine(content, source === "-" ? "standard input" : source);
    const body = await ctx.client().json<{ fingerprint: string }>("/api/v1/ssh-keys", {
      method: "POST",
      json: { key },
    });
    if (ctx.json) ctx.printJson(body);
    else ctx.out(`Added SSH key ${body.fingerprint}`);
    return 0;
  },
};
