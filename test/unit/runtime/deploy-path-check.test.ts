import { describe, expect, it } from "vitest";
import { diagnoseNetworkFailure, responderPlan } from "../../../src/runtime/deploy-path-check.js";

// What Podman 4.3 answered on a new Debian 12 machine without iptables (issue 8)
const NETAVARK_ENOENT = "(HTTP code 500) server error - netavark: No such file or directory (os error 2)";

describe("diagnoseNetworkFailure", () => {
  it("names iptables for netavark before 1.10 (Debian 12, Ubuntu 24.04)", () => {
    expect(diagnoseNetworkFailure(NETAVARK_ENOENT, { netavarkVersion: "1.4.0", firewallTools: [] })).toBe(
      "netavark 1.4.0 needs iptables, which is not installed: apt-get install iptables (install.sh does it)",
    );
    // nftables alone does not help netavark 1.4
    expect(
      diagnoseNetworkFailure(NETAVARK_ENOENT, { netavarkVersion: "1.4.0", firewallTools: ["nft"] }),
    ).toMatch(/needs iptables/);
  });

  it("names what is missing for netavark with an nftables driver (Debian 13)", () => {
    expect(
      diagnoseNetworkFailure(NETAVARK_ENOENT, { netavarkVersion: "1.14.0", firewallTools: ["iptables"] }),
    ).toMatch(/netavark 1\.14\.0 needs nft, which is not installed: apt-get install nftables/);
    expect(diagnoseNetworkFailure(NETAVARK_ENOENT, { netavarkVersion: "1.14.0", firewallTools: [] })).toMatch(
      /neither iptables nor nft/,
    );
  });

  it("passes other failures through, in words", () => {
    expect(diagnoseNetworkFailure("image not known", { firewallTools: ["iptables"] })).toBe(
      "containers cannot start on an app network: image not known",
    );
    expect(
      diagnoseNetworkFailure(NETAVARK_ENOENT, { netavarkVersion: "1.4.0", firewallTools: ["iptables"] }),
    ).toMatch(/cannot run a command it needs/);
  });
});

describe("responderPlan", () => {
  it("is no app: no app label, a name no app can have, one published port", () => {
    const plan = responderPlan("localhost/hop3/base:bookworm", "tok");
    expect(plan.labels["io.hop3.app"]).toBeUndefined();
    expect(plan.name).toContain("_");
    expect(plan.publishPort).toBe(5000);
    expect(plan.cmd?.[0]).toBe("perl");
    expect(plan.cmd?.[2]).toContain("tok");
  });
});
