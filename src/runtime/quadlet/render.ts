/**
 * Pure: ContainerPlans to quadlet units (podman-systemd.unit(5)) for the hop3 user's
 * ~/.config/containers/systemd/. Only keys the target Podman version knows are written; a key the plan
 * needs but the version lacks is an error, never a silently different container.
 */

import { envValueProblem } from "../../app/env-vars.js";
import type { ContainerPlan } from "../../deploy/plan.js";
import { CHOWN_TO_CONTAINER_USER, type MountPlan, tmpfsOptions } from "../../deploy/volumes.js";
import { Hop3Error } from "../../util/errors.js";
import { macFor, withAddressLabel } from "../app-ip.js";
import { LABEL } from "../labels.js";
import type { ResourceLimits } from "../limits.js";
import { compareVersions, type QuadletSection, requireKeys } from "./keys.js";

export interface ContainerUnitOptions {
  /** Podman on the host, e.g. "5.4.2": decides which keys may be used. */
  podmanVersion: string;
  /** Absolute path of the env file written beside the unit (see renderEnvFile); omitted when env is empty. */
  envFile?: string;
  /** systemd's limit for `podman run` to report the container started. */
  timeoutStartSec?: number;
  /** systemd on the host (e.g. 257): decides whether the restart delay can grow (RestartSteps=, 254+). */
  systemdVersion?: number;
  /**
   * Fixed host port on 127.0.0.1 for the web port. Needed in practice: systemd replaces a dead container by a
   * new one, and a random port would change under the router's feet at every restart.
   */
  hostPort?: number;
  /** Fixed address on the app network (app gateway mode, runtime/app-ip.ts), for the same reason. */
  ip?: string;
}

/** Unit file names for a plan: systemd calls the service `<base>.service`. */
export const containerUnitBase = (plan: Pick<ContainerPlan, "name">) => plan.name;
export const containerUnitFile = (name: string) => `${name}.container`;
export const containerServiceName = (name: string) => `${name}.service`;
export const envFileName = (name: string) => `${name}.env`;
/** The .network unit of an app: quadlet names its service `<base>-network.service`. */
export const networkUnitFile = (network: string) => `${network}.network`;
export const networkServiceName = (network: string) => `${network}-network.service`;
export const volumeUnitFile = (volume: string) => `${volume}.volume`;
export const volumeServiceName = (volume: string) => `${volume}-volume.service`;

/** Podman versions from which NetworkName=/VolumeName= let a unit keep Hop3's own names (else "systemd-X"). */
const NAMED_NETWORKS_SINCE = "4.7";

export const usesNetworkUnit = (podmanVersion: string) =>
  compareVersions(podmanVersion, NAMED_NETWORKS_SINCE) >= 0;

/**
 * One word of a systemd command line or assignment list, as quadlet splits it (C unescaping inside double
 * quotes) and systemd then expands it in ExecStart: `%` and `$` are doubled so they reach the app verbatim.
 * With `"environment"`, one Environment= assignment of a plain unit (systemd.exec(5)): `$` stays single, since
 * Environment= expands no variables and a doubled `$` would stay doubled. A quoted `;` is a plain argument.
 */
export function quoteWord(word: string, where: "command" | "environment" = "command"): string {
  let out = "";
  for (const ch of word) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === '"') out += '\\"';
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (ch === "%") out += "%%";
    else if (ch === "$" && where === "command") out += "$$";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `"${out}"`;
}

/** A word needs quoting unless it is plain: letters, digits and a few safe marks. */
export function commandWord(w: string): string {
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(w) ? w : quoteWord(w);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * An app's variables go to a 0600 env file beside the unit (podman --env-file) and nowhere else: not into the
 * unit, not onto podman's command line (any local user can read /proc/PID/cmdline). Podman reads the file
 * literally, one KEY=VALUE per line, the value being everything after the first "=" to the end of the line, so
 * `$HOME`, `%h`, backslashes, quotes and leading or trailing spaces arrive byte for byte: systemd never
 * expands the file, only the unit. A value with a line break or NUL has no such line: app/env-vars.ts refuses
 * them where they enter, and one stored before that rule is refused here with its name.
 * Podman 4.7.0 alone parsed quotes, `#` comments and surrounding spaces in env files (reverted in 4.7.1,
 * containers/podman#20256): there, values it could read differently stay in the unit as Environment= lines.
 */
export function splitEnv(
  env: Record<string, string>,
  podmanVersion?: string,
): {
  file: Record<string, string>;
  unit: Record<string, string>;
} {
  const file: Record<string, string> = {};
  const unit: Record<string, string> = {};
  const parsesQuotes = podmanVersion !== undefined && compareVersions(podmanVersion, "4.7.0") === 0;
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME.test(k)) {
      throw new Hop3Error(`environment variable name ${JSON.stringify(k)} is not valid`, "usage");
    }
    const problem = envValueProblem(v);
    if (problem) {
      throw new Hop3Error(
        `the value of ${k} ${problem}: it cannot be written to the env file`,
        "usage",
        `set it again without control characters: hop config:set ${k}=...`,
      );
    }
    const plain = /^[A-Za-z0-9_@%+=:,./-]*$/.test(v);
    (parsesQuotes && !plain ? unit : file)[k] = v;
  }
  return { file, unit };
}

/** The env file's content (KEY=VALUE lines, read literally by Podman). */
export function renderEnvFile(env: Record<string, string>, podmanVersion?: string): string {
  const { file } = splitEnv(env, podmanVersion);
  const lines = Object.keys(file)
    .sort()
    .map((k) => `${k}=${file[k]}`);
  return `# Generated by Hop3. Secrets: keep mode 0600.\n${lines.join("\n")}${lines.length ? "\n" : ""}`;
}

interface Section {
  name: string;
  lines: [string, string][];
}

function renderSections(header: string, sections: Section[]): string {
  const parts = [header];
  for (const s of sections) {
    if (s.lines.length === 0) continue;
    parts.push(`[${s.name}]\n${s.lines.map(([k, v]) => `${k}=${v}`).join("\n")}\n`);
  }
  return parts.join("\n");
}

function checked(version: string, unit: string, section: QuadletSection, lines: [string, string][]) {
  requireKeys(
    version,
    section,
    lines.map(([k]) => k),
    unit,
  );
  return lines;
}

function labelLines(labels: Record<string, string>): [string, string][] {
  return Object.keys(labels)
    .sort()
    .map((k) => ["Label", commandWord(`${k}=${labels[k]}`)]);
}

/** systemd from which RestartSteps= and RestartMaxDelaySec= make the restart delay grow (systemd.service(5)). */
export const RESTART_STEPS_SINCE = 254;

/**
 * Restart policy of every long-running unit (apps, router): back off, never give up. systemd's default
 * start limit (5 starts in 10 s) would leave a unit failed for good after a few seconds of trouble at boot
 * (a database not up yet, a full disk); StartLimitIntervalSec=0 lifts it, and the delay grows from 1 s to a
 * minute so a crashing app does not cost the host a restart per second. Before systemd 254 the delay cannot
 * grow: a fixed 5 s instead. An unknown version gets the growing delay (older systemd ignores the keys).
 */
export function restartPolicy(systemdVersion?: number): {
  unit: [string, string][];
  service: [string, string][];
} {
  const grows = systemdVersion === undefined || systemdVersion >= RESTART_STEPS_SINCE;
  return {
    unit: [["StartLimitIntervalSec", "0"]],
    service: [
      ["Restart", "always"],
      ...(grows
        ? ([
            ["RestartSec", "1"],
            ["RestartSteps", "10"],
            ["RestartMaxDelaySec", "60"],
          ] as [string, string][])
        : ([["RestartSec", "5"]] as [string, string][])),
    ],
  };
}

/**
 * journald keeps `podman logs` (and so `hop logs`) working; quadlet's default on some versions is passthrough,
 * which podman logs cannot read. LogDriver= exists from Podman 4.5.
 */
function journaldLogLine(v: string): [string, string] {
  return compareVersions(v, "4.5") >= 0 ? ["LogDriver", "journald"] : ["PodmanArgs", "--log-driver=journald"];
}

/** The `.container` unit of one process instance. */
export function renderContainerUnit(plan: ContainerPlan, opts: ContainerUnitOptions): string {
  const v = opts.podmanVersion;
  const unitName = containerUnitFile(plan.name);
  const { file, unit: inlineEnv } = splitEnv(plan.env, v);
  const c: [string, string][] = [
    ["Image", plan.image],
    ["ContainerName", plan.name],
  ];
  if (plan.entrypoint) {
    // one word (/bin/sh, to run prerun hooks before the image's own command: deploy/plan.ts)
    if (plan.entrypoint.length !== 1)
      throw new Hop3Error(`renderContainerUnit(${plan.name}): one-word entrypoint`);
    const [entry] = plan.entrypoint as [string];
    if (compareVersions(v, "5.0") >= 0) c.push(["Entrypoint", entry]);
    else c.push(["PodmanArgs", `--entrypoint=${commandWord(entry)}`]);
  }
  if (plan.cmd && plan.cmd.length > 0) c.push(["Exec", plan.cmd.map(commandWord).join(" ")]);
  if (Object.keys(file).length > 0) {
    if (!opts.envFile) throw new Hop3Error(`renderContainerUnit(${plan.name}): envFile is required`);
    c.push(["EnvironmentFile", opts.envFile]);
  }
  for (const k of Object.keys(inlineEnv).sort()) c.push(["Environment", quoteWord(`${k}=${inlineEnv[k]}`)]);
  c.push(...labelLines(withAddressLabel(plan.labels, opts.ip)));
  c.push(["Network", usesNetworkUnit(v) ? networkUnitFile(plan.network) : plan.network]);
  if (opts.ip) {
    c.push(compareVersions(v, "4.5") >= 0 ? ["IP", opts.ip] : ["PodmanArgs", `--ip=${opts.ip}`]);
    // no quadlet key for it: the MAC that goes with the address (app-ip.ts macFor says why)
    c.push(["PodmanArgs", `--mac-address=${macFor(opts.ip)}`]);
  }
  c.push(...mountLines(plan.mounts ?? [], v));
  if (plan.publishPort) c.push(["PublishPort", `127.0.0.1:${opts.hostPort ?? ""}:${plan.publishPort}`]);
  c.push(...limitLines(plan.limits, v));
  // catatonit as PID 1: reaps zombies and forwards signals, as the Podman supervisor's Init: true does.
  c.push(["RunInit", "yes"]);
  c.push(journaldLogLine(v));
  checked(v, unitName, "Container", c);

  const description = `Hop3 ${plan.app} ${plan.process}.${plan.instance} (release ${plan.release})`;
  const restart = restartPolicy(opts.systemdVersion);
  return renderSections(
    `# Generated by Hop3 for ${LABEL.app}=${plan.app}: do not edit, the next deploy replaces it.\n`,
    [
      { name: "Unit", lines: [["Description", description], ...restart.unit, ...startsAfterLines(plan)] },
      { name: "Container", lines: c },
      {
        name: "Service",
        lines: [...restart.service, ["TimeoutStartSec", String(opts.timeoutStartSec ?? 120)]],
      },
      { name: "Install", lines: [["WantedBy", "default.target"]] },
    ],
  );
}

/**
 * At boot systemd starts units in parallel: an app whose database is not up yet crashes, and comes up only at a
 * later restart (a back-off of up to a minute). After= orders the app after its addons' units; Wants= starts
 * them with it (without failing the app if one is gone: Requires= would stop the app with its database).
 */
function startsAfterLines(plan: ContainerPlan): [string, string][] {
  const units = (plan.startsAfter ?? []).map(containerServiceName);
  if (units.length === 0) return [];
  return [
    ["Wants", units.join(" ")],
    ["After", units.join(" ")],
  ];
}

/**
 * hop3.toml `[limits]` over the platform's defaults, as the Podman supervisor's HostConfig carries them:
 * Memory= (5.5) and PidsLimit= (4.7) where the version has the key, PodmanArgs= otherwise; CPUs have no key.
 * Swap is held to the memory limit, as with the API (MemorySwap = Memory).
 */
export function limitLines(limits: ResourceLimits | undefined, v: string): [string, string][] {
  if (!limits) return [];
  const lines: [string, string][] = [];
  const args: string[] = [];
  if (limits.memoryBytes) {
    if (compareVersions(v, "5.5") >= 0) lines.push(["Memory", `${limits.memoryBytes}`]);
    else args.push(`--memory=${limits.memoryBytes}b`);
    args.push(`--memory-swap=${limits.memoryBytes}b`);
  }
  if (limits.pids) {
    if (compareVersions(v, "4.7") >= 0) lines.push(["PidsLimit", String(limits.pids)]);
    else args.push(`--pids-limit=${limits.pids}`);
  }
  if (limits.cpus) args.push(`--cpus=${limits.cpus}`);
  if (args.length > 0) lines.push(["PodmanArgs", args.join(" ")]);
  return lines;
}

/**
 * hop3.toml `[[volumes]]`: a persist volume refers to its `.volume` unit where Podman has VolumeName= (the
 * unit creates it, and systemd orders it before the container), else to the volume by name.
 */
function mountLines(mounts: readonly MountPlan[], v: string): [string, string][] {
  const lines: [string, string][] = [];
  for (const m of mounts) {
    if (m.kind === "volume") {
      const source = usesNetworkUnit(v) ? volumeUnitFile(m.volume) : m.volume;
      lines.push(["Volume", commandWord(`${source}:${m.target}:${CHOWN_TO_CONTAINER_USER}`)]);
    } else if (m.kind === "bind") {
      lines.push(["Volume", commandWord(`${m.source}:${m.target}:${CHOWN_TO_CONTAINER_USER}`)]);
    } else {
      const spec = [m.target, tmpfsOptions(m).join(",")].filter(Boolean).join(":");
      if (compareVersions(v, "4.5") >= 0) lines.push(["Tmpfs", commandWord(spec)]);
      else lines.push(["PodmanArgs", commandWord(`--tmpfs=${spec}`)]);
    }
  }
  return lines;
}

/** The `.network` unit of an app (Podman >= 4.7: keeps the network's name `hop3-<app>`). */
export function renderNetworkUnit(app: string, network: string, podmanVersion: string): string {
  if (!usesNetworkUnit(podmanVersion)) {
    throw new Hop3Error(
      `Podman ${podmanVersion} has no NetworkName= (needs ${NAMED_NETWORKS_SINCE}): use the network ${network} directly`,
    );
  }
  const n = checked(podmanVersion, networkUnitFile(network), "Network", [
    ["NetworkName", network],
    ...labelLines({ [LABEL.managed]: "true", [LABEL.app]: app }),
  ]);
  return renderSections(`# Generated by Hop3 for ${LABEL.app}=${app}: do not edit.\n`, [
    { name: "Unit", lines: [["Description", `Hop3 ${app} network`]] },
    { name: "Network", lines: n },
  ]);
}

export interface VolumePlan {
  app: string;
  /** The Podman volume name, e.g. hop3-<app>-data. */
  name: string;
  labels?: Record<string, string>;
}

/** The `.volume` unit of a persistent volume (Podman >= 4.7 for VolumeName=). */
export function renderVolumeUnit(volume: VolumePlan, podmanVersion: string): string {
  const lines = checked(podmanVersion, volumeUnitFile(volume.name), "Volume", [
    ["VolumeName", volume.name],
    ...labelLines({ [LABEL.managed]: "true", [LABEL.app]: volume.app, ...volume.labels }),
  ]);
  return renderSections(`# Generated by Hop3 for ${LABEL.app}=${volume.app}: do not edit.\n`, [
    { name: "Unit", lines: [["Description", `Hop3 ${volume.app} volume ${volume.name}`]] },
    { name: "Volume", lines },
  ]);
}

/** What renderRouterUnit needs of the router's container (router/router-runner.ts RouterContainerSpec). */
export interface RouterUnitSpec {
  name: string;
  image: string;
  cmd?: string[];
  env: Record<string, string>;
  binds: { host: string; container: string; readOnly?: boolean }[];
  extraHosts: Record<string, string>;
  description: string;
  /** io.hop3.role of the container: `router` unless said (the app gateway is `gateway`). */
  role?: string;
  /** The network it starts on; the host's when absent (the router). */
  network?: string;
  /** More networks it is created on. */
  networks?: string[];
  /**
   * Networks carrying this label are joined right after every start (the app gateway: a container re-created
   * by systemd must be back on every app network before it can forward anything).
   */
  joinNetworksLabelled?: string;
  /** Namespaced sysctls: Sysctl= (Podman 4.6) or --sysctl. */
  sysctls?: Record<string, string>;
  /** More labels (the role and the managed mark are always there). */
  labels?: Record<string, string>;
}

/**
 * The router's own `.container` unit (systemd/hop3-router.container is this function's output for a default
 * install). Host network, so it binds 80/443 and reaches every app's loopback port; enabled for boot.
 */
export function renderRouterUnit(
  spec: RouterUnitSpec,
  podmanVersion: string,
  systemdVersion?: number,
): string {
  const v = podmanVersion;
  const unitName = containerUnitFile(spec.name);
  const c: [string, string][] = [
    ["Image", spec.image],
    ["ContainerName", spec.name],
  ];
  if (spec.cmd && spec.cmd.length > 0) c.push(["Exec", spec.cmd.map(commandWord).join(" ")]);
  for (const k of Object.keys(spec.env).sort()) c.push(["Environment", commandWord(`${k}=${spec.env[k]}`)]);
  c.push(...labelLines({ "io.hop3.role": spec.role ?? "router", [LABEL.managed]: "true", ...spec.labels }));
  c.push(["Network", spec.network ?? "host"]);
  for (const n of spec.network ? (spec.networks ?? []) : []) c.push(["Network", n]);
  for (const b of spec.binds)
    c.push(["Volume", commandWord(`${b.host}:${b.container}${b.readOnly ? ":ro" : ""}`)]);
  for (const k of Object.keys(spec.sysctls ?? {}).sort()) {
    const kv = `${k}=${spec.sysctls![k]}`;
    c.push(compareVersions(v, "4.6") >= 0 ? ["Sysctl", kv] : ["PodmanArgs", `--sysctl=${kv}`]);
  }
  const hosts = Object.keys(spec.extraHosts).sort();
  if (compareVersions(v, "5.3") >= 0)
    for (const h of hosts) c.push(["AddHost", `${h}:${spec.extraHosts[h]}`]);
  else if (hosts.length > 0) {
    c.push(["PodmanArgs", hosts.map((h) => `--add-host=${h}:${spec.extraHosts[h]}`).join(" ")]);
  }
  c.push(journaldLogLine(v));
  checked(v, unitName, "Container", c);
  const restart = restartPolicy(systemdVersion);
  return renderSections(
    "# Hop3's router, a rootless quadlet of the hop3 user (~/.config/containers/systemd/), started at boot.\n" +
      "# Written by hop3-server, which rewrites it when the router's image (tagged with a hash of its\n" +
      "# images/ directory) or settings change: edit the settings in /etc/hop3/hop3.env, not this file.\n",
    [
      {
        name: "Unit",
        lines: [
          ["Description", spec.description],
          ["Documentation", "file:///opt/hop3/docs/routing.md"],
          ...restart.unit,
        ],
      },
      { name: "Container", lines: c },
      {
        name: "Service",
        lines: [
          ...restart.service,
          ["TimeoutStartSec", "120"],
          ...(spec.joinNetworksLabelled ? [joinNetworksLine(spec.name, spec.joinNetworksLabelled)] : []),
        ],
      },
      { name: "Install", lines: [["WantedBy", "default.target"]] },
    ],
  );
}

/**
 * ExecStartPost= that joins the container to every network with the label, one `podman network connect` each
 * (a failure for one network, e.g. removed meanwhile, does not stop the others). The label and name are
 * Hop3's own constants, never user input; commandWord escapes `$` and `%` for systemd.
 */
function joinNetworksLine(container: string, label: string): [string, string] {
  if (!/^[a-z0-9.-]+$/.test(label) || !/^[a-z0-9.-]+$/.test(container)) {
    throw new Error(`joinNetworksLine: unexpected name ${container} / ${label}`);
  }
  const script =
    `podman network ls --filter label=${label} --format '{{.Name}}' | ` +
    `while read -r n; do podman network connect "$n" ${container} 2>/dev/null || true; done`;
  return ["ExecStartPost", `/bin/sh -c ${commandWord(script)}`];
}

/** What renderAddonUnit needs of an addon's server container (addons/runner.ts builds it). */
export interface AddonUnitSpec {
  /** The container's name, also the unit's (`hop3-addon-NAME`). */
  name: string;
  /** The addon's own name, e.g. `shop-db`: its network alias on each app's network. */
  addon: string;
  image: string;
  cmd?: string[];
  labels: Record<string, string>;
  /** The addon's own network first (internal), then each attached app's network, reached under `addon`. */
  ownNetwork: string;
  appNetworks: string[];
  /** The named data volume (created with its labels beforehand) and where it is mounted. */
  volume: { name: string; target: string };
  memoryBytes?: number;
  /** `addons:expose`: the server's port on the host's loopback only. */
  publish?: { hostPort: number; containerPort: number };
  /** The 0600 env file with its credentials (renderEnvFile), beside the unit. */
  envFile: string;
  description: string;
}

/**
 * The `.container` unit of an addon's server (Postgres, MariaDB, Redis): supervised by systemd like the apps,
 * so it is restarted when it dies and started at boot, without the server. Its credentials are only in the
 * env file; its networks are listed here, so a container systemd makes again rejoins every attached app
 * (the server also connects a running one live when an app attaches: no restart of the database).
 */
export function renderAddonUnit(spec: AddonUnitSpec, podmanVersion: string, systemdVersion?: number): string {
  const v = podmanVersion;
  const c: [string, string][] = [
    ["Image", spec.image],
    ["ContainerName", spec.name],
  ];
  if (spec.cmd && spec.cmd.length > 0) c.push(["Exec", spec.cmd.map(commandWord).join(" ")]);
  c.push(["EnvironmentFile", spec.envFile]);
  c.push(...labelLines(spec.labels));
  c.push(["Network", spec.ownNetwork]);
  // `--network NAME:alias=A`: the alias on that network only (NetworkAlias= would give it on every one)
  for (const n of [...spec.appNetworks].sort()) c.push(["Network", `${n}:alias=${spec.addon}`]);
  c.push(["Volume", commandWord(`${spec.volume.name}:${spec.volume.target}`)]);
  if (spec.publish) {
    c.push(["PublishPort", `127.0.0.1:${spec.publish.hostPort}:${spec.publish.containerPort}`]);
  }
  c.push(...limitLines(spec.memoryBytes ? { memoryBytes: spec.memoryBytes } : undefined, v));
  c.push(journaldLogLine(v));
  checked(v, containerUnitFile(spec.name), "Container", c);
  const restart = restartPolicy(systemdVersion);
  return renderSections(
    `# Generated by Hop3 for addon ${spec.addon}: do not edit, the server rewrites it (hop addons:info ${spec.addon}).\n`,
    [
      { name: "Unit", lines: [["Description", spec.description], ...restart.unit] },
      { name: "Container", lines: c },
      // a first start initialises the database before the container counts as started: room for it
      { name: "Service", lines: [...restart.service, ["TimeoutStartSec", "300"]] },
      { name: "Install", lines: [["WantedBy", "default.target"]] },
    ],
  );
}
