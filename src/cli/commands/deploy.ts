/** `hop deploy` (a source tree or an image) and `hop releases`. */
import { createReadStream, statSync } from "node:fs";
import { resolve } from "node:path";
import { usageError } from "../../util/errors.js";
import { parseAssignment } from "../assignments.js";
import type { CommandSpec } from "../command-spec.js";
import { appPath } from "../context.js";
import { gitRevision, shortRevision } from "../git-revision.js";
import { formatMiB, formatTable, relativeTime } from "../output.js";
import { runOperation, type SuccessLine } from "../render.js";
import { appFromArgOrContext, type RestoreSummary, restoreFailureLine, text } from "./shared.js";

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

export const deployCommand: CommandSpec = {
  name: "deploy",
  aliases: ["app deploy", "apps:deploy"],
  group: "Deploy",
  summary: "deploy a source directory or an image",
  args: "[DIR]",
  maxArgs: 1,
  usesApp: true,
  options: [
    {
      name: "image",
      type: "string",
      value: "REF",
      description:
        "deploy an image instead: a registry reference, a local image, or a `podman save` archive file",
    },
    {
      name: "env",
      short: "e",
      type: "string",
      multiple: true,
      value: "K=V",
      description: "set a variable for this deploy (repeatable); wins over config:set and the ENV file",
    },
    {
      name: "timings",
      type: "boolean",
      description: "print how long each step took (upload, detect, each buildpack, export, start, health...)",
    },
  ],
  description:
    "Uploads DIR (default: the current directory) as a gzip'd tar and streams the build and deploy. Files matched " +
    "by .gitignore (nested ones too), .hop3ignore or hop3.toml [build].ignore are left out, and so is .git. The " +
    "app is created on first deploy; without --app it is looked up from DIR, not the current directory.",
  examples: [
    "hop deploy",
    "hop deploy ./myapp --app myapp",
    "hop deploy --image docker.io/library/nginx:1.27 --app web",
    "hop deploy --image ./myapp.tar --app myapp      # podman save -o myapp.tar myapp",
    "hop deploy --env LOG_LEVEL=debug",
  ],
  async run(ctx) {
    const image = ctx.opt("image");
    const env = ctx.list("env");
    for (const e of env) parseAssignment(e);
    const dirArg = ctx.args[0];
    const showTimings = ctx.flag("timings");

    if (image !== undefined) {
      if (dirArg !== undefined) throw usageError("give either DIR or --image, not both");
      const app = await ctx.app();
      const success: SuccessLine = (r) => `${text(r.app ?? app)} deployed: ${text(r.url)}`;
      const archive = resolve(ctx.io.cwd, image);
      const st = statOrUndefined(archive);
      if (st?.isFile()) {
        if (!ctx.json) ctx.out(`-----> Uploading image archive ${image} (${formatMiB(st.size)})`);
        return runOperation(
          ctx,
          appPath(app, "/deploy"),
          {
            method: "POST",
            body: createReadStream(archive),
            contentType: "application/x-tar",
            headers: { "content-length": String(st.size) },
            query: { "image-archive": "1", create: "1", env },
          },
          success,
          showTimings,
        );
      }
      return runOperation(
        ctx,
        appPath(app, "/deploy"),
        { method: "POST", query: { image, create: "1", env } },
        success,
        showTimings,
      );
    }

    const dir = resolve(ctx.io.cwd, dirArg ?? ".");
    if (!statOrUndefined(dir)?.isDirectory()) {
      throw usageError(`no such directory: ${dirArg ?? "."}`, "usage: hop deploy [DIR] (or --image REF)");
    }
    const app = await ctx.app(dir);
    // loaded here: packing pulls in tar-fs, ignore and zlib, which no other command needs
    const { packStream, planPack } = await import("../pack.js");
    const plan = planPack(dir);
    if (plan.files === 0) {
      throw usageError(
        `nothing to deploy in ${dirArg ?? "."}`,
        "every file is ignored, or the directory is empty",
      );
    }
    const revision = await gitRevision(dir);
    if (!ctx.json) ctx.out(`-----> Uploading ${plan.files} files (${formatMiB(plan.bytes)})`);
    return runOperation(
      ctx,
      appPath(app, "/deploy"),
      {
        method: "POST",
        body: packStream(plan),
        contentType: "application/gzip",
        query: { create: "1", revision, env },
      },
      (r) => `${text(r.app ?? app)} deployed: ${text(r.url)}`,
      showTimings,
    );
  },
};

interface Release {
  number: number;
  status?: string;
  image?: string;
  digest?: string;
  source?: string;
  revision?: string;
  createdAt?: string;
  description?: string | null;
  error?: string | null;
  current?: boolean;
  /** Components in the release's SBOM; null when it has none. */
  components?: number | null;
  /** Where its SBOM stands (servers before this field: only `components`). */
  sbom?: { state: "ready" | "pending" | "failed" | "none"; components?: number; reason?: string };
}

/** The SBOM column: the component count, "pending" while generated, "failed" (the reason below the table). */
function sbomCell(r: Release): string {
  if (typeof r.components === "number") return String(r.components);
  if (r.sbom?.state === "pending") return "pending";
  if (r.sbom?.state === "failed") return "failed";
  return "-";
}

/** Lines under `hop releases`: why a release has no SBOM, when its generation failed. */
export function sbomFailureLines(releases: Release[]): string[] {
  return releases
    .filter((r) => r.sbom?.state === "failed")
    .map((r) => `v${r.number}: no SBOM: ${(r.sbom?.reason ?? "").split("\n")[0]!.slice(0, 200)}`);
}

/** Rows of `hop releases`; the current release is starred. */
export function releaseRows(releases: Release[], now = new Date()): string[][] {
  return releases.map((r) => [
    `${r.current ? "*" : " "} v${r.number}`,
    text(r.status),
    text(r.source),
    r.revision ? shortRevision(r.revision) : text(r.image),
    relativeTime(r.createdAt, now) || "-",
    sbomCell(r),
    r.status === "failed" && r.error
      ? `failed: ${r.error.split("\n")[0]!.slice(0, 60)}`
      : text(r.description),
  ]);
}

export const releasesCommand: CommandSpec = {
  name: "releases",
  aliases: ["app releases", "apps:releases"],
  group: "Deploy",
  summary: "list an app's releases, newest first",
  args: "[APP]",
  maxArgs: 1,
  usesApp: true,
  examples: ["hop releases", "hop releases --app myapp --json"],
  async run(ctx) {
    const app = await appFromArgOrContext(ctx);
    const body = await ctx
      .client()
      .json<{ releases: Release[]; restore?: RestoreSummary }>(appPath(app, "/releases"));
    if (ctx.json) {
      ctx.printJson(body);
      return 0;
    }
    // a restore that did not finish may have made no release: it is said first (docs/backups.md)
    const restore = restoreFailureLine(app, body.restore);
    if (restore) ctx.err(ctx.paintErr.red(restore));
    if (body.releases.length === 0) {
      ctx.out(`${app} has no releases yet. Deploy with \`hop deploy\`.`);
      return 0;
    }
    ctx.out(`=== ${app} releases`);
    ctx.out(
      formatTable(
        ["  VERSION", "STATUS", "SOURCE", "REVISION/IMAGE", "CREATED", "SBOM", "DESCRIPTION"],
        releaseRows(body.releases),
      ),
    );
    if (body.releases.some((r) => r.current)) ctx.out("(* current release)");
    for (const line of sbomFailureLines(body.releases)) ctx.out(line);
    return 0;
  },
};

export const purgeCacheCommand: CommandSpec = {
  name: "builds:purge-cache",
  aliases: ["builds purge-cache", "repo:purge-cache", "build:purge-cache"],
  group: "Deploy",
  summary: "delete the app's build cache (the next build starts cold)",
  maxArgs: 0,
  usesApp: true,
  examples: ["hop builds:purge-cache"],
  async run(ctx) {
    const app = await ctx.app();
    const body = await ctx
      .client()
      .json<{ purged: boolean }>(appPath(app, "/purge-cache"), { method: "POST" });
    if (ctx.json) ctx.printJson(body);
    else ctx.out(body.purged ? `Build cache of ${app} deleted` : `${app} had no build cache`);
    return 0;
  },
};

export const deployCancelCommand: CommandSpec = {
  name: "deploy:cancel",
  aliases: ["deploy cancel", "deploys:cancel"],
  group: "Deploy",
  summary: "stop the app's deploy in progress (the previous release keeps serving)",
  maxArgs: 0,
  usesApp: true,
  description:
    "Aborts the deploy running for the app at its current step (build, release phase, rollout): what it " +
    "created is removed, the release is marked failed, and the app's lock is released so config changes and " +
    "restarts proceed at once.",
  examples: ["hop deploy:cancel -a myapp"],
  async run(ctx) {
    const app = await ctx.app();
    const body = await ctx
      .client()
      .json<{ cancelled: boolean }>(appPath(app, "/deploy/cancel"), { method: "POST" });
    if (ctx.json) ctx.printJson(body);
    else ctx.out(body.cancelled ? `Deploy of ${app} cancelled` : `${app} has no deploy in progress`);
    return 0;
  },
};
