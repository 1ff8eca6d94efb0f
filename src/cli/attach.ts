/**
 * The client side of the `hop run` attach: an HTTP upgrade (`Connection: Upgrade`, `Upgrade: tcp`) on the
 * same endpoint and with the same token as every other request, answered with 101 and then raw bytes.
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import { type Endpoint, tcpRequestOptions } from "../client/api-client.js";
import { type ApiErrorBody, ExitCode, Hop3Error } from "../util/errors.js";

export function openUpgrade(endpoint: Endpoint, path: string): Promise<Duplex> {
  const headers: Record<string, string> = { Connection: "Upgrade", Upgrade: "tcp" };
  if (endpoint.token) headers.authorization = `Bearer ${endpoint.token}`;
  let req: http.ClientRequest;
  if (endpoint.url.startsWith("unix:")) {
    req = http.request({
      socketPath: endpoint.url.slice("unix:".length),
      path,
      method: "GET",
      headers,
      host: "localhost",
    });
  } else {
    const { transport, options } = tcpRequestOptions(endpoint, path);
    req = transport.request({ ...options, method: "GET", headers });
  }
  return new Promise((resolve, reject) => {
    req.on("upgrade", (_res, socket, head) => {
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        try {
          const body = JSON.parse(text) as ApiErrorBody;
          if (body.error?.message) {
            const kind = body.error.kind in ExitCode ? body.error.kind : "error";
            reject(new Hop3Error(body.error.message, kind, body.error.hint));
            return;
          }
        } catch {
          // not JSON
        }
        reject(new Hop3Error(`the server refused to attach (HTTP ${res.statusCode})`, "network"));
      });
    });
    req.on("error", (err: NodeJS.ErrnoException) =>
      reject(
        new Hop3Error(
          `cannot reach the Hop3 server at ${endpoint.url}: ${err.code ?? err.message}`,
          "network",
        ),
      ),
    );
    req.end();
  });
}
