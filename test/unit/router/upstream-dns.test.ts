import dgram from "node:dgram";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildResponse, parseRecords, recordsSource, serve } from "../../../images/caddy/upstream-dns.mjs";
import {
  appsLosingUpstreams,
  LOOPBACK_NAME,
  renderUpstreamRecords,
  UPSTREAM_ZONE,
  upstreamDnsAddress,
  upstreamName,
} from "../../../src/router/upstream-dns.js";

/** A standard query (RD set) as a stub resolver sends it. */
function query(name: string, qtype = 33, id = 0x1234): Buffer {
  const labels = name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1])]);
}

/** Decodes a response's rcode and SRV answers (names uncompressed, as the responder writes them). */
function decode(res: Buffer): { id: number; rcode: number; srv: { port: number; target: string }[] } {
  const ancount = res.readUInt16BE(6);
  let off = 12;
  while (res[off] !== 0) off += res[off]! + 1;
  off += 5;
  const srv: { port: number; target: string }[] = [];
  for (let i = 0; i < ancount; i++) {
    expect(res.readUInt16BE(off)).toBe(0xc00c);
    expect(res.readUInt16BE(off + 2)).toBe(33);
    const rdlen = res.readUInt16BE(off + 10);
    const port = res.readUInt16BE(off + 16);
    const labels: string[] = [];
    let p = off + 18;
    while (res[p] !== 0) {
      labels.push(res.subarray(p + 1, p + 1 + res[p]!).toString());
      p += res[p]! + 1;
    }
    srv.push({ port, target: labels.join(".") });
    off += 12 + rdlen;
  }
  expect(off).toBe(res.length);
  return { id: res.readUInt16BE(0), rcode: res.readUInt16BE(2) & 0xf, srv };
}

const names = {
  [upstreamName("blog")]: [
    { target: LOOPBACK_NAME, port: 8001 },
    { target: LOOPBACK_NAME, port: 8002 },
  ],
};

describe("upstream DNS responder (images/caddy/upstream-dns.mjs)", () => {
  it("answers SRV for a known name, with the query's id", () => {
    const res = decode(buildResponse(query("web.blog.upstreams.hop3.internal"), names, UPSTREAM_ZONE)!);
    expect(res).toEqual({
      id: 0x1234,
      rcode: 0,
      srv: [
        { port: 8001, target: LOOPBACK_NAME },
        { port: 8002, target: LOOPBACK_NAME },
      ],
    });
  });

  it("is case-insensitive, NXDOMAIN in its zone, REFUSED outside, empty for other types", () => {
    expect(
      decode(buildResponse(query("WEB.Blog.upstreams.hop3.internal"), names, UPSTREAM_ZONE)!).srv,
    ).toHaveLength(2);
    expect(
      decode(buildResponse(query("web.gone.upstreams.hop3.internal"), names, UPSTREAM_ZONE)!).rcode,
    ).toBe(3);
    expect(decode(buildResponse(query("example.com"), names, UPSTREAM_ZONE)!).rcode).toBe(5);
    const a = decode(buildResponse(query("web.blog.upstreams.hop3.internal", 1), names, UPSTREAM_ZONE)!);
    expect(a).toMatchObject({ rcode: 0, srv: [] });
  });

  it("ignores garbage and responses", () => {
    expect(buildResponse(Buffer.from([1, 2, 3]), names, UPSTREAM_ZONE)).toBeUndefined();
    const response = query("x.upstreams.hop3.internal");
    response[2] = 0x81;
    expect(buildResponse(response, names, UPSTREAM_ZONE)).toBeUndefined();
  });

  it("accepts only well-formed records files", () => {
    expect(parseRecords(JSON.stringify({ names }))).toEqual(names);
    expect(parseRecords("{")).toBeUndefined();
    expect(parseRecords(JSON.stringify({ names: { a: [{ target: "x", port: 0 }] } }))).toBeUndefined();
    expect(
      parseRecords(JSON.stringify({ names: { a: [{ target: "bad name!", port: 80 }] } })),
    ).toBeUndefined();
    expect(parseRecords(JSON.stringify({ nope: 1 }))).toBeUndefined();
  });

  const dir = mkdtempSync(join(tmpdir(), "hop3-upstream-dns-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("follows atomic replacements of the records file and keeps the last good table", () => {
    const file = join(dir, "records.json");
    const current = recordsSource(file);
    expect(current()).toEqual({});
    writeFileSync(`${file}.tmp`, JSON.stringify({ names }));
    renameSync(`${file}.tmp`, file);
    expect(current()).toEqual(names);
    writeFileSync(`${file}.tmp`, "{ half a file");
    renameSync(`${file}.tmp`, file);
    expect(current()).toEqual(names);
    rmSync(file);
    expect(current()).toEqual(names);
  });

  it("answers over UDP, seeing a rewrite at the next query", async () => {
    const file = join(dir, "live.json");
    writeFileSync(file, JSON.stringify({ names }));
    const socket = await serve({ host: "127.0.0.1", port: 0, file, zone: UPSTREAM_ZONE });
    const { port } = socket.address();
    const ask = (name: string) =>
      new Promise<Buffer>((resolve, reject) => {
        const c = dgram.createSocket("udp4");
        const timer = setTimeout(() => reject(new Error("no answer")), 2000);
        c.once("message", (m) => {
          clearTimeout(timer);
          c.close();
          resolve(m);
        });
        c.send(query(name), port, "127.0.0.1");
      });
    try {
      expect(decode(await ask(upstreamName("blog"))).srv.map((s) => s.port)).toEqual([8001, 8002]);
      writeFileSync(
        `${file}.tmp`,
        JSON.stringify({ names: { [upstreamName("blog")]: [{ target: LOOPBACK_NAME, port: 9001 }] } }),
      );
      renameSync(`${file}.tmp`, file);
      expect(decode(await ask(upstreamName("blog"))).srv.map((s) => s.port)).toEqual([9001]);
    } finally {
      socket.close();
    }
  });
});

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
