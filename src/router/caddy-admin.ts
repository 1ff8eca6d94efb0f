import { request } from "node:http";

export interface AdminResponse {
  status: number;
  body: string;
}

/** One request to Caddy's admin API over its unix socket. Rejects on connection errors. */
export function caddyAdmin(
  socketPath: string,
  method: "GET" | "POST",
  path: string,
  body?: string,
  timeoutMs = 30_000,
): Promise<AdminResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        // Must be in the admin config's `origins` (see caddy-config.ts).
        headers: {
          host: "localhost",
          ...(body !== undefined
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
            : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** Whether the error means nobody is listening (router down), as opposed to a bad answer. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ECONNREFUSED" || code === "ECONNRESET" || code === "EPIPE";
}
