/**
 * The catalog the server uses: the one bundled with Hop3 (installDir/catalog) or a newer one fetched by
 * `hop catalog:refresh` (HOP3_ROOT/catalog), whichever verifies with the higher serial. Verified at each use:
 * the signature by a trusted key, the serial against the highest one accepted (kept in the store), and each
 * recipe's files against the index's sha256 (a recipe that does not match is refused, the others stay usable).
 * Nothing unverified is listed, shown or installed.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ExtractLimits } from "../server/upload.js";
import { extractSourceTarball } from "../server/upload.js";
import type { Store } from "../store/store.js";
import { Hop3Error, notFound, usageError } from "../util/errors.js";
import { type CatalogIndex, checkRecipeFiles, filesRefused, recipeFileProblems } from "./catalog-index.js";
import { loadRecipe, type Recipe } from "./recipe.js";
import { loadTrustedKeys, verifyIndex } from "./signing.js";

export interface CatalogPlaces {
  bundledDir: string;
  refreshedDir: string;
  keyDirs: string[];
  url?: string;
}

export interface ActiveCatalog {
  dir: string;
  index: CatalogIndex;
  origin: "bundled" | "refreshed";
}

const SERIAL_SETTING = "catalog.serial";
const MAX_INDEX_BYTES = 8 * 1024 * 1024;
const MAX_TARBALL_BYTES = 256 * 1024 * 1024;

export class CatalogSource {
  constructor(
    private readonly places: CatalogPlaces,
    private readonly store: Store,
    private readonly scratch: { dir: string; limits?: ExtractLimits },
    private readonly log: (line: string) => void = () => {},
  ) {}

  installedSerial(): number {
    return Number(this.store.getSetting(SERIAL_SETTING) ?? 0);
  }

  private verifyDir(dir: string): CatalogIndex {
    const indexFile = join(dir, "index.json");
    if (!existsSync(indexFile))
      throw new Hop3Error(`catalog index refused: ${indexFile} is missing`, "conflict");
    const sigFile = join(dir, "index.json.sig");
    const index = verifyIndex(
      readFileSync(indexFile),
      existsSync(sigFile) ? readFileSync(sigFile) : undefined,
      loadTrustedKeys(this.places.keyDirs),
    );
    return index;
  }

  /**
   * The recipes of the active catalog whose files match the signed index. A recipe that does not (changed
   * after signing) is left out and logged; showing or installing it says why.
   */
  usable(): { catalog: ActiveCatalog; names: string[] } {
    const catalog = this.active();
    const names: string[] = [];
    for (const [name, entry] of Object.entries(catalog.index.recipes)) {
      const problems = recipeFileProblems(catalog.dir, name, entry);
      if (problems.length === 0) names.push(name);
      else this.log(`catalog: ${name} refused: ${problems.join("; ")}`);
    }
    return { catalog, names };
  }

  /** The verified catalog with the highest serial; refused when none verifies or the best is older. */
  active(): ActiveCatalog {
    const found: ActiveCatalog[] = [];
    const errors: string[] = [];
    for (const [origin, dir] of [
      ["refreshed", this.places.refreshedDir],
      ["bundled", this.places.bundledDir],
    ] as const) {
      if (!existsSync(join(dir, "index.json"))) continue;
      try {
        found.push({ dir, index: this.verifyDir(dir), origin });
      } catch (err) {
        errors.push(`${origin} catalog (${dir}): ${(err as Error).message}`);
        this.log(`catalog: ${origin} catalog at ${dir} refused: ${(err as Error).message}`);
      }
    }
    if (found.length === 0) {
      throw new Hop3Error(
        errors.length ? errors.join("; ") : "no catalog is installed (no index.json)",
        errors.length ? "conflict" : "notFound",
        "reinstall Hop3, or set HOP3_CATALOG_URL and run `hop catalog:refresh`",
      );
    }
    const best = found.sort((a, b) => b.index.serial - a.index.serial)[0]!;
    const installed = this.installedSerial();
    if (best.index.serial < installed) {
      throw new Hop3Error(
        `catalog index refused: its serial ${best.index.serial} is older than the installed catalog's ${installed} (a replayed, outdated index)`,
        "conflict",
        "run `hop catalog:refresh` to fetch the current catalog",
      );
    }
    if (best.index.serial > installed) this.store.setSetting(SERIAL_SETTING, String(best.index.serial));
    return best;
  }

  /** One recipe of the active catalog, loaded from its verified files. */
  recipe(name: string): { recipe: Recipe; catalog: ActiveCatalog } {
    const catalog = this.active();
    if (!Object.hasOwn(catalog.index.recipes, name)) {
      throw notFound(
        `the catalog has no app ${JSON.stringify(name)}`,
        `its apps: ${Object.keys(catalog.index.recipes).join(", ") || "(none)"}; see hop catalog`,
      );
    }
    const problems = recipeFileProblems(catalog.dir, name, catalog.index.recipes[name]!);
    if (problems.length) throw filesRefused(problems);
    return { recipe: loadRecipe(join(catalog.dir, name), name), catalog };
  }

  /**
   * Fetches URL/index.json, index.json.sig and catalog.tar.gz, and puts them in place only when the signature
   * verifies, the serial is higher than the current one and every recipe file matches the index.
   */
  async refresh(
    log: (line: string) => void,
    fetchImpl: typeof fetch = fetch,
  ): Promise<{ updated: boolean; serial: number; previous: number; recipes: number }> {
    const base = this.places.url;
    if (!base)
      throw usageError(
        "no catalog URL is configured",
        "set HOP3_CATALOG_URL in /etc/hop3/hop3.env and restart the server",
      );
    let current = this.installedSerial();
    try {
      current = Math.max(current, this.active().index.serial);
    } catch {
      // no usable catalog yet: any verified one is better
    }
    const url = (f: string) => `${base.replace(/\/+$/, "")}/${f}`;
    const get = async (f: string, max: number, optional = false): Promise<Buffer | undefined> => {
      const res = await fetchImpl(url(f), { redirect: "follow" }).catch((err: Error) => {
        throw new Hop3Error(`cannot fetch ${url(f)}: ${err.message}`, "network");
      });
      if (res.status === 404 && optional) return undefined;
      if (!res.ok) throw new Hop3Error(`cannot fetch ${url(f)}: HTTP ${res.status}`, "network");
      const body = Buffer.from(await res.arrayBuffer());
      if (body.length > max)
        throw new Hop3Error(`${url(f)} is larger than ${max} bytes, refused`, "conflict");
      return body;
    };
    log(`Fetching ${url("index.json")}`);
    const indexBytes = (await get("index.json", MAX_INDEX_BYTES))!;
    const sigBytes = await get("index.json.sig", 64 * 1024, true);
    const index = verifyIndex(indexBytes, sigBytes, loadTrustedKeys(this.places.keyDirs), current);
    if (index.serial === current) {
      log(`The catalog is up to date (serial ${current})`);
      return {
        updated: false,
        serial: current,
        previous: current,
        recipes: Object.keys(index.recipes).length,
      };
    }
    log(`Signed index, serial ${index.serial} (installed: ${current}); fetching the recipes`);
    const tarball = (await get("catalog.tar.gz", MAX_TARBALL_BYTES))!;
    mkdirSync(this.scratch.dir, { recursive: true, mode: 0o700 });
    const tarFile = join(this.scratch.dir, `catalog-${process.pid}-${Date.now()}.tar.gz`);
    writeFileSync(tarFile, tarball, { mode: 0o600 });
    let staging: string;
    try {
      staging = await extractSourceTarball(tarFile, this.scratch.dir, this.scratch.limits);
    } finally {
      rmSync(tarFile, { force: true });
    }
    try {
      checkRecipeFiles(staging, index);
      writeFileSync(join(staging, "index.json"), indexBytes);
      writeFileSync(join(staging, "index.json.sig"), sigBytes!);
      const dest = this.places.refreshedDir;
      const old = `${dest}.old`;
      rmSync(old, { recursive: true, force: true });
      if (existsSync(dest)) renameSync(dest, old);
      renameSync(staging, dest);
      rmSync(old, { recursive: true, force: true });
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      throw err;
    }
    this.store.setSetting(SERIAL_SETTING, String(index.serial));
    log(`Catalog serial ${index.serial} installed (${Object.keys(index.recipes).length} recipes)`);
    return {
      updated: true,
      serial: index.serial,
      previous: current,
      recipes: Object.keys(index.recipes).length,
    };
  }
}
