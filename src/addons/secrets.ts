import { randomInt } from "node:crypto";

// Letters and digits only: safe in URLs, shells, SQL literals and config files without any quoting.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A random password of `length` characters from [A-Za-z0-9] (about 5.95 bits each; 32 gives 190 bits). */
export function addonPassword(length = 32): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

/** Database and user names from an addon name: `shop-db` -> `shop_db` (identifiers without quoting). */
export const identifierFrom = (name: string) => name.replace(/-/g, "_").slice(0, 63);
