/**
 * Apps cannot reach each other (issue 9, "Apps reach each other"). The attack: from inside app A's container,
 * open a TCP connection to app B's container, by address and by name, and to what the host publishes for B.
 * Every attempt must fail fast, while both apps keep answering through the router. The netavark 1.4 bug that
 * made isolation unreliable (stopping an app's network dropped the isolation of every app) is replayed by
 * stopping and starting each app, and the attacks run again.
 */
import { readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop,
  podmanAsHop3,
  uniqueApp,
  webContainerNames,
} from "./helpers.js";

/** Whether the server under test runs the app gateway, as it says itself (`hop doctor --json`: appGateway). */
async function serverUsesGateway(): Promise<boolean> {
  const r = await hop(["doctor", "--json"]);
  const said = (JSON.parse(r.stdout || "{}") as { appGateway?: string }).appGateway;
  if (!said) throw new Error(`hop doctor --json says nothing of the app gateway:\n${r.stdout}\n${r.stderr}`);
  return said.startsWith("on");
}
const gatewayOn = await serverUsesGateway();

interface Web {
  name: string;
  ip: string;
  hostPort?: string;
}

/** The running web containers of an app, with their address on the app's network. */
async function webContainers(app: string): Promise<Web[]> {
  const lines = await webContainerNames(app);
  const out: Web[] = [];
  for (const name of lines) {
    const ip = (
      await podmanAsHop3([
        "inspect",
        name,
        "--format",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
      ])
    ).trim();
    const port = (await podmanAsHop3(["port", name])).match(/:(\d+)\s*$/m)?.[1];
    out.push({ name, ip, ...(port ? { hostPort: port } : {}) });
  }
  return out;
}

const GATEWAY_SOCKETS = "/var/lib/hop3/gateway/sockets";

/**
 * The app gateway container that serves now: the target of sockets/current (under the Podman supervisor a new
 * one, hop3-gateway-<id>, replaces the last whenever the set of app networks changes).
 */
function currentGateway(): string | undefined {
  try {
    return readlinkSync(join(GATEWAY_SOCKETS, "current"));
  } catch {
    return undefined;
  }
}

/** The serving gateway's addresses on the app networks (none where web processes publish ports instead). */
async function gatewayAddresses(name = currentGateway()): Promise<string[]> {
  if (!name) return [];
  const ips = await podmanAsHop3([
    "inspect",
    name,
    "--format",
    "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
  ]).catch(() => "");
  return ips.split(/\s+/).filter(Boolean);
}

/**
 * Connects from inside `from` to host:port with Python (the fixture's image has it). Answers "OPEN" or the
 * error's class name, and how long it took.
 */
async function connectFrom(
  from: string,
  host: string,
  port: number | string,
): Promise<{ result: string; ms: number }> {
  const script = [
    "import socket, time",
    "t = time.time()",
    "try:",
    `    socket.create_connection((${JSON.stringify(host)}, ${Number(port)}), timeout=3).close(); r = 'OPEN'`,
    "except Exception as e:",
    "    r = type(e).__name__",
    "print(r, int((time.time() - t) * 1000))",
  ].join("\n");
  const out = (await podmanAsHop3(["exec", from, "python3", "-c", script])).trim().split(/\s+/);
  return { result: out[0] ?? "", ms: Number(out[1]) };
}

describe("apps cannot reach each other", () => {
  const a = uniqueApp("it-iso-a");
  const b = uniqueApp("it-iso-b");
  const urls: Record<string, string> = {};

  // built outside Hop3 and deployed by reference: this test is about the network, not the builders
  const image = "localhost/hop3-test/greeter:isolation";

  beforeAll(async () => {
    const context = fixture("greeter");
    await podmanAsHop3(["build", "-f", join(context, "Containerfile"), "-t", image, context]);
    for (const app of [a, b]) {
      const r = await hop(["deploy", "--image", image, "--app", app]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      urls[app] = deployedUrl(r.stdout);
    }
  });

  afterAll(async () => {
    await destroyQuietly(a);
    await destroyQuietly(b);
    await podmanAsHop3(["rmi", "-f", image]).catch(() => {});
  });

  async function bothAnswerThroughTheRouter(): Promise<void> {
    for (const app of [a, b]) {
      const res = await getThroughRouter(urls[app]!);
      expect(res.status, app).toBe(200);
      expect(res.body).toContain(app);
    }
  }

  /** Every way from one app to the other fails, quickly; the app still reaches itself (the probe works). */
  async function attack(from: string, to: string): Promise<void> {
    const [src] = await webContainers(from);
    const [dst] = await webContainers(to);
    expect(src && dst, `web containers of ${from} and ${to}`).toBeTruthy();
    expect((await connectFrom(src!.name, src!.ip, 5000)).result, "the probe reaches its own app").toBe(
      "OPEN",
    );
    const targets: [string, number | string][] = [
      [dst!.ip, 5000], // B's container by address
      [dst!.name, 5000], // by container name
      [to, 5000], // by app name
      [`${to}.hop3.localhost`, 5000],
    ];
    // the app gateway is on both networks (it forwards the router's connections): it must not be a way
    // through, neither by its address on A's network (it listens on Unix sockets only) nor on B's
    const gateway = currentGateway();
    const net = (ip: string) => ip.replace(/\.\d+$/, "");
    const gatewayIps = new Set(
      (await gatewayAddresses(gateway)).filter((ip) => [net(src!.ip), net(dst!.ip)].includes(net(ip))),
    );
    for (const ip of gatewayIps) targets.push([ip, 5000], [ip, 80]);
    if (dst!.hostPort) {
      // what the host publishes for B (loopback only): not reachable from a container, neither through
      // slirp4netns' host address nor through the network's gateway
      targets.push(["10.0.2.2", dst!.hostPort], [src!.ip.replace(/\.\d+$/, ".1"), dst!.hostPort]);
    }
    for (const [host, port] of targets) {
      let r = await connectFrom(src!.name, host, port);
      expect(r.result, `${from} -> ${host}:${port}`).not.toBe("OPEN");
      // a connection is refused at once, not dropped into a 3 s timeout; a name that does not resolve takes
      // what the host's upstream resolver takes to say so (aardvark forwards names it does not know: 5 s
      // when that resolver does not answer, seen in CI), which says nothing about isolation
      if (r.result === "gaierror" || r.ms < 2_500) continue;
      // Other test files create and destroy apps meanwhile, and under the Podman supervisor each such change
      // replaces the gateway: the addresses of the one attacked may be gone by then (no route: a timeout)
      if (gatewayIps.has(host) && currentGateway() !== gateway) continue;
      // After an app restarted, an attempt sometimes times out instead, again a second later (seen in 2 of 3
      // runs of this file alone on Podman 4.3, never by hand; cause not found, docs/security.md): nothing
      // answered, so the apps stay apart, but the refusal is not the platform's reset. Said, not failed.
      await new Promise((res) => setTimeout(res, 1_000));
      r = await connectFrom(src!.name, host, port);
      expect(r.result, `${from} -> ${host}:${port}, again`).not.toBe("OPEN");
      if (r.ms >= 2_500) console.warn(`isolation: ${from} -> ${host}:${port} timed out twice (${r.result})`);
    }
  }

  it("both apps answer through the router", bothAnswerThroughTheRouter);

  // with Traefik or HOP3_APP_GATEWAY=off, web processes publish loopback ports instead
  it.runIf(gatewayOn)(
    "no web process publishes a host port; the gateway's sockets are the hop3 user's alone",
    async () => {
      expect(await gatewayAddresses(), "the gateway is on no app network").not.toEqual([]);
      for (const app of [a, b]) {
        for (const w of await webContainers(app))
          expect(w.hostPort, `${w.name} publishes a port`).toBeUndefined();
      }
      // a local user who is not hop3 can neither list nor connect to the sockets (no port to take over either)
      const dir = GATEWAY_SOCKETS;
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      const probe = `require("net").connect(${JSON.stringify(join(dir, "current", "a", `${a}.sock`))}).on("connect", () => { console.log("OPEN"); process.exit(0) }).on("error", (e) => { console.log(e.code); process.exit(0) })`;
      const r = await execa("runuser", ["-u", "nobody", "--", process.execPath, "-e", probe], {
        reject: false,
      });
      expect(r.stdout.trim()).toBe("EACCES");
      // the gateway forwards between no networks: it is no router
      const fwd = await podmanAsHop3(["exec", currentGateway()!, "cat", "/proc/sys/net/ipv4/ip_forward"]);
      expect(fwd.trim()).toBe("0");
    },
  );

  it("A cannot connect to B, nor B to A", async () => {
    await attack(a, b);
    await attack(b, a);
  });

  it("instances of one app still reach each other", async () => {
    const r = await hop(["ps:scale", "web=2", "-a", a]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const [one, two] = await webContainers(a);
    expect(two, "two web instances").toBeTruthy();
    expect((await connectFrom(one!.name, two!.ip, 5000)).result).toBe("OPEN");
  });

  it("stays isolated after an app's network is torn down and set up again (netavark 1.4 lost it there)", async () => {
    for (const app of [b, a]) {
      expect((await hop(["stop", "-a", app])).exitCode).toBe(0);
      expect((await hop(["start", "-a", app])).exitCode).toBe(0);
      await attack(a, b);
      await attack(b, a);
    }
    await bothAnswerThroughTheRouter();
  });
});
