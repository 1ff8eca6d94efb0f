/**
 * The API over TCP (HOP3_LISTEN): HTTPS with the operator's certificate, or plain HTTP on loopback only.
 * Bearer tokens must never cross a network in clear, so a non-loopback address without TLS is refused.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";
import { Hop3Error, usageError } from "../util/errors.js";

export interface TcpListenPlan {
  host: string;
  port: number;
  scheme: "http" | "https";
}

const isLoopback = (host: string) => /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::1";

/** Pure: where and how to listen, or why not. */
export function planTcpListener(listen: string, tls: { cert?: string; key?: string }): TcpListenPlan {
  const i = listen.lastIndexOf(":");
  const host = listen.slice(0, i).replace(/^\[|\]$/g, "");
  const port = Number(listen.slice(i + 1));
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw usageError(`HOP3_LISTEN=${JSON.stringify(listen)} is not HOST:PORT`);
  }
  if (!!tls.cert !== !!tls.key) {
    throw usageError("HOP3_API_TLS_CERT and HOP3_API_TLS_KEY go together: set both or neither");
  }
  if (!tls.cert && !isLoopback(host)) {
    throw usageError(
      `HOP3_LISTEN=${listen} would send bearer tokens in clear over the network`,
      "set HOP3_API_TLS_CERT and HOP3_API_TLS_KEY (install.sh makes a self-signed pair when HOP3_LISTEN is not on loopback), or listen on 127.0.0.1",
    );
  }
  return { host, port, scheme: tls.cert ? "https" : "http" };
}

/** Starts the listener; resolves once it accepts connections. */
export async function startTcpListener(
  plan: TcpListenPlan,
  handler: http.RequestListener,
  onUpgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void,
  tls: { cert?: string; key?: string },
): Promise<http.Server> {
  let server: http.Server;
  if (plan.scheme === "https") {
    let options: https.ServerOptions;
    try {
      options = { cert: readFileSync(tls.cert!), key: readFileSync(tls.key!) };
    } catch (err) {
      throw new Hop3Error(`cannot read the API's TLS certificate or key: ${(err as Error).message}`, "usage");
    }
    server = https.createServer(options, handler);
  } else {
    server = http.createServer(handler);
  }
  server.on("upgrade", onUpgrade);
  await new Promise<void>((resolve, reject) =>
    server.once("error", reject).listen(plan.port, plan.host, resolve),
  );
  return server;
}
