/**
 * One addon type (Postgres, MariaDB, Redis...) as a plugin: everything that differs between types is here, as
 * data and pure functions; the service (service.ts) and the container adapter (containers.ts) do the rest the
 * same way for every type. A new type (s3) is one more plugin in registry.ts.
 */

/** Generated once per addon, stored sealed; never rotated behind the user's back. */
export type Credentials = Record<string, string>;

/** What a client session does: an interactive client, a streamed dump or restore, a status report. */
export type ClientAction = "cli" | "dump" | "restore" | "info";

export interface AddonPlugin {
  /** Canonical type name, stored with each addon. */
  readonly type: string;
  /** Other names accepted on input (`mysql` for MariaDB). */
  readonly aliases: readonly string[];
  /** A human name for messages: "PostgreSQL". */
  readonly title: string;
  /** The major version this Hop3 builds (images/addons/TYPE); recorded per addon when it is created. */
  readonly major: string;
  /** images/addons/<imageDir> */
  readonly imageDir: string;
  /** The official image of that major, tried first when a registry answers. */
  officialImage(major: string): string;
  /** The port the server listens on inside the container (never published on the host). */
  readonly port: number;
  /** Where the data volume is mounted. */
  readonly dataDir: string;
  /** Memory limit of the container, bytes. */
  readonly memoryBytes: number;
  /** Variable names of the type (UPSTREAM.md), for the prefix rule and the docs. */
  readonly variableNames: readonly string[];

  /** create: fresh credentials for a new addon called `name`. */
  generateCredentials(name: string): Credentials;
  /** create: the container's environment (the same contract as the official image's). */
  containerEnv(creds: Credentials): Record<string, string>;
  /** create: the container's command, when the official image needs one to apply the credentials. */
  containerCmd?(creds: Credentials, official: boolean): string[] | undefined;
  /** health: a command run inside the addon's container; ready when it exits 0 (and prints `expect`). */
  health(creds: Credentials): { cmd: string[]; expect?: string };
  /** attach: the variables an app gets, unprefixed, with `host` the addon's hostname on the app's network. */
  variables(creds: Credentials, host: string): Record<string, string>;
  /**
   * cli, dump, restore, info: the command of a client container that shares the addon's network namespace
   * (so it connects to 127.0.0.1) and its environment (secrets travel in variables, never in argv).
   */
  client(
    action: ClientAction,
    creds: Credentials,
    args: string[],
  ): { cmd: string[]; env: Record<string, string> };
  /**
   * The client arguments that make a dump write to, and a restore read from, a file instead of stdout/stdin
   * (pg_dump --file, pg_restore FILE): a backup then runs the client in a container of its own with the
   * backup's directory mounted, rather than streaming the bytes through `podman exec`, the Podman API and the
   * server. Types without them (their clients only stream) are dumped and restored through `podman exec`.
   */
  readonly fileArgs?: { dump(path: string): string[]; restore(path: string): string[] };
  /** Names of Postgres-style extensions this type can enable (`extensions = [...]` in hop3.toml). */
  readonly extensions?: readonly string[];
  /** SQL-like command (run like `client`) that enables the given, already validated, extensions. */
  enableExtensions?(creds: Credentials, names: string[]): { cmd: string[]; env: Record<string, string> };
}
