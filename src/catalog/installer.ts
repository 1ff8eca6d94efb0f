/**
 * `hop catalog:install` and `catalog:upgrade` on the server (docs/catalog.md). An install is: checks (nothing
 * created yet), the app with its answers as config vars, the recipe deployed through the normal deploy path
 * (which creates its [[addons]], generates its secrets and mounts its volumes from its hop3.toml), then the
 * recipe's [test] validations through the router. Any failure, and a server killed in the middle (found by
 * `reconcile` at the next start), removes what this install created: the app and the addons it created, no
 * other. An upgrade backs the app up first and restores that backup when the new version fails.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pluginFor } from "../addons/registry.js";
import { type AddonService, declaredAddonName, validateAddonName } from "../addons/service.js";
import { validateNewAppName } from "../app/name.js";
import type { BackupService } from "../backup/service.js";
import type { Deployer } from "../deploy/deployer.js";
import { requireFreeHostnames } from "../deploy/domain-claims.js";
import type { Lifecycle } from "../deploy/lifecycle.js";
import type { Platform, Progress } from "../deploy/platform.js";
import { timed } from "../deploy/timings.js";
import { appUrl, defaultHostname } from "../deploy/urls.js";
import { conflict, Hop3Error, notFound } from "../util/errors.js";
import { resolveAnswers } from "./answers.js";
import type { CatalogSource } from "./catalog-source.js";
import type { Recipe } from "./recipe.js";
import { runValidations } from "./validations.js";
import { compareVersions } from "./versions.js";

export interface InstallRequest {
  app?: string;
  domain?: string;
  answers: Record<string, string>;
}

export interface InstallerDeps {
  platform: Platform;
  deployer: Deployer;
  lifecycle: Lifecycle;
  source: CatalogSource;
  backups?: BackupService;
  addons?: AddonService;
  scratchDir: string;
  /** How long the validations may take to pass after the deploy (default 180 s). */
  validationTimeoutMs?: number;
}

const quiet: Progress = { step: () => {}, log: () => {} };

/**
 * In the post-install notes, {app} is the app's name and {url} its URL (ending in /). {app-url} is its host
 * name (and port): the recipes write `https://{app-url}/...`, so that whole prefix becomes the real URL, which is
 * http:// for a name without a certificate (*.localhost, HOP3_TLS=off).
 */
export function renderNotes(notes: string | undefined, app: string, url: string): string | undefined {
  const host = url.replace(/^https?:\/\//, "").replace(/\/$/, "");
  return notes
    ?.replace(/https?:\/\/\{app-url\}\//g, () => url)
    .replaceAll("{app-url}", host)
    .replaceAll("{app}", app)
    .replaceAll("{url}", url);
}

export class CatalogInstaller {
  constructor(private readonly d: InstallerDeps) {}

  private get store() {
    return this.d.platform.store;
  }

  /** Everything checked before anything is created; throws a usage/conflict/notFound error otherwise. */
  prepare(name: string, req: InstallRequest) {
    const { recipe } = this.d.source.recipe(name);
    const app = validateNewAppName(req.app ?? name);
    if (this.store.getApp(app))
      throw conflict(
        `an app named ${app} exists already`,
        `choose another name: hop catalog:install ${name} --app NAME`,
      );
    const answers = resolveAnswers(name, recipe.meta.questions ?? [], req.answers);
    if (req.domain) requireFreeHostnames(this.d.platform, app, [req.domain]);
    // the addons this install will create (those that exist already are only attached by the deploy)
    const created = this.addonsToCreate(recipe, app);
    return { recipe, app, answers, created, ...(req.domain ? { domain: req.domain.toLowerCase() } : {}) };
  }

  async install(prepared: ReturnType<CatalogInstaller["prepare"]>, progress: Progress) {
    const { recipe, app, answers, created } = prepared;
    const { store } = this;
    const name = recipe.meta.name;
    progress.step(`Installing ${name} ${recipe.meta.version} as ${app}`);
    store.createApp(app);
    store.catalog.begin(app, name, recipe.meta.version, created);
    try {
      if (Object.keys(answers).length) {
        store.setConfig(app, answers);
        progress.log(`Config vars: ${Object.keys(answers).join(", ")}`);
      }
      const domain = prepared.domain;
      if (domain) store.addDomain(app, domain);
      await this.deployRecipe(app, recipe, progress);
      await timed(progress.timings, "validations", () => this.validate(app, recipe, progress));
      store.catalog.update(app, { status: "installed", error: null });
      const host = domain ?? defaultHostname(app, this.d.platform.settings);
      const url = appUrl(host, this.d.platform.settings);
      return {
        app,
        recipe: name,
        version: recipe.meta.version,
        url,
        notes: renderNotes(recipe.meta.notes?.post_install, app, url) ?? null,
      };
    } catch (err) {
      const reason = (err as Error).message;
      progress.step(
        `The install failed: removing ${app}${created.length ? ` and the addons it created (${created.join(", ")})` : ""}`,
      );
      const removed = await this.rollback(app, created, progress);
      throw new Hop3Error(
        `catalog install of ${name} failed: ${reason}`,
        err instanceof Hop3Error && err.kind !== "error" ? err.kind : "deployFailed",
        `rolled back: ${removed.join(", ")} removed; nothing of this install is left`,
      );
    }
  }

  /**
   * The addons a deploy of `recipe` as `app` will create: those it declares that do not exist yet. What a
   * failed install or upgrade may remove is exactly these, never "whatever addon appeared meanwhile", which
   * can be another app's, made by someone else while this one deployed.
   */
  private addonsToCreate(recipe: Recipe, app: string): string[] {
    return (recipe.hop3.addons ?? [])
      .map((a) => validateAddonName(a.name ?? declaredAddonName(app, pluginFor(a.type))))
      .filter((a) => !this.store.addons.get(a));
  }

  /** Removes the app and the addons its install created (no other addon, even one it used). */
  async rollback(
    app: string,
    createdAddons: readonly string[],
    progress: Progress = quiet,
  ): Promise<string[]> {
    const removed: string[] = [];
    if (this.store.getApp(app)) {
      await this.d.lifecycle
        .destroy(app, progress)
        .catch((err: Error) => progress.log(`destroy ${app}: ${err.message}`));
      if (this.store.getApp(app)) this.store.deleteApp(app);
      removed.push(`app ${app}`);
    }
    removed.push(...(await this.removeAddons(createdAddons, progress)));
    return removed;
  }

  /** Destroys those of `names` that exist and are attached to no app (any app still using one keeps it). */
  private async removeAddons(names: readonly string[], progress: Progress): Promise<string[]> {
    const removed: string[] = [];
    for (const a of names) {
      if (!this.store.addons.get(a)) continue;
      if (this.store.addons.attachmentsOf(a).length > 0) {
        progress.log(`addon ${a} is attached to another app meanwhile: kept`);
        continue;
      }
      await this.d.addons
        ?.destroy(a, a, progress)
        .then(() => removed.push(`addon ${a}`))
        .catch((err: Error) => progress.log(`addon ${a}: ${err.message}`));
    }
    return removed;
  }

  private async deployRecipe(app: string, recipe: Recipe, progress: Progress) {
    // a copy: the build context must not be the catalog itself (a build reads it while a refresh replaces it)
    mkdirSync(this.d.scratchDir, { recursive: true, mode: 0o700 });
    const dir = mkdtempSync(join(this.d.scratchDir, "recipe-"));
    try {
      cpSync(recipe.dir, dir, { recursive: true });
      await this.d.deployer.deploy(
        app,
        { kind: "tree", dir },
        { createdBy: `catalog ${recipe.meta.name} ${recipe.meta.version}` },
        progress,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private async validate(app: string, recipe: Recipe, progress: Progress) {
    const checks = recipe.hop3.test?.validations ?? [];
    if (checks.length === 0) return;
    progress.step(`Checking the app: ${checks.map((c) => `GET ${c.path}`).join(", ")}`);
    const s = this.d.platform.settings;
    await runValidations(
      checks,
      { host: defaultHostname(app, s), httpPort: s.httpPort, httpsPort: s.httpsPort },
      {
        timeoutMs: recipe.meta.validation_timeout
          ? recipe.meta.validation_timeout * 1000
          : (this.d.validationTimeoutMs ?? 180_000),
        log: progress.log,
      },
    );
  }

  /** Upgrade to the catalog's newer version: backup, deploy, validations; the backup comes back on failure. */
  async upgrade(app: string, progress: Progress) {
    const { store } = this;
    store.requireApp(app);
    const row = store.catalog.get(app);
    if (!row)
      throw notFound(
        `${app} was not installed from the catalog`,
        "only apps installed with hop catalog:install can be upgraded this way",
      );
    const { recipe } = this.d.source.recipe(row.recipe);
    const to = recipe.meta.version;
    if (compareVersions(to, row.version) <= 0) {
      progress.log(`${app} has ${row.recipe} ${row.version}; the catalog's is ${to}: nothing to upgrade`);
      return { app, upgraded: false, version: row.version };
    }
    if (!this.d.backups)
      throw new Hop3Error("backups are not available on this server: no upgrade without one", "error");
    progress.step(`Backing up ${app} before the upgrade (${row.version} -> ${to})`);
    const backup = await this.d.backups.create(app, progress);
    store.catalog.update(app, {
      status: "upgrading",
      error: `upgrade ${row.version} -> ${to} did not finish; backup ${backup.id} holds the previous version (hop backup:restore ${backup.id} --force)`,
    });
    const willCreate = this.addonsToCreate(recipe, app);
    const attachedBefore = new Set(store.addons.attachmentsTo(app).map((t) => t.addon));
    try {
      await this.deployRecipe(app, recipe, progress);
      await this.validate(app, recipe, progress);
    } catch (err) {
      const reason = (err as Error).message;
      progress.step(`The upgrade failed: restoring backup ${backup.id}`);
      try {
        await this.d.backups.restore(backup.id, { force: true }, progress);
        // what the new version's deploy attached or created is not part of what was restored: its attachments
        // to this app go, and the addons it created go too unless another app uses them meanwhile
        for (const t of store.addons.attachmentsTo(app))
          if (!attachedBefore.has(t.addon)) store.addons.detach(t.addon, app);
        await this.removeAddons(willCreate, progress);
        store.catalog.update(app, {
          status: "installed",
          error: `upgrade to ${to} failed and was undone: ${reason}`,
        });
      } catch (restoreErr) {
        store.catalog.update(app, {
          status: "failed",
          error: `upgrade to ${to} failed (${reason}); restoring backup ${backup.id} failed too: ${(restoreErr as Error).message}`,
        });
        throw new Hop3Error(
          `catalog upgrade of ${app} failed: ${reason}; restoring backup ${backup.id} failed too: ${(restoreErr as Error).message}`,
          "deployFailed",
          `restore it by hand: hop backup:restore ${backup.id} --force`,
        );
      }
      throw new Hop3Error(
        `catalog upgrade of ${app} to ${to} failed: ${reason}`,
        "deployFailed",
        `backup ${backup.id} was restored: ${app} runs ${row.recipe} ${row.version} as before`,
      );
    }
    store.catalog.update(app, { status: "installed", version: to, error: null });
    return { app, upgraded: true, from: row.version, version: to, backup: backup.id };
  }

  /**
   * At the server's start: an install a crash interrupted is removed (never left half-served); an interrupted
   * upgrade is marked failed with the backup that undoes it.
   */
  async reconcile(): Promise<string[]> {
    const notes: string[] = [];
    for (const row of this.store.catalog.list()) {
      if (row.status === "installing") {
        const removed = await this.rollback(row.app, row.createdAddons);
        notes.push(
          `catalog install of ${row.recipe} as ${row.app} was interrupted: removed ${removed.join(", ") || "nothing"}`,
        );
      } else if (row.status === "upgrading") {
        this.store.catalog.update(row.app, {
          status: "failed",
          error: `interrupted: ${row.error ?? "the upgrade did not finish"}`,
        });
        notes.push(`catalog upgrade of ${row.app} was interrupted: marked failed (${row.error ?? ""})`);
      }
    }
    return notes;
  }
}
