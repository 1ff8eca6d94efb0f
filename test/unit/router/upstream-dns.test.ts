import { describe, expect, it } from "vitest";
import {
  appsLosingUpstreams,
  LOOPBACK_NAME,
  renderUpstreamRecords,
  renderUpstreamZone,
  upstreamDnsAddress,
  upstreamName,
} from "../../../src/router/upstream-dns.js";

const names = {
  [upstreamName("blog")]: [
    { target: LOOPBACK_NAME, port: 8001 },
    { target: LOOPBACK_NAME, port: 8002 },
  ],
};

describe("upstream records (host side)", () => {
  it("lists loopback upstreams per app, sorted, skipping apps without or with other upstreams", () => {
    const records = renderUpstreamRecords([
      {
        app: "blog",
        hosts: ["blog.example.com"],
        upstreams: [
          { host: "127.0.0.1", port: 8002 },
          { host: "127.0.0.1", port: 8001 },
        ],
      },
      { app: "down", hosts: ["down.example.com"], upstreams: [] },
      { app: "remote", hosts: ["remote.example.com"], upstreams: [{ host: "10.0.0.5", port: 80 }] },
    ]);
    expect(records).toEqual({ names });
  });

  it("writes them as a zone file: SOA, two NS, one SRV record per upstream with absolute names", () => {
    const zone = renderUpstreamZone([
      {
        app: "blog",
        hosts: ["blog.example.com"],
        upstreams: [
          { host: "127.0.0.1", port: 8002 },
          { host: "127.0.0.1", port: 8001 },
        ],
      },
      { app: "remote", hosts: ["remote.example.com"], upstreams: [{ host: "10.0.0.5", port: 80 }] },
    ]);
    const records = zone.split("\n").filter((l) => l && !l.startsWith(";"));
    expect(records).toEqual([
      "$TTL 1",
      "@ SOA ns1 hostmaster 1 3600 600 86400 1",
      "@ NS ns1",
      "@ NS ns2",
      "ns1 A 127.0.0.1",
      "ns2 A 127.0.0.1",
      "web.blog.upstreams.hop3.internal. SRV 10 10 8001 loopback.hop3.internal.",
      "web.blog.upstreams.hop3.internal. SRV 10 10 8002 loopback.hop3.internal.",
    ]);
    expect(zone.endsWith("\n")).toBe(true);
    // no app: the zone still exists (names in it answer NXDOMAIN, as before any deploy)
    expect(
      renderUpstreamZone([])
        .split("\n")
        .filter((l) => l.includes(" SRV ")),
    ).toEqual([]);
  });

  it("gives each router container its own loopback address", () => {
    const a = upstreamDnsAddress("hop3-router");
    expect(a).toMatch(/^127\.53\.\d{1,3}\.\d{1,3}:1053$/);
    expect(upstreamDnsAddress("hop3-router")).toBe(a);
    expect(upstreamDnsAddress("hop3-router-test-1")).not.toBe(a);
  });

  it("tells which apps lose upstreams", () => {
    const r = (app: string, ports: number[]) => ({
      app,
      hosts: [`${app}.localhost`],
      upstreams: ports.map((port) => ({ host: "127.0.0.1", port })),
    });
    expect(appsLosingUpstreams([r("a", [1, 2]), r("b", [3])], [r("a", [2, 4]), r("b", [3, 5])])).toEqual([
      "a",
    ]);
    expect(appsLosingUpstreams([r("a", [1])], [])).toEqual(["a"]);
    expect(appsLosingUpstreams([], [r("a", [1])])).toEqual([]);
  });
});
