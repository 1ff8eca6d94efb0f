/**
 * A tiny authoritative DNS responder for the router's dynamic upstreams. Caddy 2.6 reloads its whole
 * configuration for any change, and a reload resets a few client connections (measured: about one per
 * reload under load). So the upstreams of each app are not in Caddy's configuration: Caddy asks this
 * responder for the SRV records of `<app>.upstreams.hop3.internal` every second, and a deploy only changes
 * the answer. Caddy keeps its cached answer for a grace period while this server restarts.
 *
 * It answers SRV (and nothing else) for names it knows, NXDOMAIN for others, over UDP on loopback.
 */
import dgram from "node:dgram";

export const UPSTREAM_ZONE = "upstreams.hop3.internal";
export const upstreamName = (app: string) => `${app}.${UPSTREAM_ZONE}`;

export interface SrvTarget {
  host: string;
  port: number;
}

const TYPE_SRV = 33;
const CLASS_IN = 1;

/** Parses the question of a DNS query: id, flags' RD bit, name, type, class, and where the question ends. */
export function parseQuery(msg: Buffer): { id: number; rd: boolean; name: string; qtype: number; qclass: number; end: number } | undefined {
  if (msg.length < 12) return undefined;
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) return undefined; // a response, not a query
  if (msg.readUInt16BE(4) !== 1) return undefined; // exactly one question
  let off = 12;
  const labels: string[] = [];
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off]!;
    if (len === 0) {
      off += 1;
      break;
    }
    if (len > 63 || off + 1 + len > msg.length) return undefined; // no compression in questions
    labels.push(msg.subarray(off + 1, off + 1 + len).toString("ascii").toLowerCase());
    off += 1 + len;
  }
  if (off + 4 > msg.length) return undefined;
  return {
    id,
    rd: (flags & 0x0100) !== 0,
    name: labels.join("."),
    qtype: msg.readUInt16BE(off),
    qclass: msg.readUInt16BE(off + 2),
    end: off + 4,
  };
}

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, "").split(".").filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, "ascii")])), Buffer.from([0])]);
}

/** Builds the answer to a query: SRV records for a known name, an empty NOERROR for other types, NXDOMAIN else. */
export function buildResponse(query: Buffer, table: ReadonlyMap<string, readonly SrvTarget[]>): Buffer | undefined {
  const q = parseQuery(query);
  if (!q) return undefined;
  const targets = table.get(q.name);
  const known = targets !== undefined || q.name === UPSTREAM_ZONE || q.name.endsWith(`.${UPSTREAM_ZONE}`);
  const answers: Buffer[] = [];
  let rcode = 0;
  if (targets === undefined) {
    rcode = known && q.name !== UPSTREAM_ZONE ? 3 : known ? 0 : 5; // NXDOMAIN in our zone, REFUSED outside it
  } else if (q.qtype === TYPE_SRV && q.qclass === CLASS_IN) {
    for (const t of targets) {
      const target = encodeName(t.host);
      const rdata = Buffer.alloc(6);
      rdata.writeUInt16BE(10, 0); // priority
      rdata.writeUInt16BE(10, 2); // weight
      rdata.writeUInt16BE(t.port, 4);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
      rr.writeUInt16BE(TYPE_SRV, 2);
      rr.writeUInt16BE(CLASS_IN, 4);
      rr.writeUInt32BE(1, 6); // TTL 1 s: Caddy refreshes on its own schedule anyway
      rr.writeUInt16BE(rdata.length + target.length, 10);
      answers.push(rr, rdata, target);
    }
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  // QR=1, AA=1, RD copied, RA=0, rcode
  header.writeUInt16BE(0x8000 | 0x0400 | (q.rd ? 0x0100 : 0) | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(targets && q.qtype === TYPE_SRV ? targets.length : 0, 6);
  return Buffer.concat([header, query.subarray(12, q.end), ...answers]);
}

export class UpstreamDns {
  private readonly table = new Map<string, SrvTarget[]>();
  private socket?: dgram.Socket;

  constructor(
    readonly port: number,
    readonly host = "127.0.0.1",
  ) {}

  async start(): Promise<void> {
    if (this.socket) return;
    const socket = dgram.createSocket("udp4");
    socket.on("message", (msg, rinfo) => {
      const res = buildResponse(msg, this.table);
      if (res) socket.send(res, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(this.port, this.host, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    socket.unref();
    this.socket = socket;
  }

  /** Replaces every app's upstreams at once. */
  set(upstreams: ReadonlyMap<string, SrvTarget[]>): void {
    this.table.clear();
    for (const [app, targets] of upstreams) this.table.set(upstreamName(app), targets);
  }

  get(app: string): SrvTarget[] | undefined {
    return this.table.get(upstreamName(app));
  }

  stop(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}
