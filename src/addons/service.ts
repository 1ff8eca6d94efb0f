/**
 * Addons end to end: create, attach, detach, destroy, describe, client sessions, and what deploys and the
 * server's start need (hop3.toml [[addons]], reconciliation, the watchdog's question). Type-specific work is
 * the plugins' (registry.ts); Podman work is containers.ts's; who keeps the server running (Podman, or systemd
 * with quadlets) is the runner's (runner.ts); records are the store's (store/addon-store.ts).
 */
import { randomBytes } from "node:crypto";
import type Docker from "dockerode";
import { quoteForMessage } from "../app/name.js";
import { withAppLock } from "../deploy/app-lock.js";
import type { Platform, Progress } from "../deploy/platform.js";
import { LABEL } from "../runtime/labels.js";
import { enforceable } from "../runtime/limits.js";
import type { RunRequest, RunSessions } from "../runtime/run-session.js";
import type { AddonRow } from "../store/addon-store.js";
import { conflict, Hop3Error, usageError } from "../util/errors.js";
import {
  ADDON_LABEL,
  type AddonContainerSpec,
  addonContainerName,
  addonVolumeName,
  execIn,
  inspectAddonContainer,
  listAddonContainers,
  removeAddonVolume,
  waitAddonHealthy,
} from "./containers.js";
import {
  type AddonDeclaration,
  checkExtensions,
  imagesToPrepare,
  resolveDeclared,
  validateAddonName,
} from "./declared.js";
import { type AddonImageOptions, ensureAddonImage, isOfficialImage } from "./images.js";
import type { AddonPlugin, ClientAction } from "./plugin.js";
import { pluginFor } from "./registry.js";
import { type AddonRunner, PodmanAddonRunner } from "./runner.js";
import { type AttachedAddon, choosePrefix, prefixedNames } from "./variables.js";

export {
  type AddonDeclaration,
  checkExtensions,
  declaredAddonName,
  validateAddonName,
} from "./declared.js";

export interface AddonServiceDeps {
  platform: Platform;
  /** A new release of an app with its new variables (Deployer.rerelease). */
  rerelease: (app: string, progress: Progress, createdBy?: string, description?: string) => Promise<unknown>;
  runs: RunSessions;
  images: Omit<AddonImageOptions, "log">;
  /** Podman alone by default; systemd (QuadletAddonRunner) where apps are quadlets. */
  runner?: AddonRunner;
}

export interface AddonSummary {
  name: string;
  type: string;
  version: string;
  state: string;
  apps: { app: string; prefix: string }[];
  createdAt: string;
}

/**
 * `addons:expose --port P`: an unprivileged port (rootless Podman cannot bind below 1024), published on 127.0.0.1
 * only, so the database is reached through an SSH tunnel, never from the network.
 */
export function parseExposePort(value: unknown): number {
  const port = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1024 || port > 65535) {
    throw usageError(
      `invalid port ${quoteForMessage(String(value))}: give a port from 1024 to 65535`,
      "for example: hop addons:expose shop-db --port 15432",
    );
  }
  return port;
}

const addonLock = <T>(name: string, fn: () => Promise<T>) => withAppLock(`addon:${name}`, fn);

export class AddonService {
  readonly runner: AddonRunner;

  constructor(private readonly d: AddonServiceDeps) {
    this.runner = d.runner ?? new PodmanAddonRunner(d.platform.docker);
  }

  private get docker(): Docker {
    return this.d.platform.docker;
  }
  private get store() {
    return this.d.platform.store;
  }

  async list(): Promise<AddonSummary[]> {
    const containers = await listAddonContainers(this.docker);
    return this.store.addons.list().map((a) => this.summary(a, containers.get(a.name)?.State ?? "missing"));
  }

  private summary(a: AddonRow, state: string): AddonSummary {
    return {
      name: a.name,
      type: a.type,
      version: a.major,
      state,
      apps: this.store.addons.attachmentsOf(a.name).map((t) => ({ app: t.app, prefix: t.prefix })),
      createdAt: a.createdAt,
    };
  }

  /** The addon, its container and the variables each attached app gets (values of secrets left out). */
  async describe(name: string) {
    const a = this.store.addons.require(name);
    const plugin = pluginFor(a.type);
    const info = await inspectAddonContainer(this.docker, name);
    const state = info ? (info.State.Running ? "running" : info.State.Status) : "missing";
    return {
      ...this.summary(a, state),
      title: plugin.title,
      image: a.image,
      container: addonContainerName(name),
      volume: addonVolumeName(name),
      hostname: name,
      port: plugin.port,
      exposed: a.options.exposePort ? `127.0.0.1:${a.options.exposePort}` : null,
      memoryLimit: plugin.memoryBytes,
      extensions: a.options.extensions ?? [],
      variables: this.store.addons.attachmentsOf(name).map((t) => ({
        app: t.app,
        names: prefixedNames(a.type, t.prefix),
      })),
    };
  }

  /** The variables an app attached without a prefix gets (secrets included: `pg:credentials`). */
  credentials(
    name: string,
    type?: string,
  ): { name: string; type: string; variables: Record<string, string> } {
    const a = this.requireOfType(name, type);
    return { name, type: a.type, variables: pluginFor(a.type).variables(a.credentials, name) };
  }

  /** `pg:info`, `redis:info`: what the server itself reports, asked inside its container. */
  async report(name: string, type?: string): Promise<Record<string, string>> {
    const a = this.requireOfType(name, type);
    const plugin = pluginFor(a.type);
    const id = await this.requireRunning(name);
    const { cmd, env } = plugin.client("info", a.credentials, []);
    const r = await execIn(this.docker, id, [
      "env",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...cmd,
    ]);
    if (r.exitCode !== 0) throw new Hop3Error(`${plugin.title} did not answer: ${r.output.trim()}`);
    const out: Record<string, string> = {};
    for (const line of r.output.split("\n")) {
      const m = /^([^\t:#]+)[\t:](.*)$/.exec(line.trim());
      if (m) out[m[1]!.trim()] = m[2]!.trim();
    }
    return out;
  }

  async create(
    typeName: string,
    requestedName: string | undefined,
    opts: { extensions?: unknown },
    progress: Progress,
  ): Promise<AddonSummary> {
    const plugin = pluginFor(typeName);
    const name = validateAddonName(requestedName ?? `${plugin.type}-${randomBytes(3).toString("hex")}`);
    const extensions = checkExtensions(plugin, opts.extensions);
    return addonLock(name, () => this.createLocked(plugin, name, extensions, progress));
  }

  private async createLocked(
    plugin: AddonPlugin,
    name: string,
    extensions: string[],
    progress: Progress,
  ): Promise<AddonSummary> {
    const { docker, store } = this;
    if (store.addons.get(name)) throw conflict(`an addon named ${name} already exists`, "see: hop addons");
    // data of an earlier addon of that name (a crash before it was recorded) is never taken over, nor erased
    const volume = addonVolumeName(name);
    if (
      await docker
        .getVolume(volume)
        .inspect()
        .then(
          () => true,
          () => false,
        )
    ) {
      throw conflict(
        `the volume ${volume} already exists (data of an earlier addon named ${name}?)`,
        "choose another name, or remove that volume with podman as the hop3 user once you are sure",
      );
    }
    progress.step(`Preparing the ${plugin.title} ${plugin.major} image`);
    const image = await ensureAddonImage(docker, plugin, plugin.major, {
      ...this.d.images,
      log: progress.log,
    });
    const credentials = plugin.generateCredentials(name);
    const row = store.addons.create({
      name,
      type: plugin.type,
      major: plugin.major,
      image: image.ref,
      credentials,
      options: extensions.length ? { extensions } : {},
    });
    progress.step(`Starting ${plugin.title} ${plugin.major} as ${name}`);
    try {
      const id = await this.startContainer(row, plugin, image.official);
      await waitAddonHealthy(docker, id, plugin.health(credentials), `${plugin.title} (${name})`);
      if (extensions.length) await this.enableExtensions(row, extensions, progress);
    } catch (err) {
      // nothing is left of a database that did not start: its container, volume and record go
      await this.runner.remove(name).catch(() => {});
      await removeAddonVolume(docker, name).catch(() => {});
      store.addons.delete(name);
      throw err;
    }
    progress.log(`${name} is ready`);
    return this.summary(store.addons.require(name), "running");
  }

  private startContainer(a: AddonRow, plugin: AddonPlugin, official?: boolean): Promise<string> {
    return this.runner.start(this.specOf(a, plugin, undefined, official));
  }

  /** What the addon's container is: image, command, variables, limit, networks (its apps'), exposed port. */
  private specOf(
    a: AddonRow,
    plugin = pluginFor(a.type),
    except?: string,
    official = isOfficialImage(a.image),
  ): AddonContainerSpec {
    const cmd = plugin.containerCmd?.(a.credentials, official);
    return {
      name: a.name,
      type: a.type,
      image: a.image,
      env: plugin.containerEnv(a.credentials),
      ...(cmd ? { cmd } : {}),
      // a limit the host cannot enforce would stop the container from starting (runtime/limits.ts enforceable)
      memoryBytes:
        enforceable({ memoryBytes: plugin.memoryBytes }, this.d.platform.settings.limits?.enforced)
          .memoryBytes ?? 0,
      dataDir: plugin.dataDir,
      apps: this.store.addons
        .attachmentsOf(a.name)
        .map((t) => t.app)
        .filter((app) => app !== except),
      ...(a.options.exposePort
        ? { expose: { hostPort: a.options.exposePort, containerPort: plugin.port } }
        : {}),
    };
  }

  /** The addon's spec as recorded now (its attachments included), by name. */
  private specNamed(name: string, except?: string): AddonContainerSpec {
    return this.specOf(this.store.addons.require(name), undefined, except);
  }

  /**
   * `addons:expose` (a port) and `addons:unexpose` (undefined): Podman publishes ports only when a container is
   * created, so the addon's container is made again (its data is in the volume; attached apps reconnect, as after
   * a restart). A port that cannot be bound (in use) leaves the addon as it was, running, and says why.
   */
  async expose(name: string, port: number | undefined, progress: Progress) {
    return addonLock(name, async () => {
      const a = this.store.addons.require(name);
      const plugin = pluginFor(a.type);
      const before = a.options;
      const restart = async (options: AddonRow["options"]) => {
        this.store.addons.setOptions(name, options);
        const row = { ...a, options };
        // made again from the new spec (the runner replaces the container; its data is in the volume)
        const id = await this.startContainer(row, plugin);
        await waitAddonHealthy(this.docker, id, plugin.health(a.credentials), `${plugin.title} (${name})`);
      };
      const { exposePort: _old, ...rest } = before;
      progress.step(port ? `Publishing ${name} on 127.0.0.1:${port}` : `Unpublishing ${name}`);
      try {
        await restart(port ? { ...rest, exposePort: port } : rest);
      } catch (err) {
        progress.log(`could not restart ${name} that way: putting it back as it was`);
        await restart(before);
        throw new Hop3Error(
          `${name} could not be published on 127.0.0.1:${port}: ${(err as Error).message}`,
          "conflict",
          "choose another port (hop addons:expose NAME --port P)",
        );
      }
      progress.log(
        port
          ? `${name} answers on 127.0.0.1:${port} (this host only; from elsewhere: ssh -L ${port}:127.0.0.1:${port} HOST)`
          : `${name} is no longer published on the host`,
      );
      return { name, exposed: port ? `127.0.0.1:${port}` : null };
    });
  }

  private async enableExtensions(a: AddonRow, names: string[], progress: Progress): Promise<void> {
    const plugin = pluginFor(a.type);
    if (!plugin.enableExtensions || names.length === 0) return;
    const id = await this.requireRunning(a.name);
    const { cmd, env } = plugin.enableExtensions(a.credentials, names);
    const r = await execIn(this.docker, id, [
      "env",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...cmd,
    ]);
    if (r.exitCode !== 0) throw new Hop3Error(`enabling ${names.join(", ")} failed: ${r.output.trim()}`);
    const known = new Set([...(a.options.extensions ?? []), ...names]);
    this.store.addons.setOptions(a.name, { ...a.options, extensions: [...known].sort() });
    progress.log(`Extensions enabled in ${a.name}: ${names.join(", ")}`);
  }

  /** Attaches and makes a new release of the app with the addon's variables (nothing changes if that fails). */
  async attach(
    name: string,
    app: string,
    prefix: string | undefined,
    progress: Progress,
    createdBy?: string,
  ) {
    const { store } = this;
    store.requireApp(app);
    const attachment = await addonLock(name, async () => {
      const a = store.addons.require(name);
      const t = store.addons.attach(name, app, (existing) =>
        choosePrefix(
          existing.map((e) => ({
            name: e.addon,
            type: store.addons.get(e.addon)?.type ?? "",
            prefix: e.prefix,
          })),
          a.type,
          name,
          prefix,
        ),
      );
      try {
        await this.runner.attach(this.specNamed(name), app);
      } catch (err) {
        store.addons.detach(name, app);
        throw err;
      }
      return t;
    });
    const vars = prefixedNames(store.addons.require(name).type, attachment.prefix);
    progress.step(`Attached ${name} to ${app} as ${vars.join(", ")}`);
    try {
      await this.d.rerelease(app, progress, createdBy, `Attach ${name}`);
    } catch (err) {
      store.addons.detach(name, app);
      await this.runner.detach(this.specNamed(name), app).catch(() => {});
      throw err;
    }
    return { addon: name, app, prefix: attachment.prefix, variables: vars };
  }

  async detach(name: string, app: string, progress: Progress, createdBy?: string) {
    const { store } = this;
    store.requireApp(app);
    store.addons.require(name);
    const before = store.addons.attachmentsTo(app).find((t) => t.addon === name);
    if (!before) throw new Hop3Error(`addon ${name} is not attached to ${app}`, "notFound");
    store.addons.detach(name, app);
    progress.step(`Detached ${name} from ${app}`);
    try {
      await this.d.rerelease(app, progress, createdBy, `Detach ${name}`);
    } catch (err) {
      store.addons.attach(name, app, () => before.prefix);
      throw err;
    }
    // after the new release runs without its variables: the old instances kept the connection until drained
    await addonLock(name, () => this.runner.detach(this.specNamed(name), app));
    return { addon: name, app };
  }

  /** The only way an addon's data is removed: a confirmed destroy of a detached addon. */
  async destroy(name: string, confirm: string | undefined, progress: Progress) {
    if (confirm !== name) {
      throw usageError(
        `destroying addon ${name} deletes its data and needs confirmation`,
        `pass --confirm ${name}`,
      );
    }
    return addonLock(name, async () => {
      this.store.addons.require(name);
      const apps = this.store.addons.attachmentsOf(name).map((t) => t.app);
      if (apps.length > 0) {
        throw conflict(
          `addon ${name} is attached to ${apps.join(", ")}`,
          `detach it first: ${apps.map((a) => `hop addons:detach ${name} -a ${a}`).join("; ")}`,
        );
      }
      progress.step(`Removing the container of ${name}`);
      await this.runner.remove(name);
      progress.step(`Removing its data (volume ${addonVolumeName(name)})`);
      await removeAddonVolume(this.docker, name);
      this.store.addons.delete(name);
      return { destroyed: name };
    });
  }

  /**
   * A client of the addon (`pg:psql`, `pg:dump`, `pg:restore`, `redis:cli`...): a container of the addon's
   * image in the addon's network namespace, attached to by the caller through the `hop run` channel. Data
   * streams through that connection: a dump never sits in the server's memory.
   */
  async openSession(
    name: string,
    type: string | undefined,
    action: ClientAction,
    args: string[],
    req: Pick<RunRequest, "tty" | "interactive" | "cols" | "rows">,
  ): Promise<{ id: string; name: string }> {
    const a = this.requireOfType(name, type);
    const plugin = pluginFor(a.type);
    if (action === "restore" && plugin.type === "redis") {
      throw usageError(
        "Redis addons cannot be restored from a stream",
        "restore an RDB file with a backup (hop backup:restore)",
      );
    }
    const addonId = await this.requireRunning(name);
    const { cmd, env } = plugin.client(action, a.credentials, args);
    const cname = `${addonContainerName(name)}-${action}-${randomBytes(3).toString("hex")}`;
    const stdin = req.interactive;
    const container = await this.docker.createContainer({
      name: cname,
      Image: a.image,
      Entrypoint: [cmd[0]!],
      Cmd: cmd.slice(1),
      Env: Object.entries({ ...env, ...(req.tty ? { TERM: "xterm" } : {}) }).map(([k, v]) => `${k}=${v}`),
      Labels: { [ADDON_LABEL]: name, [LABEL.role]: "addon-client" },
      Tty: req.tty,
      OpenStdin: stdin,
      StdinOnce: stdin,
      AttachStdin: stdin,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: { NetworkMode: `container:${addonId}`, Init: true },
    });
    const run: RunRequest = { command: cmd, detach: false, ...req };
    return { id: this.d.runs.register(`addon:${name}`, container, cname, run), name: cname };
  }

  /**
   * hop3.toml `[[addons]]` at deploy time: each is created on the first deploy and attached (the deploy
   * resolves the variables next); later deploys reuse it. Runs under the app's deploy lock, after the build
   * (a failed build creates no addon); the images it needs were prepared meanwhile (prepareImages).
   */
  async provision(app: string, declared: readonly AddonDeclaration[], progress: Progress): Promise<void> {
    for (const { plugin, name, extensions } of resolveDeclared(app, declared, (n) =>
      this.store.addons.get(n),
    )) {
      let a = this.store.addons.get(name);
      if (!a) {
        progress.step(`Creating the ${plugin.title} addon ${name} (hop3.toml [[addons]])`);
        await this.create(plugin.type, name, { extensions }, progress);
        a = this.store.addons.require(name);
      } else {
        const missing = extensions.filter((e) => !(a!.options.extensions ?? []).includes(e));
        if (missing.length) await this.enableExtensions(a, missing, progress);
      }
      if (!this.store.addons.attachmentsTo(app).some((t) => t.addon === name)) {
        await addonLock(name, async () => {
          const t = this.store.addons.attach(name, app, (existing) =>
            choosePrefix(
              existing.map((e) => ({
                name: e.addon,
                type: this.store.addons.get(e.addon)?.type ?? "",
                prefix: e.prefix,
              })),
              plugin.type,
              name,
            ),
          );
          await this.runner.attach(this.specNamed(name), app);
          progress.log(`Attached ${name}${t.prefix ? ` (variables prefixed ${t.prefix}_)` : ""}`);
        });
      }
    }
  }

  /**
   * The images of the addons a deploy will create, made ready (found, pulled or built from images/addons)
   * while the app's image builds: only images, no container, volume or record, so a build that fails leaves
   * no addon behind, only a cached image the next deploy uses. A declaration `provision` would refuse is
   * refused here already, synchronously, before the build. Resolves when every image is ready; rejects with
   * the first failure once all have settled (an image build still running is never left behind).
   */
  prepareImages(app: string, declared: readonly AddonDeclaration[], progress: Progress): Promise<void> {
    const plugins = imagesToPrepare(resolveDeclared(app, declared, (n) => this.store.addons.get(n)));
    return this.readyImages(plugins, progress);
  }

  private async readyImages(plugins: readonly AddonPlugin[], progress: Progress): Promise<void> {
    const results = await Promise.allSettled(
      plugins.map((plugin) => {
        // interleaved with the app build's output: every line says which image it is about
        const tag = `${plugin.type} image | `;
        progress.log(`${tag}preparing the ${plugin.title} ${plugin.major} image alongside the build`);
        return ensureAddonImage(this.docker, plugin, plugin.major, {
          ...this.d.images,
          log: (line) => progress.log(`${tag}${line}`),
        }).then((image) => progress.log(`${tag}${image.ref} ready`));
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /** Before an app's network goes (hop destroy): its addons leave it; the attachments go with the app. */
  async releaseApp(app: string): Promise<void> {
    for (const t of this.store.addons.attachmentsTo(app)) {
      await this.runner.detach(this.specNamed(t.addon, app), app).catch(() => {});
    }
  }

  /**
   * At the server's start: every recorded addon runs, on the networks of the apps it is attached to. Under
   * systemd a running addon with its unit was started by systemd (at boot, or kept since): left as it is.
   */
  async reconcile(): Promise<string[]> {
    const notes: string[] = [];
    for (const a of this.store.addons.list()) {
      try {
        const plugin = pluginFor(a.type);
        const info = await inspectAddonContainer(this.docker, a.name);
        const supervised = this.runner.kind === "podman" || this.runner.startsAtBoot(a.name);
        const attachAll = async () => {
          const spec = this.specOf(a, plugin);
          for (const app of spec.apps) await this.runner.attach(spec, app);
        };
        if (info?.State.Running && supervised) {
          await attachAll();
          continue;
        }
        const started =
          info && this.runner.kind === "podman"
            ? await this.docker
                .getContainer(info.Id)
                .start()
                .then(
                  () => true,
                  () => false,
                )
            : false;
        if (!started) {
          const present = await this.docker
            .getImage(a.image)
            .inspect()
            .then(
              () => true,
              () => false,
            );
          if (!present) {
            const image = await ensureAddonImage(this.docker, plugin, a.major, {
              ...this.d.images,
              log: () => {},
            });
            this.store.addons.setImage(a.name, image.ref);
            a.image = image.ref;
          }
          await this.startContainer(a, plugin);
        }
        await attachAll();
        notes.push(`addon ${a.name}: started${this.runner.kind === "quadlet" ? " (systemd unit)" : ""}`);
      } catch (err) {
        notes.push(`addon ${a.name}: could not start: ${(err as Error).message}`);
      }
    }
    return notes;
  }

  /**
   * Replaces an addon's data with its server down (a backup's Redis RDB): the container is removed, so that
   * neither the server nor the watchdog writes to the volume meanwhile, `write` fills the volume, and the
   * addon starts again on its apps' networks and must pass its health check.
   */
  async replaceData(name: string, write: () => Promise<void>): Promise<void> {
    await addonLock(name, async () => {
      const a = this.store.addons.require(name);
      const plugin = pluginFor(a.type);
      await this.runner.remove(name);
      try {
        await write();
      } finally {
        const id = await this.startContainer(a, plugin);
        // startContainer puts it back on its apps' networks
        await waitAddonHealthy(this.docker, id, plugin.health(a.credentials), `${plugin.title} (${name})`);
      }
    });
  }

  /** The watchdog's question: is this an addon's server container that should run? */
  wanted(labels: Record<string, string>): boolean {
    const name = labels[ADDON_LABEL];
    return labels[LABEL.role] === "addon" && !!name && !!this.store.addons.get(name);
  }

  /** The app's attached addons with their credentials, for its environment. */
  attachedTo(app: string): AttachedAddon[] {
    return this.store.addons.attachmentsTo(app).map((t) => {
      const a = this.store.addons.require(t.addon);
      return { name: a.name, type: a.type, prefix: t.prefix, credentials: a.credentials };
    });
  }

  private requireOfType(name: string, type: string | undefined): AddonRow {
    const a = this.store.addons.require(name);
    if (type && pluginFor(type).type !== a.type) {
      throw usageError(
        `addon ${name} is a ${a.type} addon, not ${pluginFor(type).type}`,
        `see: hop addons:info ${name}`,
      );
    }
    return a;
  }

  private async requireRunning(name: string): Promise<string> {
    const info = await inspectAddonContainer(this.docker, name);
    if (!info?.State.Running) {
      throw new Hop3Error(
        `addon ${name} is not running`,
        "error",
        "the server starts it again; see the server log",
      );
    }
    return info.Id;
  }
}
