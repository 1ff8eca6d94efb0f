/**
 * The operator's build CA (HOP3_BUILD_CA_FILE, default the host's bundle) as builds get it: certificates only.
 * Every build sees this file (a Containerfile RUN step that asks for the `hop3-ca` secret, every buildpack
 * build step), and builds run the code of whoever pushed. A PEM file may hold a private key beside the
 * certificate (mitmproxy's `mitmproxy-ca.pem`, a HAProxy or Caddy combined `.pem`, an API key chosen by
 * mistake): handing it over as is would give any build the key of the proxy every build trusts. So the file is
 * read on the host at each build, each CERTIFICATE block is parsed as an X.509 certificate and re-encoded from
 * its DER, and nothing else is passed on: keys, other PEM blocks and text between blocks are dropped, and the
 * build log says what was left out (never its content).
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { Hop3Error } from "../util/errors.js";

export interface SanitisedCa {
  /** The certificates, PEM, re-encoded from their DER. */
  pem: string;
  certificates: number;
  /** What was left out: PEM labels ("PRIVATE KEY") and certificate blocks that do not parse, by position. */
  dropped: string[];
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Pure: the certificates of a PEM text, and the labels of what is left out. */
export function certificatesOnly(text: string): SanitisedCa {
  const out: string[] = [];
  const dropped: string[] = [];
  let index = 0;
  for (const m of text.matchAll(BLOCK)) {
    index++;
    const label = m[1]!;
    if (label !== "CERTIFICATE") {
      dropped.push(label);
      continue;
    }
    try {
      const der = Buffer.from(m[2]!.replace(/[^A-Za-z0-9+/=]/g, ""), "base64");
      // the DER must parse as a certificate; toString() is its PEM, made from the parsed DER alone
      out.push(new X509Certificate(der).toString().trim());
    } catch {
      dropped.push(`CERTIFICATE #${index} (not a valid certificate)`);
    }
  }
  return { pem: out.length ? `${out.join("\n")}\n` : "", certificates: out.length, dropped };
}

/** Human summary of what was left out, for the build log: labels only, counted. */
export function droppedSummary(dropped: string[]): string {
  const counts = new Map<string, number>();
  for (const d of dropped) counts.set(d, (counts.get(d) ?? 0) + 1);
  return [...counts].map(([label, n]) => (n > 1 ? `${n} x ${label}` : label)).join(", ");
}

/** Reads HOP3_BUILD_CA_FILE now (a bundle replaced since the server started is the new one), certificates only. */
export function readBuildCa(path: string, warn: (msg: string) => void): Buffer {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Hop3Error(
      `cannot read the build CA bundle ${path}: ${(err as Error).message}`,
      "deployFailed",
      "fix HOP3_BUILD_CA_FILE in /etc/hop3/hop3.env (or set it to none), then restart the server",
    );
  }
  const ca = certificatesOnly(text);
  if (ca.certificates === 0) {
    throw new Hop3Error(
      `the build CA bundle ${path} holds no PEM certificate${ca.dropped.length ? ` (only ${droppedSummary(ca.dropped)})` : ""}`,
      "deployFailed",
      "point HOP3_BUILD_CA_FILE at the CA's certificate (PEM), or set it to none",
    );
  }
  if (ca.dropped.length) {
    warn(
      `warning: the build CA bundle ${path} holds more than certificates: builds get its ${ca.certificates} certificate(s) only, not ${droppedSummary(ca.dropped)}`,
    );
  }
  return Buffer.from(ca.pem);
}
