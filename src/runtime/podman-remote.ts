/**
 * The Podman API socket a dockerode client talks to, and the podman CLI arguments that send a command to that
 * same service (`--remote`). The server runs no local podman CLI for containers: under its systemd unit
 * (RestrictNamespaces=yes, NoNewPrivileges=yes) the CLI cannot enter the rootless user namespace (`podman save`
 * failed there with "cannot set user namespace"), while the Podman service, outside that sandbox, can. Through
 * the service, stdin, `-e NAME` (its value from the caller's environment) and exit codes work as locally.
 */
import type Docker from "dockerode";
import { Hop3Error } from "../util/errors.js";

/** The Unix socket of the Podman API behind `docker`, if it talks to one (test doubles do not). */
export function podmanSocketPath(docker: Docker): string | undefined {
  const socketPath = (docker.modem as unknown as { socketPath?: unknown } | undefined)?.socketPath;
  return typeof socketPath === "string" ? socketPath : undefined;
}

/** The Unix socket of the Podman API behind `docker`; an error where there is none. */
export function podmanSocketOf(docker: Docker, what = "this"): string {
  const socketPath = podmanSocketPath(docker);
  if (socketPath === undefined) throw new Hop3Error(`${what} needs Podman on a Unix socket`);
  return socketPath;
}

/** `podman --remote --url unix://SOCKET`: what goes before a podman command to run it through the service. */
export const podmanRemoteArgs = (socketPath: string): string[] => [
  "--remote",
  "--url",
  `unix://${socketPath}`,
];
