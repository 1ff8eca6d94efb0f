/** `systemctl --user` of the user running the server, as an argument array: the one way Hop3 drives systemd. */
import { type ExitCodeName, Hop3Error } from "../util/errors.js";

/** Runs `systemctl --user ARGS...`; a failure or a timeout throws with systemctl's own words. */
export async function systemctlUser(
  args: string[],
  timeoutMs: number,
  kind: ExitCodeName = "error",
): Promise<void> {
  // loaded at its first use: only systemd hosts run it, and it is ~8 MiB of an idle server
  const { execa } = await import("execa");
  const r = await execa("systemctl", ["--user", ...args], { reject: false, timeout: timeoutMs });
  if (r.exitCode !== 0 || r.timedOut) {
    const detail =
      (r.stderr || r.stdout).trim() || (r.timedOut ? `timed out after ${timeoutMs / 1000}s` : "");
    throw new Hop3Error(`systemctl --user ${args.join(" ")} failed: ${detail}`, kind);
  }
}
