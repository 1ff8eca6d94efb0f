import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { APPLY_SCRIPT, isolationRules, NetworkIsolation } from "../../../src/runtime/network-isolation.js";

describe("isolationRules", () => {
  it("replaces the platform's chain with rejects per app subnet (TCP by a reset), sorted and deduplicated", () => {
    expect(isolationRules(["10.89.2.0/24", "10.89.0.0/24", "10.89.2.0/24"])).toBe(
      [
        "*filter",
        ":HOP3-ISOLATION - [0:0]",
        "-A HOP3-ISOLATION -m physdev --physdev-is-bridged -j RETURN",
        "-A HOP3-ISOLATION -d 10.89.0.0/24 -p tcp -m conntrack --ctstate NEW,INVALID -j REJECT --reject-with tcp-reset",
        "-A HOP3-ISOLATION -d 10.89.0.0/24 -m conntrack --ctstate NEW,INVALID -j REJECT",
        "-A HOP3-ISOLATION -d 10.89.2.0/24 -p tcp -m conntrack --ctstate NEW,INVALID -j REJECT --reject-with tcp-reset",
        "-A HOP3-ISOLATION -d 10.89.2.0/24 -m conntrack --ctstate NEW,INVALID -j REJECT",
        "COMMIT",
        "",
      ].join("\n"),
    );
  });

  it("with no app network, still declares (so empties) the chain", () => {
    expect(isolationRules([])).toBe(
      "*filter\n:HOP3-ISOLATION - [0:0]\n-A HOP3-ISOLATION -m physdev --physdev-is-bridged -j RETURN\nCOMMIT\n",
    );
  });

  it("refuses anything but an IPv4 subnet: nothing else may reach the rules", () => {
    for (const bad of [
      "10.89.0.0/24 -j ACCEPT",
      "10.89.0.0",
      "fd00::/64",
      "10.89.300.0/24",
      "10.0.0.0/33",
      "",
    ]) {
      expect(() => isolationRules([bad]), bad).toThrow(/not an IPv4 subnet/);
    }
  });

  it("keeps the jump first in FORWARD (netavark's own rules accept app traffic)", () => {
    expect(APPLY_SCRIPT).toContain('"$(iptables -S FORWARD 1)" != "-A FORWARD -j HOP3-ISOLATION"');
    expect(APPLY_SCRIPT).toContain("iptables -I FORWARD 1 -j HOP3-ISOLATION");
  });
});

function fakeDocker(subnets: string[][]): Docker {
  return {
    listNetworks: async () => subnets.map((s) => ({ IPAM: { Config: s.map((Subnet) => ({ Subnet })) } })),
  } as unknown as Docker;
}

describe("NetworkIsolation", () => {
  it("applies once per namespace and network set, again when either changes", async () => {
    const calls: string[] = [];
    const nets = [["10.89.0.0/24"]];
    let netns = "ns1";
    const iso = new NetworkIsolation(fakeDocker(nets), {
      log: () => {},
      exec: async (_script, rules) => {
        calls.push(rules);
      },
      netnsId: () => netns,
    });
    await iso.ensure();
    await iso.ensure();
    expect(calls).toHaveLength(1);
    nets.push(["10.89.1.0/24"]);
    await iso.ensure();
    expect(calls).toHaveLength(2);
    expect(calls[1]).toContain("10.89.1.0/24");
    netns = "ns2";
    await iso.ensure();
    expect(calls).toHaveLength(3);
  });

  it("says a failure once, keeps trying, and says when it works again", async () => {
    const logs: string[] = [];
    let fail = true;
    const iso = new NetworkIsolation(fakeDocker([["10.89.0.0/24"]]), {
      log: (m) => logs.push(m),
      exec: async () => {
        if (fail) throw new Error("no iptables");
      },
      netnsId: () => "ns",
    });
    await iso.ensure();
    await iso.ensure();
    expect(logs).toEqual([expect.stringContaining("no iptables")]);
    fail = false;
    await iso.ensure();
    expect(logs[1]).toMatch(/applied again/);
  });

  it("watch: where the rules cannot be applied, tries once per namespace, not at every tick (no Podman call every 2 s)", async () => {
    let listed = 0;
    let netns = "ns1";
    const docker = {
      listNetworks: async () => {
        listed++;
        return [{ IPAM: { Config: [{ Subnet: "10.89.0.0/24" }] } }];
      },
    } as unknown as Docker;
    const iso = new NetworkIsolation(docker, {
      log: () => {},
      exec: async () => {
        throw new Error("podman unshare --rootless-netns exited 1: cannot set user namespace");
      },
      netnsId: () => netns,
    });
    iso.watch(5);
    try {
      await new Promise((r) => setTimeout(r, 60));
      expect(listed).toBe(1);
      // a namespace made again behind the server's back is tried again
      netns = "ns2";
      await new Promise((r) => setTimeout(r, 60));
      expect(listed).toBe(2);
    } finally {
      iso.stop();
    }
  });

  it("concurrent calls share a run", async () => {
    let runs = 0;
    const iso = new NetworkIsolation(fakeDocker([["10.89.0.0/24"]]), {
      log: () => {},
      exec: async () => {
        runs++;
        await new Promise((r) => setTimeout(r, 20));
      },
      netnsId: () => "ns",
    });
    await Promise.all([iso.ensure(), iso.ensure(), iso.ensure()]);
    // the first run, then one more for the calls that came meanwhile, which finds nothing changed
    expect(runs).toBe(1);
  });
});
