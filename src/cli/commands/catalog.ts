/**
 * The catalog (docs/catalog.md): `hop catalog` (= catalog:list), catalog:show, catalog:install (asks the
 * recipe's questions on a terminal), catalog:upgrade, catalog:refresh, and catalog:import (a Compose file into a
 * recipe directory, on this machine: no server needed).
 */

import { resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { Writable } from "node:stream";
import { answerProblem, checkGiven, parseSets, resolveAnswers } from "../../catalog/answers.js";
import { importComposeFile, writeRecipe } from "../../catalog/compose-file.js";
import type { Question } from "../../catalog/recipe.js";
import { usageError } from "../../util/errors.js";
import type { CommandSpec } from "../command-spec.js";
import { appPath, type CliContext } from "../context.js";
import { formatKeyValues, formatTable } from "../output.js";
import { runOperation } from "../render.js";

interface Listing {
  serial: number;
  generated: string;
  origin: string;
  recipes: {
    name: string;
    version: string;
    category: string;
    description: string;
    installed: { app: string; version: string; status: string }[];
  }[];
}

interface Shown {
  recipe: {
    name: string;
    version: string;
    upstream: string;
    license: string;
    description: string;
    category: string;
    maintainer: string;
    upstream_image?: string;
    resources?: { memory?: string; disk?: string };
    questions?: Question[];
    notes?: { post_install?: string };
    addons: string[];
    volumes: string[];
    validations: { path: string; status?: number; contains?: string }[];
  };
}

const catalogPath = (name: string, rest = "") => `/api/v1/catalog/${encodeURIComponent(name)}${rest}`;

export const catalogListCommand: CommandSpec = {
  name: "catalog:list",
  aliases: ["catalog", "catalog list"],
  group: "Catalog",
  summary: "the apps the catalog installs in one command",
  maxArgs: 0,
  options: [
    { name: "category", type: "string", value: "C", description: "only this category (cms, wiki...)" },
  ],
  examples: ["hop catalog", "hop catalog:list --category wiki", "hop catalog --json"],
  async run(ctx) {
    const category = ctx.opt("category");
    const body = await ctx
      .client()
      .json<Listing>(`/api/v1/catalog${category ? `?category=${encodeURIComponent(category)}` : ""}`);
    if (ctx.json) {
      ctx.printJson(body);
      return 0;
    }
    if (body.recipes.length === 0) {
      ctx.out(category ? `No app in category ${category}.` : "The catalog is empty.");
      return 0;
    }
    ctx.out(
      formatTable(
        ["NAME", "VERSION", "CATEGORY", "DESCRIPTION"],
        body.recipes.map((r) => [r.name, r.version, r.category, r.description]),
      ),
    );
    ctx.err(`Catalog serial ${body.serial} (${body.origin}, signed). Install one: hop catalog:install NAME`);
    return 0;
  },
};

export const catalogShowCommand: CommandSpec = {
  name: "catalog:show",
  aliases: ["catalog show", "catalog:info"],
  group: "Catalog",
  summary: "a catalog app: what it is, what it asks, what it needs",
  args: "NAME",
  minArgs: 1,
  maxArgs: 1,
  examples: ["hop catalog:show dokuwiki"],
  async run(ctx) {
    const { recipe: r } = await ctx.client().json<Shown>(catalogPath(ctx.args[0]!));
    if (ctx.json) {
      ctx.printJson(r);
      return 0;
    }
    ctx.out(
      formatKeyValues([
        ["Name", r.name],
        ["Version", r.version],
        ["Description", r.description],
        ["Category", r.category],
        ["Upstream", r.upstream],
        ["Licence", r.license],
        ["Maintainer", r.maintainer],
        ...(r.upstream_image ? ([["Image", r.upstream_image]] as [string, string][]) : []),
        ["Resources", `memory ${r.resources?.memory ?? "-"}, disk ${r.resources?.disk ?? "-"}`],
        ["Addons", r.addons.join(", ") || "-"],
        ["Volumes", r.volumes.join(", ") || "-"],
        ["Validations", r.validations.map((v) => `GET ${v.path} -> ${v.status ?? 200}`).join(", ")],
      ]),
    );
    if (r.questions?.length) {
      ctx.out("\nQuestions (answer with --set KEY=VALUE):");
      ctx.out(
        formatTable(
          ["KEY", "PROMPT", "DEFAULT"],
          r.questions.map((q) => [q.key, q.prompt, q.secret ? "(secret)" : (q.default ?? "(required)")]),
        ),
      );
    }
    if (r.notes?.post_install) ctx.out(`\nAfter install: ${r.notes.post_install}`);
    return 0;
  },
};

/** Asks each question not given with --set on the terminal; the default is taken on an empty line. */
async function ask(ctx: CliContext, questions: readonly Question[], given: Record<string, string>) {
  const answers = { ...given };
  const stdout = ctx.io.stdout;
  let muted = false;
  // secrets are not echoed: the prompt goes to the terminal, the typed characters do not
  const output = new Writable({
    write(chunk, _enc, done) {
      if (!muted) stdout.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: ctx.io.stdin, output, terminal: true });
  try {
    for (const q of questions) {
      if (Object.hasOwn(answers, q.key)) continue;
      for (let attempt = 1; ; attempt++) {
        const shown =
          q.default !== undefined && !q.secret
            ? ` [${q.default}]`
            : q.default !== undefined
              ? " [default]"
              : "";
        stdout.write(`${q.prompt}${shown}: `);
        muted = Boolean(q.secret);
        const typed = (await rl.question("")).trim();
        muted = false;
        if (q.secret) stdout.write("\n");
        const value = typed === "" && q.default !== undefined ? q.default : typed;
        const problem = answerProblem(q, value);
        if (!problem) {
          answers[q.key] = value;
          break;
        }
        ctx.err(`  ${q.key}: ${problem}`);
        if (attempt >= 3) throw usageError(`${q.key}: ${problem}`, "nothing was created");
      }
    }
  } finally {
    rl.close();
  }
  return answers;
}

export const catalogInstallCommand: CommandSpec = {
  name: "catalog:install",
  aliases: ["catalog install"],
  group: "Catalog",
  summary: "install a catalog app: its addons, secrets, build, deploy, then its checks",
  args: "NAME",
  minArgs: 1,
  maxArgs: 1,
  options: [
    { name: "domain", type: "string", value: "D", description: "a hostname for it besides its default one" },
    {
      name: "set",
      type: "string",
      multiple: true,
      value: "KEY=VALUE",
      description: "answer a question of the recipe (a config var of the app)",
    },
    {
      name: "timings",
      type: "boolean",
      description: "print how long each step took (build, addons, release phase, start, validations...)",
    },
  ],
  description:
    "The app is named after the recipe unless --app NAME is given. On a terminal the recipe's questions are " +
    "asked (the default in brackets); otherwise --set answers them and the defaults do the rest. A failed " +
    "install removes the app and the addons it created.",
  examples: [
    "hop catalog:install dokuwiki",
    "hop catalog:install wordpress --app blog --domain blog.example.org --set SITE_TITLE='My blog'",
    "hop catalog:install dokuwiki --timings",
  ],
  async run(ctx) {
    const name = ctx.args[0]!;
    const given = parseSets(ctx.list("set"));
    const { recipe } = await ctx.client().json<Shown>(catalogPath(name));
    const questions = recipe.questions ?? [];
    const tty = Boolean(ctx.io.stdin.isTTY && (ctx.io.stdout as { isTTY?: boolean }).isTTY) && !ctx.json;
    // unknown keys and bad answers are refused here already, before a question is asked or anything created
    checkGiven(name, questions, given);
    const answers = tty ? await ask(ctx, questions, given) : resolveAnswers(name, questions, given);
    const app = ctx.opt("app");
    const domain = ctx.opt("domain");
    let notes: string | null = null;
    const code = await runOperation(
      ctx,
      catalogPath(name, "/install"),
      { method: "POST", json: { answers, ...(app ? { app } : {}), ...(domain ? { domain } : {}) } },
      (r) => {
        notes = (r.notes as string | null) ?? null;
        return `Installed ${r.recipe} ${r.version} as ${r.app}: ${r.url}`;
      },
      ctx.flag("timings"),
    );
    if (code === 0 && notes && !ctx.json) ctx.out(`\n${notes}`);
    return code;
  },
};

export const catalogUpgradeCommand: CommandSpec = {
  name: "catalog:upgrade",
  aliases: ["catalog upgrade"],
  group: "Catalog",
  summary: "upgrade an installed catalog app to the catalog's version (a backup first; restored on failure)",
  maxArgs: 0,
  usesApp: true,
  examples: ["hop catalog:upgrade -a wiki"],
  async run(ctx) {
    const app = await ctx.app();
    return runOperation(ctx, appPath(app, "/catalog/upgrade"), { method: "POST" }, (r) =>
      r.upgraded
        ? `Upgraded ${r.app} from ${r.from} to ${r.version} (backup ${r.backup} kept)`
        : `${r.app} is at ${r.version}: nothing to upgrade`,
    );
  },
};

export const catalogRefreshCommand: CommandSpec = {
  name: "catalog:refresh",
  aliases: ["catalog refresh"],
  group: "Catalog",
  summary: "fetch a newer signed catalog from HOP3_CATALOG_URL",
  maxArgs: 0,
  examples: ["hop catalog:refresh"],
  async run(ctx) {
    return runOperation(ctx, "/api/v1/catalog/refresh", { method: "POST" }, (r) =>
      r.updated
        ? `Catalog serial ${r.serial} installed (was ${r.previous}): ${r.recipes} apps`
        : `The catalog is up to date (serial ${r.serial})`,
    );
  },
};

export const catalogImportCommand: CommandSpec = {
  name: "catalog:import",
  aliases: ["catalog import"],
  group: "Catalog",
  summary: "turn a Docker Compose file into a recipe directory (lists what it cannot map)",
  args: "FILE",
  minArgs: 1,
  maxArgs: 1,
  options: [
    { name: "name", type: "string", value: "N", description: "the recipe's name (default: from the file)" },
    { name: "output", type: "string", value: "DIR", description: "where to write it (default: ./NAME)" },
    {
      name: "service",
      type: "string",
      value: "S",
      description: "the main web service, when there are several",
    },
  ],
  description:
    "Coolify templates, Dokploy blueprints and CapRover one-click apps work. The main web service becomes the " +
    "app, Postgres/MySQL/MariaDB/Redis services become [[addons]], named volumes [[volumes]], environment [env]; " +
    "everything else is listed here and in the recipe's IMPORT.md.",
  examples: [
    "hop catalog:import docker-compose.yml --name umami",
    "hop catalog:import wordpress.yml --output catalog/blog",
  ],
  async run(ctx) {
    const file = resolve(ctx.io.cwd, ctx.args[0]!);
    const service = ctx.opt("service");
    const result = importComposeFile(file, {
      ...(ctx.opt("name") ? { name: ctx.opt("name")! } : {}),
      ...(service ? { service } : {}),
    });
    const name = /^name = "([^"]+)"/m.exec(result.files["catalog.toml"]!)?.[1] ?? "app";
    const dir = resolve(ctx.io.cwd, ctx.opt("output") ?? name);
    writeRecipe(dir, result.files);
    if (ctx.json) {
      ctx.printJson({
        dir,
        main: result.main,
        image: result.image,
        mapped: result.mapped,
        unmapped: result.unmapped,
      });
      return 0;
    }
    ctx.out(`Wrote ${dir}/ (catalog.toml, hop3.toml, Containerfile, IMPORT.md) from service ${result.main}`);
    for (const m of result.mapped) ctx.out(`  mapped: ${m}`);
    if (result.unmapped.length) {
      ctx.err(`Not mapped (${result.unmapped.length}; also in IMPORT.md):`);
      for (const u of result.unmapped) ctx.err(`  - ${u}`);
    }
    return 0;
  },
};

export const CATALOG_COMMANDS: CommandSpec[] = [
  catalogListCommand,
  catalogShowCommand,
  catalogInstallCommand,
  catalogUpgradeCommand,
  catalogRefreshCommand,
  catalogImportCommand,
];
