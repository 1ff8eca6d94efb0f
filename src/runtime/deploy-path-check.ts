/**
 * Proves, on the running host, the path every deploy takes: a rootless container on a bridge network of its
 * own, its port published on loopback and answering HTTP, and the router answering on its port. install.sh runs
 * it (through `hop doctor`) before it reports success, so a host that lacks a piece of the container network
 * stack (Debian 12's netavark without iptables: "netavark: No such file or directory") fails there, in plain
 * words, instead of at the first deploy.
 */

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import type Docker from "dockerode";
import type { ContainerPlan } from "../deploy/plan.js";
import { ensureNetwork, removeContainer, removeNetwork, startContainer } from "./containers.js";
import { httpGet, waitHealthy } from "./health.js";
import { LABEL } from "./labels.js";

/** Not a valid app name (app names cannot contain `_`), so it can never be an app's network or container. */
export const CHECK_NAME = "hop3_deploy-path-check";
const PORT = 5000;

export interface CheckStep {
  name: string;
  ok: boolean;
  detail: string;
  ms: number;
}

export interface DeployPathReport {
  ok: boolean;
  steps: CheckStep[];
  /** What to do when a step failed, in plain words (the missing piece and how to get it). */
  hint?: string;
}

/** What the host has, for the diagnosis of a failed network step. */
export interface NetworkFacts {
  netavarkVersion?: string;
  /** Firewall commands present: `iptables`, `nft`. */
  firewallTools: string[];
}

const versionAtLeast = (v: string, min: [number, number]) => {
  const [a = 0, b = 0] = v.split(".").map(Number);
  return a > min[0] || (a === min[0] && b >= min[1]);
};

/**
 * Plain words for a container network that does not come up. netavark reports a firewall command it cannot
 * execute as "No such file or directory (os error 2)"; before 1.10 it only knows iptables, later versions
 * drive iptables or nftables (the driver set in containers.conf, else the build's default).
 */
export function diagnoseNetworkFailure(error: string, facts: NetworkFacts): string {
  const missingExec =
    /netavark|cni/i.test(error) && /No such file or directory|executable file not found/i.test(error);
  if (!missingExec) return `containers cannot start on an app network: ${error}`;
  const version = facts.netavarkVersion;
  const wanted = version && !versionAtLeast(version, [1, 10]) ? ["iptables"] : ["iptables", "nft"];
  const missing = wanted.filter((t) => !facts.firewallTools.includes(t));
  const stack = version ? `netavark ${version}` : "the container network stack";
  if (missing.length === 0) return `${stack} cannot run a command it needs: ${error}`;
  const pkg = (t: string) => (t === "nft" ? "nftables" : "iptables");
  return missing.length === 1
    ? `${stack} needs ${missing[0]}, which is not installed: apt-get install ${pkg(missing[0]!)} (install.sh does it)`
    : `${stack} needs a firewall command and finds neither iptables nor nft: apt-get install iptables nftables`;
}

/** Adapter: looks at this host. */
export async function networkFacts(): Promise<NetworkFacts> {
  const dirs = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];
  const firewallTools = ["iptables", "nft"].filter((t) => dirs.some((d) => existsSync(`${d}/${t}`)));
  for (const bin of ["/usr/libexec/podman/netavark", "/usr/lib/podman/netavark"]) {
    if (!existsSync(bin)) continue;
    const out = await new Promise<string>((resolve) =>
      execFile(bin, ["--version"], { timeout: 5000 }, (_e, stdout) => resolve(String(stdout ?? ""))),
    );
    const version = /(\d+\.\d+(?:\.\d+)?)/.exec(out)?.[1];
    return version ? { netavarkVersion: version, firewallTools } : { firewallTools };
  }
  return { firewallTools };
}

export interface DeployPathCheckOptions {
  image: string;
  /** The router's HTTP port on this host. */
  routerPort: number;
  facts?: () => Promise<NetworkFacts>;
}

/** A few lines of Perl (in every Debian image: perl-base is essential) answering one token over HTTP. */
export function responderPlan(image: string, token: string): ContainerPlan {
  const perl = [
    "use IO::Socket::INET;",
    `my $s = IO::Socket::INET->new(LocalPort => ${PORT}, Listen => 5, ReuseAddr => 1) or die "listen: $!";`,
    "while (my $c = $s->accept) {",
    "  while (my $l = <$c>) { last if $l =~ /^\\r?$/ }",
    `  print $c "HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\n${token}\\n"; close $c;`,
    "}",
  ].join(" ");
  return {
    name: CHECK_NAME,
    app: CHECK_NAME,
    release: 0,
    process: "web",
    instance: 1,
    image,
    cmd: ["perl", "-e", perl],
    env: {},
    // no io.hop3.app label: reconcile and the watchdog leave it alone
    labels: { [LABEL.managed]: "true", [LABEL.role]: "check" },
    network: CHECK_NAME,
    publishPort: PORT,
  };
}

export async function checkDeployPath(
  docker: Docker,
  opts: DeployPathCheckOptions,
): Promise<DeployPathReport> {
  const steps: CheckStep[] = [];
  let hint: string | undefined;
  const step = async (name: string, fn: () => Promise<string>): Promise<boolean> => {
    const t0 = Date.now();
    try {
      steps.push({ name, ok: true, detail: await fn(), ms: Date.now() - t0 });
      return true;
    } catch (err) {
      steps.push({ name, ok: false, detail: (err as Error).message, ms: Date.now() - t0 });
      return false;
    }
  };
  /** Network setup fails in the network stack's words: say which piece is missing. */
  const diagnosed = async (fn: () => Promise<string>): Promise<string> => {
    try {
      return await fn();
    } catch (err) {
      hint = diagnoseNetworkFailure((err as Error).message, await (opts.facts ?? networkFacts)());
      throw err;
    }
  };
  const token = `hop3-check-${randomBytes(6).toString("hex")}`;
  let hostPort: number | undefined;
  try {
    await removeContainer(docker, CHECK_NAME, 1).catch(() => {});
    const ok =
      (await step("image", async () => {
        await docker.getImage(opts.image).inspect();
        return opts.image;
      })) &&
      (await step("network", () =>
        diagnosed(async () => {
          await ensureNetwork(docker, CHECK_NAME, { [LABEL.managed]: "true", [LABEL.role]: "check" });
          return `bridge network ${CHECK_NAME}`;
        }),
      )) &&
      (await step("container", () =>
        diagnosed(async () => {
          const inst = await startContainer(docker, responderPlan(opts.image, token));
          hostPort = inst.hostPort;
          return `rootless container on ${CHECK_NAME}, port ${PORT} published on 127.0.0.1:${hostPort}`;
        }),
      )) &&
      (await step("published port", async () => {
        const r = await waitHealthy(
          hostPort!,
          { path: "/", contains: token, timeout: 30, interval: 0.2 },
          async () => true,
        );
        if (!r.ok) throw new Error(`127.0.0.1:${hostPort} did not answer: ${r.reason}`);
        return `127.0.0.1:${hostPort} answered HTTP`;
      })) &&
      (await step("router", async () => {
        const r = await httpGet(opts.routerPort, "/", "hop3-deploy-path-check.invalid", 5000);
        return `answered HTTP ${r.status} on port ${opts.routerPort}`;
      }));
    if (!ok && !hint) {
      const failed = steps.find((s) => !s.ok)!;
      hint =
        failed.name === "image"
          ? "the base image is missing: scripts/prepare-base-images (install.sh does it)"
          : failed.name === "router"
            ? "the router does not answer: see `hop doctor` and the server log (/var/lib/hop3/log/server.log)"
            : `the ${failed.name} step failed: ${failed.detail}`;
    }
  } finally {
    await removeContainer(docker, CHECK_NAME, 1).catch(() => {});
    await removeNetwork(docker, CHECK_NAME).catch(() => {});
  }
  return { ok: steps.every((s) => s.ok), steps, ...(hint ? { hint } : {}) };
}
