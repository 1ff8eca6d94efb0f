/** The command table: every command `hop` knows, in help order. */
import { readFileSync } from "node:fs";
import { usageError } from "../util/errors.js";
import { matchCommand } from "./args.js";
import type { CommandSpec } from "./command-spec.js";
import { ADDON_COMMANDS } from "./commands/addons.js";
import { appsCommand, createCommand, destroyCommand, statusCommand } from "./commands/apps.js";
import { BACKUP_COMMANDS } from "./commands/backups.js";
import {
  buildpacksMapCommand,
  buildpacksMapsCommand,
  buildpacksPrepareCommand,
  buildpacksUnmapCommand,
} from "./commands/buildpacks.js";
import { CATALOG_COMMANDS } from "./commands/catalog.js";
import { configCommand, configGetCommand, configSetCommand, configUnsetCommand } from "./commands/config.js";
import { deployCancelCommand, deployCommand, purgeCacheCommand, releasesCommand } from "./commands/deploy.js";
import { domainsAddCommand, domainsCommand, domainsRemoveCommand } from "./commands/domains.js";
import {
  logsCommand,
  psCommand,
  psRestartCommand,
  psScaleCommand,
  restartCommand,
  rollbackCommand,
  startCommand,
  stopCommand,
} from "./commands/processes.js";
import { cronListCommand, cronRunCommand, runCommand } from "./commands/run.js";
import { SBOM_COMMANDS } from "./commands/sbom.js";
import { setupSshCommand } from "./commands/setup.js";
import { SUPPLY_CHAIN_COMMANDS } from "./commands/supply-chain.js";
import { doctorCommand } from "./commands/system.js";
import { volumesCommand, volumesDestroyCommand } from "./commands/volumes.js";
import { commandHelp, generalHelp } from "./help.js";

/** The version in package.json (two levels up from both src/cli and dist/cli). */
export function clientVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

export const helpCommand: CommandSpec = {
  name: "help",
  group: "Help",
  summary: "list commands, or explain one",
  args: "[COMMAND]",
  examples: ["hop help", "hop help deploy", "hop help config:set"],
  async run(ctx) {
    if (ctx.args.length === 0) {
      ctx.out(generalHelp(COMMANDS));
      return 0;
    }
    const match = matchCommand(COMMANDS, ctx.args);
    if (!match || match.rest.length > 0) {
      throw usageError(
        `no help for ${JSON.stringify(ctx.args.join(" "))}: unknown command`,
        "run `hop help`",
      );
    }
    ctx.out(commandHelp(match.command));
    return 0;
  },
};

export const versionCommand: CommandSpec = {
  name: "version",
  group: "Help",
  summary: "show the hop version",
  maxArgs: 0,
  async run(ctx) {
    const version = clientVersion();
    if (ctx.json) ctx.printJson({ version });
    else ctx.out(`hop ${version}`);
    return 0;
  },
};

export const COMMANDS: CommandSpec[] = [
  appsCommand,
  createCommand,
  statusCommand,
  destroyCommand,
  deployCommand,
  deployCancelCommand,
  releasesCommand,
  purgeCacheCommand,
  configCommand,
  configGetCommand,
  configSetCommand,
  configUnsetCommand,
  domainsCommand,
  domainsAddCommand,
  domainsRemoveCommand,
  psCommand,
  psScaleCommand,
  psRestartCommand,
  rollbackCommand,
  startCommand,
  stopCommand,
  restartCommand,
  logsCommand,
  runCommand,
  cronListCommand,
  cronRunCommand,
  ...ADDON_COMMANDS,
  volumesCommand,
  volumesDestroyCommand,
  ...BACKUP_COMMANDS,
  ...CATALOG_COMMANDS,
  buildpacksMapsCommand,
  buildpacksMapCommand,
  buildpacksUnmapCommand,
  buildpacksPrepareCommand,
  ...SBOM_COMMANDS,
  ...SUPPLY_CHAIN_COMMANDS,
  setupSshCommand,
  doctorCommand,
  helpCommand,
  versionCommand,
];
