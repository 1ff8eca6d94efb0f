// Runs the sync server's database migrations, then keeps Actual's server password in step with
// HOP3_ADMIN_PASSWORD: set at the first start (what the "set a password" screen would do, so nobody who reaches
// the new install first can claim it), changed when the variable changed. Run by the entrypoint at each start.
//
// Actual has no command for this (its --reset-password prompts on a terminal), so its own functions are used.
// They live in build chunks with hashed names and one-letter export aliases; each chunk's `export { name as x }`
// line maps them back. The build runs this script once (Containerfile), so a version where they moved fails
// there, with the name it missed.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const chunks = "/opt/actual/node_modules/@actual-app/sync-server/build/chunks";

/** The named exports of the one chunk `PREFIX-<hash>.js`, by their names in Actual's source. */
async function chunk(prefix, names) {
  const files = readdirSync(chunks).filter((f) => new RegExp(`^${prefix}-[A-Za-z0-9_-]+\\.js$`).test(f));
  if (files.length !== 1) throw new Error(`${chunks}: expected one ${prefix}-*.js, found ${files.length}`);
  const file = join(chunks, files[0]);
  const exported = /^export \{([^}]*)\};?$/m.exec(readFileSync(file, "utf8"));
  if (!exported) throw new Error(`${file}: no export list`);
  const alias = new Map(
    exported[1].split(",").map((part) => {
      const [name, as = name] = part.trim().split(/\s+as\s+/);
      return [name, as];
    }),
  );
  const mod = await import(pathToFileURL(file).href);
  return Object.fromEntries(
    names.map((name) => {
      const fn = mod[alias.get(name)];
      if (typeof fn !== "function") throw new Error(`${file}: ${name} is not exported`);
      return [name, fn];
    }),
  );
}

const password = process.env.HOP3_ADMIN_PASSWORD;
if (!password) throw new Error("HOP3_ADMIN_PASSWORD must be set (hop3.toml [admin] generates it)");

const { run } = await chunk("migrations", ["run"]);
await run();
const db = await chunk("account-db", ["needsBootstrap", "bootstrap", "checkPassword", "changePassword"]);
if (db.needsBootstrap()) {
  const { error } = await db.bootstrap({ password });
  if (error) throw new Error(`setting the server password: ${error}`);
  console.log("hop3: the server password is HOP3_ADMIN_PASSWORD's");
} else if (!(await db.checkPassword(password))) {
  const { error } = await db.changePassword(password);
  // an owner who moved the server to OpenID has no password login left to update: leave it so
  if (error === "no-password-method") console.log("hop3: no password login (OpenID?): HOP3_ADMIN_PASSWORD unused");
  else if (error) throw new Error(`changing the server password: ${error}`);
  else console.log("hop3: the server password changed to HOP3_ADMIN_PASSWORD's");
}
process.exit(0);
