/**
 * `hop run`: one-off containers with the app's current image and config, attached to the caller.
 *
 * A run is created (not started), then the caller attaches over an HTTP upgrade that the server splices onto
 * Podman's own attach connection, then the container starts; when it exits the server closes the caller's
 * connection and the caller asks for the exit code, which removes the container. Detached runs start at once
 * and are kept after they finish (the last few per app) so `hop logs` shows their output as `run.N`.
 */
import { randomBytes, randomInt } from "node:crypto";
import http from "node:http";
import type { Duplex } from "node:stream";
import type Docker from "dockerode";
import type { Platform } from "../deploy/platform.js";
import type { ReleaseSpec } from "../deploy/release-spec.js";
import { platformEnv } from "../deploy/urls.js";
import { hostConfigMounts, type MountPlan, releaseMounts } from "../deploy/volumes.js";
import type { ReleaseRow } from "../store/store.js";
import { Hop3Error, usageError } from "../util/errors.js";
import { ensureAppNetwork, listOneOffs, removeContainer, statusOf } from "./containers.js";
import { appNetworkName, LABEL, type OneOffRole } from "./labels.js";
import { hostConfigLimits, type ResourceLimits, releaseLimits } from "./limits.js";
import { podmanSocketOf } from "./podman-remote.js";
import { ensureMounts } from "./volumes.js";

export interface RunRequest {
  command: string[];
  tty: boolean;
  interactive: boolean;
  detach: boolean;
  cols?: number;
  rows?: number;
}

const MAX_ARGS = 1000;
const MAX_COMMAND_BYTES = 128 * 1024;

const isSize = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v > 0 && v <= 10_000;

/** Validates the body of `POST /api/v1/apps/:app/runs`. The command is an argument vector: no shell is involved. */
export function parseRunRequest(body: unknown): RunRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw usageError('the body must be JSON: { "command": ["ls", "-l"] }');
  }
  const b = body as Record<string, unknown>;
  const { command } = b;
  if (!Array.isArray(command) || command.length === 0) {
    throw usageError("command must be a non-empty list of strings", 'e.g. { "command": ["ls", "-l"] }');
  }
  if (command.length > MAX_ARGS) throw usageError(`command has more than ${MAX_ARGS} arguments`);
  let bytes = 0;
  for (const arg of command) {
    if (typeof arg !== "string") throw usageError("every element of command must be a string");
    if (arg.includes("\0")) throw usageError("command arguments cannot contain NUL bytes");
    bytes += Buffer.byteLength(arg);
  }
  if (command[0] === "") throw usageError("the program to run (command[0]) cannot be empty");
  if (bytes > MAX_COMMAND_BYTES) throw usageError("command is too long");
  for (const key of ["tty", "interactive", "detach"] as const) {
    if (b[key] !== undefined && typeof b[key] !== "boolean") throw usageError(`${key} must be true or false`);
  }
  for (const key of ["cols", "rows"] as const) {
    if (b[key] !== undefined && !isSize(b[key]))
      throw usageError(`${key} must be a whole number from 1 to 10000`);
  }
  const detach = b.detach === true;
  if (detach && b.tty === true) throw usageError("a detached run cannot have a terminal");
  return {
    command: command as string[],
    tty: b.tty === true,
    interactive: !detach && b.interactive !== false,
    detach,
    ...(isSize(b.cols) ? { cols: b.cols } : {}),
    ...(isSize(b.rows) ? { rows: b.rows } : {}),
  };
}

/** Validates `POST /api/v1/runs/:id/resize`. */
export function parseResizeRequest(body: unknown): { cols: number; rows: number } {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  if (!isSize(b.cols) || !isSize(b.rows))
    throw usageError("give the terminal size: { cols, rows } (1 to 10000)");
  return { cols: b.cols, rows: b.rows };
}

/** The app's current release, which a one-off runs; a clear error when there is none. */
export function requireCurrentRelease(p: Platform, app: string): ReleaseRow {
  p.store.requireApp(app);
  const current = p.store.currentRelease(app);
  if (!current?.image) {
    throw new Hop3Error(`${app} has no release yet`, "notFound", `deploy it first: hop deploy --app ${app}`);
  }
  return current;
}

/** The environment of a one-off: the release's config snapshot plus the platform's variables. */
export function oneOffEnv(p: Platform, app: string, release: ReleaseRow, extra: Record<string, string>) {
  const spec = release.spec as ReleaseSpec;
  return {
    ...(release.configSnapshot ?? {}),
    ...platformEnv(app, p.settings, p.store.listDomains(app), spec.domains ?? []),
    ...extra,
  };
}

export interface OneOffContainerSpec {
  app: string;
  release: number;
  image: string;
  cmd: string[];
  env: Record<string, string>;
  role: OneOffRole;
  /** Prefix in `hop logs`, also the container name's suffix: `run.1234`, `cron.backup`. */
  source: string;
  cron?: string;
  tty?: boolean;
  stdin?: boolean;
  /** The release's `[[volumes]]`: a one-off sees the data its app's processes see. */
  mounts?: MountPlan[];
  /** The release's limits (runtime/limits.ts releaseLimits): a one-off gets what its processes get. */
  limits?: ResourceLimits;
}

/** Creates (does not start) a one-off container on the app's network, with Hop3's labels. */
export async function createOneOffContainer(
  docker: Docker,
  spec: OneOffContainerSpec,
): Promise<Docker.Container> {
  await ensureAppNetwork(docker, spec.app);
  await ensureMounts(docker, spec.app, spec.mounts);
  const name = `hop3-${spec.app}-${spec.source}-${randomBytes(3).toString("hex")}`;
  return docker.createContainer({
    name,
    Image: spec.image,
    Cmd: spec.cmd,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: {
      [LABEL.app]: spec.app,
      [LABEL.release]: String(spec.release),
      [LABEL.role]: spec.role,
      [LABEL.source]: spec.source,
      ...(spec.cron ? { [LABEL.cron]: spec.cron } : {}),
    },
    Tty: spec.tty === true,
    OpenStdin: spec.stdin === true,
    StdinOnce: spec.stdin === true,
    AttachStdin: spec.stdin === true,
    AttachStdout: true,
    AttachStderr: true,
    // catatonit as PID 1: reaps zombies and forwards signals (Ctrl-C reaches the process)
    HostConfig: {
      NetworkMode: appNetworkName(spec.app),
      Init: true,
      ...hostConfigMounts(spec.mounts ?? []),
      ...hostConfigLimits(spec.limits),
    },
  });
}

/**
 * Podman's attach, hijacked: a raw duplex to the container's stdin/stdout/stderr. Done by hand because
 * dockerode sends its options as the request body, which Podman feeds to the container's stdin.
 */
export function attachContainer(docker: Docker, id: string, stdin: boolean): Promise<Duplex> {
  const socketPath = podmanSocketOf(docker, "attaching");
  return new Promise((resolve, reject) => {
    const req = http.request({
      socketPath,
      method: "POST",
      path: `/containers/${encodeURIComponent(id)}/attach?stream=1&stdout=1&stderr=1&stdin=${stdin ? 1 : 0}`,
      headers: { Connection: "Upgrade", Upgrade: "tcp" },
    });
    req.on("upgrade", (_res, socket, head) => {
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.on("response", (res) => {
      res.resume();
      reject(new Hop3Error(`Podman refused to attach (HTTP ${res.statusCode})`));
    });
    req.on("error", (err) => reject(new Hop3Error(`cannot attach: ${err.message}`, "network")));
    req.end();
  });
}

/** Keeps the newest `keep` finished one-offs of a kind, removes the older ones. */
export async function pruneFinished(
  docker: Docker,
  app: string,
  role: OneOffRole,
  keep: number,
  only?: (c: { cron?: string }) => boolean,
): Promise<void> {
  const finished = (await listOneOffs(docker, app, role)).filter(
    (c) => c.state !== "running" && c.state !== "created" && (!only || only(c)),
  );
  const old = finished.slice(0, Math.max(0, finished.length - keep));
  await Promise.all(old.map((c) => removeContainer(docker, c.id, 1).catch(() => {})));
}

/** One frame of Podman's multiplexed stream: stream id (1 stdout, 2 stderr), three zeros, big-endian size. */
export function frame(stream: 1 | 2, text: string | Buffer): Buffer {
  const payload = typeof text === "string" ? Buffer.from(text) : text;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

interface Session {
  id: string;
  app: string;
  container: Docker.Container;
  name: string;
  req: RunRequest;
  state: "created" | "attached" | "started" | "finished";
  exit?: Promise<number>;
  abandonTimer: NodeJS.Timeout;
}

/** How many finished detached runs of an app are kept for `hop logs`. */
export const KEEP_DETACHED_RUNS = 5;
/** A created run nobody attaches to within this time is removed. */
const ATTACH_WITHIN_MS = 60_000;

export class RunSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly p: Platform) {}

  async create(app: string, req: RunRequest): Promise<{ id: string; name: string; source: string }> {
    const { docker } = this.p;
    const current = requireCurrentRelease(this.p, app);
    const n = randomInt(1000, 10_000);
    const source = `run.${n}`;
    const env = oneOffEnv(this.p, app, current, {
      PROC_TYPE: "run",
      DYNO: source,
      ...(req.tty && !current.configSnapshot?.TERM ? { TERM: "xterm" } : {}),
    });
    const container = await createOneOffContainer(docker, {
      app,
      release: current.number,
      image: current.image!,
      cmd: req.command,
      env,
      mounts: releaseMounts(app, current.spec as ReleaseSpec | undefined, this.p.settings.root),
      limits: releaseLimits(current.spec as ReleaseSpec | undefined, this.p.settings.limits),
      role: "run",
      source,
      tty: req.tty,
      stdin: req.interactive,
    }).catch((err) => {
      throw statusOf(err) === 404 || statusOf(err) === 500
        ? new Hop3Error(`cannot create the run container: ${(err as Error).message}`)
        : err;
    });
    const name = (await container.inspect()).Name.replace(/^\//, "");
    if (req.detach) {
      await pruneFinished(docker, app, "run", KEEP_DETACHED_RUNS).catch(() => {});
      await container.start();
      return { id: container.id, name, source };
    }
    return { id: this.register(app, container, name, req), name, source };
  }

  /**
   * Makes a created (not started) container a session the caller attaches to like a `hop run` (addon
   * clients: `hop pg:psql`, `pg:dump`...); answers the session id. `owner` is the app (or addon) it is for.
   */
  register(owner: string, container: Docker.Container, name: string, req: RunRequest): string {
    const { docker } = this.p;
    const app = owner;
    const id = randomBytes(16).toString("hex");
    const session: Session = {
      id,
      app,
      container,
      name,
      req,
      state: "created",
      abandonTimer: setTimeout(() => {
        if (session.state !== "created") return;
        this.sessions.delete(id);
        void removeContainer(docker, container.id, 1).catch(() => {});
      }, ATTACH_WITHIN_MS),
    };
    session.abandonTimer.unref();
    this.sessions.set(id, session);
    return id;
  }

  private require(id: string): Session {
    const s = this.sessions.get(id);
    if (!s)
      throw new Hop3Error(`no run ${id}`, "notFound", "runs are forgotten once their exit code was read");
    return s;
  }

  /** Checks that a run may be attached now; call before answering the upgrade. */
  claim(id: string): Session {
    const s = this.require(id);
    if (s.state !== "created") throw new Hop3Error(`run ${id} is already attached`, "conflict");
    s.state = "attached";
    clearTimeout(s.abandonTimer);
    return s;
  }

  /**
   * Splices the caller's upgraded connection onto the container's attach stream, starts the container,
   * and closes the caller's connection once the container exited and its output was forwarded. A caller
   * who goes away before the end takes the run with it (the container is stopped). `ready` is called once
   * Podman accepted the attach, to answer the caller's upgrade.
   */
  async attach(s: Session, client: Duplex, ready: () => void): Promise<void> {
    const { docker } = this.p;
    const upstream = await attachContainer(docker, s.container.id, s.req.interactive);
    ready();
    let finished = false;
    upstream.pipe(client, { end: false });
    if (s.req.interactive) {
      client.pipe(upstream, { end: false });
      // the caller's EOF (end of piped stdin) becomes the container's: half-close towards Podman
      client.on("end", () => upstream.end());
    } else {
      client.resume();
    }
    client.on("close", () => {
      if (finished) return;
      void s.container.stop({ t: 2 }).catch(() => {});
    });
    client.on("error", () => {});
    upstream.on("error", () => {});
    const upstreamEnded = new Promise<void>((r) => {
      upstream.once("end", r);
      upstream.once("close", r);
    });
    try {
      await s.container.start();
    } catch (err) {
      // e.g. the program does not exist in the image: tell the caller like a shell would, exit 126/127
      const message = (err as { json?: { message?: string } }).json?.message ?? (err as Error).message;
      const text = `hop run: cannot start ${s.req.command[0]}: ${message}\n`;
      client.write(s.req.tty ? text.replace(/\n/g, "\r\n") : frame(2, text));
      s.exit = Promise.resolve(/not found|no such file/i.test(message) ? 127 : 126);
      finished = true;
      s.state = "finished";
      upstream.destroy();
      client.end();
      s.abandonTimer = setTimeout(() => void this.finish(s.id).catch(() => {}), ATTACH_WITHIN_MS);
      s.abandonTimer.unref();
      return;
    }
    s.state = "started";
    if (s.req.tty && s.req.cols && s.req.rows)
      await this.resize(s.id, s.req.cols, s.req.rows).catch(() => {});
    s.exit = s.container.wait().then((r: { StatusCode: number }) => r.StatusCode);
    await s.exit.catch(() => 137);
    // the last bytes may still be on their way: wait for Podman to close, briefly
    await Promise.race([upstreamEnded, new Promise((r) => setTimeout(r, 1000))]);
    finished = true;
    s.state = "finished";
    upstream.unpipe(client);
    upstream.destroy();
    client.end();
    // the caller asks for the exit code next; if it never does, do not keep the container forever
    s.abandonTimer = setTimeout(() => void this.finish(s.id).catch(() => {}), ATTACH_WITHIN_MS);
    s.abandonTimer.unref();
  }

  async resize(id: string, cols: number, rows: number): Promise<void> {
    const s = this.require(id);
    if (!s.req.tty) throw usageError("this run has no terminal to resize");
    if (s.state === "created" || s.state === "attached") {
      // not started yet: the size is applied at start
      s.req.cols = cols;
      s.req.rows = rows;
      return;
    }
    if (s.state === "finished") return;
    await s.container.resize({ h: rows, w: cols }).catch((err: unknown) => {
      if (statusOf(err) !== 404 && statusOf(err) !== 409 && statusOf(err) !== 500) throw err;
    });
  }

  /** Waits for the run to end, removes its container and answers its exit code. */
  async finish(id: string): Promise<{ exitCode: number }> {
    const s = this.require(id);
    if (!s.exit) {
      if (s.state === "created") throw new Hop3Error(`run ${id} was never attached`, "conflict");
      // attached but not yet started: wait until the start recorded the exit promise
      for (let i = 0; i < 200 && !s.exit; i++) await new Promise((r) => setTimeout(r, 50));
      if (!s.exit) throw new Hop3Error(`run ${id} did not start`);
    }
    const exitCode = await s.exit.catch(() => 137);
    clearTimeout(s.abandonTimer);
    this.sessions.delete(id);
    await removeContainer(this.p.docker, s.container.id, 1).catch(() => {});
    return { exitCode };
  }

  /** Drops a run whose attach failed. */
  async abort(id: string): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) return;
    clearTimeout(s.abandonTimer);
    this.sessions.delete(id);
    await removeContainer(this.p.docker, s.container.id, 1).catch(() => {});
  }
}
