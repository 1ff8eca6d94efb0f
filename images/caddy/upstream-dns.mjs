// Hop3's upstream DNS responder, run inside the router container next to Caddy (see entrypoint.sh).
//
// Caddy 2.6 reloads its whole configuration for any change, and a reload resets a few client connections.
// So, with HOP3_ROUTER_UPSTREAMS=dns, an app's upstreams are not in Caddy's configuration: Caddy asks this
// responder for SRV records every second, and a deploy only rewrites the records file. Living in the
// router's container, the responder is up exactly when Caddy is, whatever happens to hop3-server.
//
// Plain JavaScript with no dependencies: it runs on Debian's Node (18) inside the image. The host writes
// the records file atomically (rename); it is re-read when its identity changes, checked on each query.
//
// Records file: { "names": { "<fqdn without trailing dot>": [{ "target": "<name>", "port": <n> }] } }
import dgram from "node:dgram";
import { readFileSync, statSync } from "node:fs";
import { pathToFileURL } from "node:url";

const TYPE_SRV = 33;
const CLASS_IN = 1;
const RCODE_NXDOMAIN = 3;
const RCODE_REFUSED = 5;

/** The question of a DNS query, or undefined if it is not a well-formed single-question query. */
export function parseQuery(msg) {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) return undefined; // a response, not a query
  if (msg.readUInt16BE(4) !== 1) return undefined;
  let off = 12;
  const labels = [];
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off];
    if (len === 0) {
      off += 1;
      break;
    }
    if (len > 63 || off + 1 + len > msg.length) return undefined; // no compression in questions
    labels.push(msg.subarray(off + 1, off + 1 + len).toString("latin1").toLowerCase());
    off += 1 + len;
  }
  if (off + 4 > msg.length) return undefined;
  return {
    id: msg.readUInt16BE(0),
    rd: (flags & 0x0100) !== 0,
    name: labels.join("."),
    qtype: msg.readUInt16BE(off),
    qclass: msg.readUInt16BE(off + 2),
    end: off + 4,
  };
}

function encodeName(name) {
  const parts = name.replace(/\.$/, "").split(".").filter(Boolean);
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, "latin1")])),
    Buffer.from([0]),
  ]);
}

/**
 * The answer to a query: SRV records for a known name (an empty NOERROR for other types), NXDOMAIN for
 * other names in the zone, REFUSED outside it.
 */
export function buildResponse(query, names, zone) {
  const q = parseQuery(query);
  if (!q) return undefined;
  const targets = Object.hasOwn(names, q.name) ? names[q.name] : undefined;
  let rcode = 0;
  const answers = [];
  if (targets === undefined) {
    const inZone = q.name === zone || q.name.endsWith(`.${zone}`);
    rcode = !inZone ? RCODE_REFUSED : q.name === zone ? 0 : RCODE_NXDOMAIN;
  } else if (q.qtype === TYPE_SRV && q.qclass === CLASS_IN) {
    for (const t of targets) {
      const target = encodeName(t.target);
      const rr = Buffer.alloc(18);
      rr.writeUInt16BE(0xc00c, 0); // the question's name
      rr.writeUInt16BE(TYPE_SRV, 2);
      rr.writeUInt16BE(CLASS_IN, 4);
      rr.writeUInt32BE(1, 6); // TTL: Caddy refreshes on its own schedule anyway
      rr.writeUInt16BE(6 + target.length, 10);
      rr.writeUInt16BE(10, 12); // priority
      rr.writeUInt16BE(10, 14); // weight
      rr.writeUInt16BE(t.port, 16);
      answers.push(Buffer.concat([rr, target]));
    }
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  header.writeUInt16BE(0x8000 | 0x0400 | (q.rd ? 0x0100 : 0) | rcode, 2); // QR, AA, RD copied
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, query.subarray(12, q.end), ...answers]);
}

/** Validated records, or undefined: a bad file must never replace a good table. */
export function parseRecords(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const names = data?.names;
  if (!names || typeof names !== "object" || Array.isArray(names)) return undefined;
  const out = {};
  for (const [name, targets] of Object.entries(names)) {
    if (!Array.isArray(targets)) return undefined;
    for (const t of targets) {
      if (typeof t?.target !== "string" || !/^[a-z0-9.-]{1,253}$/.test(t.target)) return undefined;
      if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) return undefined;
    }
    out[name.toLowerCase()] = targets.map((t) => ({ target: t.target, port: t.port }));
  }
  return out;
}

/** Keeps the table in step with the records file; the last good table survives a missing or bad file. */
export function recordsSource(file, log = () => {}) {
  let identity = "";
  let names = {};
  return () => {
    let id;
    try {
      const s = statSync(file);
      id = `${s.ino}:${s.mtimeMs}:${s.size}`;
    } catch {
      return names;
    }
    if (id === identity) return names;
    try {
      const parsed = parseRecords(readFileSync(file, "utf8"));
      if (parsed) names = parsed;
      else log(`ignoring malformed ${file}`);
    } catch (err) {
      log(`cannot read ${file}: ${err.message}`);
      return names;
    }
    identity = id;
    return names;
  };
}

export function serve({ host, port, file, zone, log = () => {} }) {
  const current = recordsSource(file, log);
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    try {
      const res = buildResponse(msg, current(), zone);
      if (res) socket.send(res, rinfo.port, rinfo.address);
    } catch (err) {
      log(`query failed: ${err.message}`);
    }
  });
  socket.on("error", (err) => log(`socket error: ${err.message}`));
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, host, () => {
      socket.off("error", reject);
      resolve(socket);
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [listen, file, zone] = process.argv.slice(2);
  const m = /^(.+):(\d+)$/.exec(listen ?? "");
  if (!m || !file || !zone) {
    console.error("usage: upstream-dns.mjs <host:port> <records.json> <zone>");
    process.exit(2);
  }
  const log = (line) => console.error(`hop3-upstream-dns: ${line}`);
  serve({ host: m[1], port: Number(m[2]), file, zone, log }).then(
    () => log(`answering for ${zone} on ${listen} from ${file}`),
    (err) => {
      log(`cannot listen on ${listen}: ${err.message}`);
      process.exit(1);
    },
  );
}
