/** `hop volumes` and `volumes:destroy`: an app's persistent data, listed and (on confirmation) removed. */
import type { VolumeRow } from "../../deploy/volume-report.js";
import type { CommandSpec } from "../command-spec.js";
import { formatMiB, formatTable } from "../output.js";
import { confirmByName, text } from "./shared.js";

const volumesPath = (app: string, rest = "") => `/api/v1/apps/${encodeURIComponent(app)}/volumes${rest}`;

export const volumesCommand: CommandSpec = {
  name: "volumes",
  aliases: ["volumes:list", "volume list", "volume:list"],
  group: "Volumes",
  summary: "list an app's volumes: name, mount point, size, state",
  maxArgs: 0,
  usesApp: true,
  description:
    "Persist volumes keep their data across releases; one that the active release no longer declares is " +
    "listed as orphaned until volumes:destroy removes it.",
  examples: ["hop volumes -a myapp", "hop volumes -a myapp --json"],
  async run(ctx) {
    const app = await ctx.app();
    const body = await ctx.client().json<{ app: string; volumes: VolumeRow[] }>(volumesPath(app));
    if (ctx.json) {
      ctx.printJson(body);
      return 0;
    }
    if (body.volumes.length === 0) {
      ctx.out(`${app} has no volumes (declare them with [[volumes]] in hop3.toml)`);
      return 0;
    }
    const size = (v: VolumeRow) =>
      v.size !== undefined ? formatMiB(v.size) : v.limit !== undefined ? `<= ${formatMiB(v.limit)}` : "-";
    ctx.out(
      formatTable(
        ["NAME", "TYPE", "MOUNT", "SIZE", "STATE"],
        body.volumes.map((v) => [v.name, v.type, text(v.target), size(v), v.state]),
      ),
    );
    return 0;
  },
};

export const volumesDestroyCommand: CommandSpec = {
  name: "volumes:destroy",
  aliases: ["volume destroy", "volume:destroy"],
  group: "Volumes",
  summary: "delete one of the app's persist volumes and its data",
  args: "NAME",
  minArgs: 1,
  maxArgs: 1,
  usesApp: true,
  options: [
    { name: "confirm", type: "string", value: "NAME", description: "NAME must be the volume's name" },
  ],
  description:
    "Refused while a container mounts the volume: stop the app first (its next start gets an empty volume), " +
    "or remove the [[volumes]] entry and deploy. On a terminal it asks you to type the name.",
  examples: ["hop volumes:destroy hop3-myapp-data -a myapp --confirm hop3-myapp-data"],
  async run(ctx) {
    const app = await ctx.app();
    const name = ctx.args[0]!;
    const confirm = await confirmByName(ctx, name, {
      destroys: `the volume ${name} of ${app} and all its data`,
      needs: `destroying the volume ${name} deletes its data`,
      prompt: "Type the volume name to confirm: ",
    });
    const body = await ctx
      .client()
      .json<{ destroyed: string }>(volumesPath(app, `/${encodeURIComponent(name)}`), {
        method: "DELETE",
        query: { confirm },
      });
    if (ctx.json) ctx.printJson(body);
    else ctx.out(`Destroyed the volume ${body.destroyed} of ${app} and its data`);
    return 0;
  },
};
