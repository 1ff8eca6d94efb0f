import { describe, expect, it } from "vitest";
import { appAddressOf, IP_LABEL, macFor, pickAddress } from "../../../src/runtime/app-ip.js";
import { LABEL } from "../../../src/runtime/labels.js";

describe("pickAddress", () => {
  it("takes the highest free address of the subnet, below broadcast", () => {
    expect(pickAddress("10.89.3.0/24", new Set())).toBe("10.89.3.254");
    expect(pickAddress("10.89.3.0/24", new Set(["10.89.3.254", "10.89.3.253"]))).toBe("10.89.3.252");
  });

  it("skips the network's gateway and normalises a subnet given by a host address", () => {
    expect(pickAddress("10.89.3.7/24", new Set(), "10.89.3.254")).toBe("10.89.3.253");
  });

  it("stays in the upper half, which Podman does not hand out from", () => {
    const used = new Set<string>();
    for (let n = 254; n > 128; n--) used.add(`10.89.3.${n}`);
    expect(pickAddress("10.89.3.0/24", used)).toBeUndefined();
    used.delete("10.89.3.129");
    expect(pickAddress("10.89.3.0/24", used)).toBe("10.89.3.129");
  });

  it("answers nothing for IPv6, malformed or too small subnets", () => {
    expect(pickAddress("fd00::/64", new Set())).toBeUndefined();
    expect(pickAddress("10.89.3.0", new Set())).toBeUndefined();
    expect(pickAddress("10.89.3.0/30", new Set())).toBeUndefined();
  });
});

describe("appAddressOf", () => {
  it("reads the fixed address and the port from an instance's labels", () => {
    expect(appAddressOf({ [IP_LABEL]: "10.89.3.254", [LABEL.port]: "5000" })).toEqual({
      ip: "10.89.3.254",
      networkPort: 5000,
    });
    expect(appAddressOf({ [IP_LABEL]: "10.89.3.254" })).toBeUndefined();
    expect(appAddressOf(undefined)).toBeUndefined();
  });
});

describe("macFor", () => {
  it("is locally administered, unicast, and one per address", () => {
    expect(macFor("10.89.2.254")).toBe("02:48:0a:59:02:fe");
    expect(macFor("10.89.2.253")).not.toBe(macFor("10.89.2.254"));
    expect(() => macFor("10.89.2")).toThrow(/not an IPv4 address/);
    expect(() => macFor("10.89.2.256")).toThrow(/not an IPv4 address/);
  });
});
