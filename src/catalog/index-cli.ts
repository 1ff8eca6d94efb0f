#!/usr/bin/env node
/**
 * scripts/catalog-index: validates every recipe of catalog/, writes catalog/index.json with the next serial and
 * signs it into catalog/index.json.sig with the maintainers' signing key (never in the repository: default
 * /work/catalog-signing-key.pem, or HOP3_CATALOG_SIGNING_KEY). `--check` only verifies the committed index
 * against catalog/keys/ and the files; `--tarball OUT` also writes the recipes tarball that a catalog URL
 * serves beside index.json (docs/catalog.md).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Hop3Error } from "../util/errors.js";
import { buildIndex, checkRecipeFiles, parseIndex, renderIndex } from "./catalog-index.js";
import { loadTrustedKeys, signIndex, verifyIndex } from "./signing.js";
import { writeRecipeTarball } from "./tarball.js";

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const dir = resolve(arg("catalog") ?? "catalog");
  const indexFile = join(dir, "index.json");
  const sigFile = join(dir, "index.json.sig");
  const keys = loadTrustedKeys([join(dir, "keys"), ...(arg("keys") ? [arg("keys")!] : [])]);
  if (argv.includes("--check")) {
    const index = verifyIndex(
      readFileSync(indexFile),
      existsSync(sigFile) ? readFileSync(sigFile) : undefined,
      keys,
    );
    checkRecipeFiles(dir, index);
    process.stdout.write(
      `catalog/index.json: serial ${index.serial}, ${Object.keys(index.recipes).length} recipes, signature and files verified\n`,
    );
    return;
  }
  const keyFile = arg("key") ?? process.env.HOP3_CATALOG_SIGNING_KEY ?? "/work/catalog-signing-key.pem";
  if (!existsSync(keyFile))
    throw new Hop3Error(
      `no signing key at ${keyFile}`,
      "usage",
      "give --key FILE (the maintainers' ed25519 private key, PEM)",
    );
  const previous = existsSync(indexFile) ? parseIndex(readFileSync(indexFile)).serial : 0;
  const serial = arg("serial") ? Number(arg("serial")) : previous + 1;
  if (!Number.isInteger(serial) || serial <= previous)
    throw new Hop3Error(`--serial must be a whole number above the current ${previous}`, "usage");
  const index = buildIndex(dir, serial, new Date());
  const text = renderIndex(index);
  const sig = signIndex(text, readFileSync(keyFile, "utf8"));
  // the new index must verify with the keys that ship, or it is useless to every server
  verifyIndex(Buffer.from(text), Buffer.from(sig), keys);
  writeFileSync(indexFile, text);
  writeFileSync(sigFile, sig);
  const tarball = arg("tarball");
  if (tarball) await writeRecipeTarball(dir, resolve(tarball));
  process.stdout.write(
    `catalog/index.json: serial ${serial}, ${Object.keys(index.recipes).length} recipes, signed\n`,
  );
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(
    `catalog-index: ${err instanceof Hop3Error ? err.message : ((err as Error).stack ?? err)}\n`,
  );
  process.exit(err instanceof Hop3Error ? 2 : 1);
});
