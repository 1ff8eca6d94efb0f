/** Labels Hop3 puts on everything it creates, so it can find its containers again after a restart. */
export const LABEL = {
  managed: "io.hop3.managed",
  app: "io.hop3.app",
  release: "io.hop3.release",
  process: "io.hop3.process",
  instance: "io.hop3.instance",
  role: "io.hop3.role",
  port: "io.hop3.port",
  /** One-off containers kept for their logs: the job name of a cron run. */
  cron: "io.hop3.cron",
  /** One-off containers: the prefix of their lines in `hop logs` (`cron.NAME`, `run.N`). */
  source: "io.hop3.source",
} as const;

/** What a one-off container is for (io.hop3.role); such containers are never process instances. */
export type OneOffRole = "release" | "run" | "cron";

export const appImageRepo = (app: string) => `localhost/hop3/${app}`;
export const releaseImageTag = (app: string, release: number) => `${appImageRepo(app)}:r${release}`;
/** A buildpack app's launch layers on the run image: the base of its release images while they are unchanged. */
export const appLayersImageTag = (app: string) => `${appImageRepo(app)}:cnb-layers`;
export const appNetworkName = (app: string) => `hop3-${app}`;
export const containerName = (
  app: string,
  process: string,
  release: number,
  instance: number,
  generation: string,
) => `hop3-${app}-${process}.${instance}-r${release}-${generation}`;
