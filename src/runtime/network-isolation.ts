/**
 * Apps must not reach each other: every app has its own bridge network, and traffic between two app networks
 * is refused by rules the platform owns, in the rootless network namespace where those bridges live.
 *
 * Why not rely on netavark's `isolate` option alone: with netavark 1.4 (Debian 12's Podman 4.3), the
 * teardown of any isolated network (an app stopped, destroyed, or its last instance replaced) deletes the shared
 * `FORWARD -j NETAVARK_ISOLATION_1` jump and that network's rules, and the next setup does not put them back,
 * so from then on every app reaches every other one (seen; test/integration/isolation.test.ts replays it).
 *
 * The rule: in the FORWARD chain, a *new* connection whose destination is inside any app network's subnet is
 * rejected, unless it is bridged (inside one network). Replies to an app's outbound
 * connections are ESTABLISHED, and nothing outside the namespace can address an app subnet (slirp4netns NATs),
 * so this refuses exactly app-to-other-app traffic. It is keyed on destination, so spoofing a source does not help.
 *
 * The rules are (re)applied: before a container starts on an app network (`ensureNetwork`), at server start,
 * and whenever the rootless network namespace is re-created (all containers stopped, then one started again by
 * its restart policy or systemd), which `watch()` notices by the namespace file's identity.
 */
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import { LABEL } from "./labels.js";

export const ISOLATION_CHAIN = "HOP3-ISOLATION";

const IPV4_CIDR = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\/(?:3[0-2]|[12]?\d)$/;

/** iptables-restore input (filter table, --noflush) that replaces the platform's chain with one rule per subnet. */
export function isolationRules(subnets: readonly string[]): string {
  const unique = [...new Set(subnets)].sort();
  for (const s of unique) {
    if (!IPV4_CIDR.test(s)) throw new Error(`not an IPv4 subnet: ${JSON.stringify(s)}`);
  }
  return [
    "*filter",
    // declaring the chain flushes it: the rule set is replaced atomically, never appended to
    `:${ISOLATION_CHAIN} - [0:0]`,
    // Where br_netfilter is loaded (this kernel), traffic inside one bridge crosses FORWARD too: instances and
    // addons of one app must still reach each other. APPLY_SCRIPT drops this line where it is not needed.
    `-A ${ISOLATION_CHAIN} -m physdev --physdev-is-bridged -j RETURN`,
    // TCP is refused with a reset: the kernel rate-limits the ICMP errors of a plain REJECT per source (one
    // a second after a short burst), so an app trying several addresses in a row saw 1 s and 3 s waits
    // instead of a refusal (still isolated, but indistinguishable from a host that is down)
    ...unique.flatMap((s) => [
      `-A ${ISOLATION_CHAIN} -d ${s} -p tcp -m conntrack --ctstate NEW,INVALID -j REJECT --reject-with tcp-reset`,
      `-A ${ISOLATION_CHAIN} -d ${s} -m conntrack --ctstate NEW,INVALID -j REJECT`,
    ]),
    "COMMIT",
    "",
  ].join("\n");
}

/**
 * Shell run inside the rootless network namespace, rules on stdin. The jump must be the first FORWARD rule:
 * netavark's own FORWARD rules ACCEPT everything coming from an app subnet.
 */
export const APPLY_SCRIPT = [
  "set -e",
  // without br_netfilter the physdev match is useless and its module may be missing: leave the line out
  'if [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ]; then iptables-restore --noflush;',
  "else grep -v -- --physdev-is-bridged | iptables-restore --noflush; fi",
  `if [ "$(iptables -S FORWARD 1)" != "-A FORWARD -j ${ISOLATION_CHAIN}" ]; then`,
  `  while iptables -D FORWARD -j ${ISOLATION_CHAIN} 2>/dev/null; do :; done`,
  `  iptables -I FORWARD 1 -j ${ISOLATION_CHAIN}`,
  "fi",
].join("\n");

/** Runs APPLY_SCRIPT in the rootless network namespace (creating it if no container runs yet). */
export type NamespaceExec = (script: string, stdin: string) => Promise<void>;

export const podmanUnshareExec: NamespaceExec = (script, stdin) =>
  new Promise((resolve, reject) => {
    const child = spawn("podman", ["unshare", "--rootless-netns", "sh", "-c", script], {
      stdio: ["pipe", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 4000) stderr += d.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`podman unshare --rootless-netns exited ${code}: ${stderr.trim()}`)),
    );
    child.stdin.end(stdin);
  });

/** Identity of the current rootless network namespace (Podman 4 and 5 paths), or undefined if there is none. */
export function rootlessNetnsId(runtimeDir = process.env.XDG_RUNTIME_DIR): string | undefined {
  if (!runtimeDir) return undefined;
  const candidates: string[] = [
    join(runtimeDir, "containers", "networks", "rootless-netns", "rootless-netns"),
  ];
  try {
    for (const f of readdirSync(join(runtimeDir, "netns"))) {
      if (f.startsWith("rootless-netns")) candidates.push(join(runtimeDir, "netns", f));
    }
  } catch {
    // no netns directory: no namespace yet
  }
  for (const path of candidates) {
    try {
      const st = statSync(path);
      return `${path}:${st.dev}:${st.ino}`;
    } catch {
      // not this one
    }
  }
  return undefined;
}

export interface IsolationOptions {
  log: (msg: string) => void;
  exec?: NamespaceExec;
  netnsId?: () => string | undefined;
}

export class NetworkIsolation {
  private applied?: string;
  private running?: Promise<void>;
  private again = false;
  private lastError?: string;
  /** The namespace the last attempt was made in, whatever its outcome (watch's trigger). */
  private triedIn?: string;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly docker: Docker,
    private readonly opts: IsolationOptions,
  ) {}

  /** Subnets of every Hop3 app network. */
  async subnets(): Promise<string[]> {
    const networks = await this.docker.listNetworks({ filters: { label: [`${LABEL.managed}=true`] } });
    return networks
      .flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? ""))
      .filter((s) => IPV4_CIDR.test(s));
  }

  /**
   * Makes the rules match the current app networks; a no-op when neither the networks nor the namespace changed
   * since the last success. Concurrent calls share one run (and one more if something changed meanwhile).
   */
  ensure(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.applyOnce();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async applyOnce(): Promise<void> {
    const netnsId = (this.opts.netnsId ?? rootlessNetnsId)();
    this.triedIn = netnsId;
    const subnets = await this.subnets();
    const rules = isolationRules(subnets);
    const key = `${netnsId}\n${rules}`;
    if (netnsId && key === this.applied) return;
    try {
      await (this.opts.exec ?? podmanUnshareExec)(APPLY_SCRIPT, rules);
      // the namespace may have been created by this very call: record its identity as it is now
      this.applied = `${(this.opts.netnsId ?? rootlessNetnsId)()}\n${rules}`;
      if (this.lastError) this.opts.log("network isolation rules applied again");
      this.lastError = undefined;
    } catch (err) {
      this.applied = undefined;
      const msg = (err as Error).message;
      // said once per distinct failure, not at every deploy
      if (msg !== this.lastError) {
        this.opts.log(
          `cannot apply network isolation rules (apps rely on netavark's isolate option): ${msg}`,
        );
      }
      this.lastError = msg;
    }
  }

  /**
   * Re-applies when the rootless namespace is re-created behind the server's back (a cheap stat every tick).
   * Only for a namespace not tried yet: where the rules cannot be applied (the systemd unit's sandbox refuses
   * `podman unshare`), retrying at every tick asked Podman for the networks every 2 s, which kept the
   * socket-activated API service from ever stopping. Deploys still try again before each container starts.
   */
  watch(intervalMs = 2_000): void {
    this.timer = setInterval(() => {
      const id = (this.opts.netnsId ?? rootlessNetnsId)();
      if (id && id !== this.triedIn && !this.applied?.startsWith(`${id}\n`)) void this.ensure();
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

let current: NetworkIsolation | undefined;

/** The server's instance (set at start); unit tests and tools that run without a server have none. */
export function useNetworkIsolation(isolation: NetworkIsolation | undefined): void {
  current = isolation;
}

/** Called right before a container starts on an app network. */
export async function ensureNetworkIsolation(): Promise<void> {
  await current?.ensure();
}
