/**
 * `hop sbom:verify`, `hop audit`, `hop audit:import`: a release's signed provenance checked on this machine,
 * and the apps' SBOMs matched against the vulnerability database imported on the server (docs/supply-chain.md).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Finding } from "../../audit/match.js";
import type { AppAudit, AuditReport, ImportResult } from "../../audit/service.js";
import { type ProvenanceMaterials, verifyMaterials } from "../../sbom/provenance-service.js";
import { keyIdOf, parsePublicKeyPem } from "../../sbom/signing-key.js";
import { Hop3Error, usageError } from "../../util/errors.js";
import type { CommandSpec } from "../command-spec.js";
import { appPath } from "../context.js";
import { formatTable, relativeTime } from "../output.js";

function releaseOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^v?\d+$/.test(value)) throw usageError(`invalid release ${JSON.stringify(value)}`, "give it as vN");
  return value.replace(/^v/, "");
}

export const sbomVerifyCommand: CommandSpec = {
  name: "sbom:verify",
  aliases: ["sbom verify", "provenance:verify"],
  group: "Supply chain",
  summary: "check a release's signed provenance against its SBOM and image",
  maxArgs: 0,
  usesApp: true,
  options: [
    { name: "release", type: "string", value: "vN", description: "the release (default: the active one)" },
    {
      name: "key",
      type: "string",
      value: "FILE",
      description: "a public key (PEM) to check with, instead of the server's",
    },
    { name: "print-key", type: "boolean", description: "print the server's public key (PEM) and exit" },
  ],
  description:
    "Checks, on this machine, the DSSE signature of the release's in-toto/SLSA provenance statement, that the " +
    "SBOM file's sha256 is the one the statement signed, and that the release's image (its digest as Podman " +
    "reports it now) is the statement's subject. With --key the signature must verify with that key: keep a " +
    "copy of the server's key (--print-key) somewhere the server cannot change it. Exit 1 when anything fails.",
  examples: [
    "hop sbom:verify -a myapp",
    "hop sbom:verify -a myapp --release v3 --key hop3-provenance.pub",
    "hop sbom:verify --print-key > hop3-provenance.pub",
  ],
  async run(ctx) {
    const client = ctx.client();
    if (ctx.flag("print-key")) {
      const key = await client.json<{ publicKey: string; keyid: string }>("/api/v1/provenance/key");
      if (ctx.json) ctx.printJson(key);
      else ctx.io.stdout.write(key.publicKey);
      return 0;
    }
    const app = await ctx.app();
    const release = releaseOption(ctx.opt("release"));
    const keyFile = ctx.opt("key");
    const pem = keyFile
      ? readKeyFile(resolve(ctx.io.cwd, keyFile))
      : (await client.json<{ publicKey: string }>("/api/v1/provenance/key")).publicKey;
    const key = parsePublicKeyPem(pem, keyFile ?? "the server's key");
    const materials = await client.json<ProvenanceMaterials>(appPath(app, "/provenance"), {
      query: { release },
    });
    const report = verifyMaterials(materials, key);
    const result = {
      app,
      release: materials.release,
      keyid: keyIdOf(key),
      keySource: keyFile ? resolve(ctx.io.cwd, keyFile) : "server",
      ok: report.ok,
      checked: report.checked,
      ...(report.reason ? { reason: report.reason } : {}),
    };
    if (ctx.json) {
      ctx.printJson(result);
      return report.ok ? 0 : 1;
    }
    if (!report.ok) {
      for (const c of report.checked) ctx.err(`  ok: ${c}`);
      throw new Hop3Error(`provenance of ${app} v${materials.release} does not verify: ${report.reason}`);
    }
    ctx.out(`OK: provenance of ${app} v${materials.release} verified`);
    for (const c of report.checked) ctx.out(`  ${c}`);
    return 0;
  },
};

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw usageError(
      `cannot read the key ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

function describeImports(report: AuditReport): string {
  const latest = report.database.imports[0]!;
  const total = Object.values(report.database.records).reduce((a, b) => a + b, 0);
  const sources = report.database.imports.length;
  return `Vulnerability database: ${total} records from ${sources} import${sources === 1 ? "" : "s"}; latest ${latest.file} (${latest.format}, ${latest.advisories} advisories) imported ${relativeTime(latest.importedAt)} (${latest.importedAt})`;
}

/** `zlib1g (zlib)`: a Debian binary package with the source package its advisories name. */
function packageLabel(f: Finding): string {
  const source = f.source?.split(" ")[0];
  return source && source !== f.package ? `${f.package} (${source})` : f.package;
}

function appLine(a: AppAudit): string {
  const label = a.release !== undefined ? `${a.app} v${a.release}` : a.app;
  if (a.status !== "ok") return `${label}: ${a.note}`;
  const n = a.findings.length;
  const line = `${label}: ${n} known vulnerabilit${n === 1 ? "y" : "ies"} in ${a.components} components`;
  const skipped = Object.entries(a.notChecked ?? {});
  if (!skipped.length) return line;
  const total = skipped.reduce((t, [, k]) => t + k, 0);
  // a server older than the reasons only sent the counts
  if (!a.notCheckedReasons) {
    const kinds = skipped.map(([type, k]) => `${type} ${k}`).join(", ");
    return `${line}; ${total} not checked (${kinds}): the database does not cover their ecosystem`;
  }
  const kinds = skipped.map(([type, k]) => {
    const why = a.notCheckedReasons?.[type] ?? [];
    return why.length ? `${type} ${k}: ${why.join(", ")}` : `${type} ${k}`;
  });
  return `${line}; ${total} not checked (${kinds.join("; ")})`;
}

export const auditCommand: CommandSpec = {
  name: "audit",
  group: "Supply chain",
  summary: "known vulnerabilities of each app's active release, from the imported database",
  maxArgs: 0,
  usesApp: true,
  description:
    "Matches the active release's SBOM of the app (every app without -a) against the vulnerability database " +
    "imported with audit:import: package, installed version, fixed version, severity, advisory. Without an " +
    "imported database it says so (exit 3) rather than report nothing. Exit 1 when a vulnerability is found.",
  examples: ["hop audit", "hop audit -a myapp", "hop audit --json"],
  async run(ctx) {
    const app = ctx.opt("app");
    const report = await ctx.client().json<AuditReport>("/api/v1/audit", { query: { app } });
    const found = report.apps.some((a) => a.findings.length > 0);
    if (ctx.json) {
      ctx.printJson(report);
      return found ? 1 : 0;
    }
    ctx.out(describeImports(report));
    if (report.apps.length === 0) ctx.out("No apps.");
    for (const a of report.apps) {
      ctx.out("");
      ctx.out(appLine(a));
      if (a.findings.length > 0)
        ctx.out(
          formatTable(
            ["PACKAGE", "INSTALLED", "FIXED", "SEVERITY", "ADVISORY"],
            a.findings.map((f) => [
              packageLabel(f),
              f.installed,
              f.fixed ?? "(no fix yet)",
              f.severity ?? "-",
              [f.advisory, ...f.aliases.filter((x) => x !== f.advisory)].join(" "),
            ]),
          ),
        );
      for (const u of a.unknown) ctx.out(`  could not compare ${u.package} with ${u.advisory}: ${u.reason}`);
    }
    return found ? 1 : 0;
  },
};

/** A directory of OSV files (an unpacked osv.dev export) as one JSON array. */
function readDatabase(path: string): { name: string; content: Buffer } {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw usageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!isDir) {
    if (/\.zip$/i.test(path))
      throw usageError(
        `${path} is a zip archive`,
        `unzip it (unzip -d osv ${basename(path)}) and import the directory`,
      );
    return { name: basename(path), content: readFileSync(path) };
  }
  const files = readdirSync(path)
    .filter((f) => f.endsWith(".json"))
    .sort();
  if (files.length === 0) throw usageError(`${path} holds no .json file`);
  const docs = files.map((f) => {
    try {
      return JSON.parse(readFileSync(join(path, f), "utf8")) as unknown;
    } catch (err) {
      throw usageError(`${join(path, f)} is not JSON: ${(err as Error).message}`);
    }
  });
  return {
    name: `${basename(path)}/ (${files.length} files)`,
    content: Buffer.from(JSON.stringify(docs.flat())),
  };
}

export const auditImportCommand: CommandSpec = {
  name: "audit:import",
  aliases: ["audit import"],
  group: "Supply chain",
  summary: "import a vulnerability database (OSV JSON, Debian security tracker JSON) for hop audit",
  args: "FILE",
  minArgs: 1,
  maxArgs: 1,
  description:
    "FILE is one OSV advisory, a JSON array of them, a directory of OSV .json files (an unpacked osv.dev " +
    "export: https://osv-vulnerabilities.storage.googleapis.com/<ecosystem>/all.zip), or Debian's tracker JSON " +
    "(https://security-tracker.debian.org/tracker/data/json). Importing again replaces the same advisories " +
    "(the whole tracker for Debian's). Admin only.",
  examples: [
    "hop audit:import debian-tracker.json",
    "hop audit:import ./osv-npm/",
    "hop audit:import GHSA-qw6h-vgh9-j6wx.json",
  ],
  async run(ctx) {
    const db = readDatabase(resolve(ctx.io.cwd, ctx.args[0]!));
    const result = await ctx.client().json<ImportResult>("/api/v1/audit/import", {
      method: "POST",
      query: { file: db.name },
      body: db.content,
      contentType: "application/json",
    });
    if (ctx.json) {
      ctx.printJson(result);
      return 0;
    }
    ctx.out(
      `Imported ${result.file} (${result.format}): ${result.advisories} advisories, ${result.records} affected packages`,
    );
    for (const [why, n] of Object.entries(result.skipped)) ctx.out(`  skipped ${n}: ${why}`);
    return 0;
  },
};

export const auditClearCommand: CommandSpec = {
  name: "audit:clear",
  aliases: ["audit clear"],
  group: "Supply chain",
  summary: "forget the imported vulnerability database",
  maxArgs: 0,
  description:
    "Removes every imported advisory: hop audit then says that no database is imported. Admin only.",
  examples: ["hop audit:clear"],
  async run(ctx) {
    const body = await ctx.client().json<{ records: number; imports: number }>("/api/v1/audit/database", {
      method: "DELETE",
    });
    if (ctx.json) ctx.printJson(body);
    else ctx.out(`Removed ${body.records} records of ${body.imports} imports`);
    return 0;
  },
};

export const SUPPLY_CHAIN_COMMANDS: CommandSpec[] = [
  sbomVerifyCommand,
  auditCommand,
  auditImportCommand,
  auditClearCommand,
];
