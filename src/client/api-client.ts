/**
 * The one HTTP client of the Hop3 API (docs/api.md), used by the CLI and the git push hook.
 * Speaks HTTP over the server's Unix socket or over TCP with a bearer token.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { isIPv4, isIPv6 } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { type ApiErrorBody, type ExitCodeName, Hop3Error } from "../util/errors.js";

export const DEFAULT_HOP3_ROOT = "/var/lib/hop3";
export const defaultSocketPath = (root = process.env.HOP3_ROOT ?? DEFAULT_HOP3_ROOT) =>
  join(root, "run", "hop3.sock");

export interface Endpoint {
  /** `unix:/path/to.sock` or `http(s)://host:port` */
  url: string;
  token?: string;
  /** PEM file of the certificate (or CA) to trust for an https URL, e.g. the server's self-signed one. */
  ca?: string;
  /** The user insists on plain http:// to a host that is not this machine (HOP3_INSECURE_HTTP=1). */
  insecureHttp?: boolean;
}

/** The setting that lets the CLI talk plain http:// to another host (named in the refusal). */
export const INSECURE_HTTP_ENV = "HOP3_INSECURE_HTTP";

/** Where the server is: HOP3_URL/HOP3_TOKEN, then ~/.config/hop3/config.json, then the default socket. */
export function resolveEndpoint(env: NodeJS.ProcessEnv = process.env): Endpoint {
  const ca = env.HOP3_CA_CERT ? { ca: env.HOP3_CA_CERT } : {};
  const insecure = /^(1|true|yes)$/i.test(env[INSECURE_HTTP_ENV] ?? "") ? { insecureHttp: true } : {};
  if (env.HOP3_URL) return { url: env.HOP3_URL, token: env.HOP3_TOKEN, ...ca, ...insecure };
  try {
    const file = join(env.HOME ?? homedir(), ".config", "hop3", "config.json");
    const cfg = JSON.parse(readFileSync(file, "utf8")) as Partial<Endpoint>;
    if (cfg.url) {
      return {
        url: cfg.url,
        token: env.HOP3_TOKEN ?? cfg.token,
        ...(cfg.ca ? { ca: cfg.ca } : {}),
        ...ca,
        ...(cfg.insecureHttp === true ? { insecureHttp: true } : {}),
        ...insecure,
      };
    }
  } catch {
    // no config file: fall through to the local socket
  }
  return { url: `unix:${defaultSocketPath(env.HOP3_ROOT)}`, token: env.HOP3_TOKEN };
}

/** True for names and addresses of this machine: traffic to them never crosses a network. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIPv4(host)) return host.startsWith("127.");
  if (isIPv6(host)) return host === "::1" || /^::ffff:127\./.test(host);
  return false;
}

/**
 * Plain http:// to another host carries the bearer token and every config value in clear over the network:
 * refused unless the user insists. Loopback and the Unix socket never leave the machine.
 */
export function checkTransport(endpoint: Endpoint): void {
  if (endpoint.url.startsWith("unix:") || endpoint.insecureHttp) return;
  const u = new URL(endpoint.url);
  if (u.protocol !== "http:" || isLoopbackHost(u.hostname)) return;
  throw new Hop3Error(
    `refusing to talk to ${u.host} over plain http://: the API token and config values would cross the network unencrypted (set ${INSECURE_HTTP_ENV}=1 to insist)`,
    "usage",
    "use https:// (HOP3_CA_CERT trusts the server's self-signed certificate)",
  );
}

/** Transport and options of a request to a TCP endpoint, trusting `endpoint.ca` for https. */
export function tcpRequestOptions(
  endpoint: Endpoint,
  path: string,
): { transport: typeof http | typeof https; options: https.RequestOptions } {
  checkTransport(endpoint);
  const u = new URL(path, endpoint.url);
  const options: https.RequestOptions = {
    hostname: u.hostname,
    port: u.port,
    path: `${u.pathname}${u.search}`,
  };
  if (u.protocol !== "https:") return { transport: http, options };
  if (endpoint.ca) {
    try {
      options.ca = readFileSync(endpoint.ca);
    } catch (err) {
      throw new Hop3Error(
        `cannot read the server certificate ${endpoint.ca}: ${(err as NodeJS.ErrnoException).code ?? err}`,
        "usage",
        "HOP3_CA_CERT (or `ca` in ~/.config/hop3/config.json) names the PEM file to trust",
      );
    }
  }
  return { transport: https, options };
}

/** A streamed event of a long operation (docs/api.md). */
export type ApiEvent =
  | { event: "step"; message: string }
  | { event: "log"; line: string }
  | { event: "timings"; steps: { step: string; ms: number; sub?: boolean }[]; totalMs: number }
  | { event: "done"; ok: true; result: Record<string, unknown> }
  | { event: "done"; ok: false; error: ApiErrorBody["error"] };

export interface RequestOptions {
  method?: string;
  query?: Record<string, string | string[] | undefined>;
  json?: unknown;
  body?: Readable | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

export class ApiClient {
  constructor(readonly endpoint: Endpoint = resolveEndpoint()) {}

  /** Sends a request and returns the raw response (status checked by the caller). */
  request(path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const { url, token } = this.endpoint;
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) qs.append(k, item);
    }
    const fullPath = `${path}${qs.size ? `?${qs}` : ""}`;
    const headers: Record<string, string> = { ...opts.headers };
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: Buffer | Readable | undefined = opts.body;
    if (opts.json !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.json));
      headers["content-type"] = "application/json";
    } else if (opts.contentType) {
      headers["content-type"] = opts.contentType;
    }
    if (Buffer.isBuffer(payload)) headers["content-length"] = String(payload.length);

    let reqOpts: http.RequestOptions;
    let transport: typeof http | typeof https = http;
    if (url.startsWith("unix:")) {
      reqOpts = { socketPath: url.slice("unix:".length), path: fullPath, host: "localhost" };
    } else {
      ({ transport, options: reqOpts } = tcpRequestOptions(this.endpoint, fullPath));
    }
    return new Promise((resolve, reject) => {
      const req = transport.request({ ...reqOpts, method: opts.method ?? "GET", headers }, resolve);
      req.on("error", (err: NodeJS.ErrnoException) => {
        reject(
          new Hop3Error(
            `cannot reach the Hop3 server at ${url}: ${err.code ?? err.message}`,
            "network",
            "is hop3-server running? (set HOP3_URL and HOP3_TOKEN to reach a remote server)",
          ),
        );
      });
      if (payload && !Buffer.isBuffer(payload)) {
        payload.on("error", (err) => req.destroy(err));
        payload.pipe(req);
      } else {
        req.end(payload);
      }
    });
  }

  /** JSON request/response; non-2xx answers become Hop3Errors with the server's kind and message. */
  async json<T = Record<string, unknown>>(path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(path, opts);
    const text = await readAll(res);
    if ((res.statusCode ?? 500) >= 400) throw errorFromResponse(res.statusCode ?? 500, text);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /**
   * Runs a long operation and yields its events. Throws a Hop3Error for an HTTP error before the stream,
   * and for a stream that ends without a `done` event.
   */
  async *stream(path: string, opts: RequestOptions = {}): AsyncGenerator<ApiEvent> {
    const res = await this.request(path, { method: "POST", ...opts });
    if ((res.statusCode ?? 500) >= 400) throw errorFromResponse(res.statusCode ?? 500, await readAll(res));
    let buffered = "";
    let done = false;
    try {
      for await (const chunk of res) {
        buffered += chunk.toString("utf8");
        let nl = buffered.indexOf("\n");
        while (nl >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) {
            const ev = JSON.parse(line) as ApiEvent;
            if (ev.event === "done") done = true;
            yield ev;
          }
          nl = buffered.indexOf("\n");
        }
      }
    } catch (err) {
      // the server went away mid-operation (restart, crash): a network failure, not a bug in hop
      if (err instanceof Hop3Error) throw err;
      throw new Hop3Error(
        `lost the connection to the server during the operation (${(err as Error).message})`,
        "network",
        "check `hop releases` and `hop ps` to see where it stopped",
      );
    }
    if (buffered.trim()) {
      const ev = JSON.parse(buffered) as ApiEvent;
      if (ev.event === "done") done = true;
      yield ev;
    }
    if (!done) throw new Hop3Error("the server closed the stream before the operation finished", "network");
  }
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString("utf8");
}

const kindByStatus: Record<number, ExitCodeName> = {
  400: "usage",
  401: "authentication",
  403: "authorization",
  404: "notFound",
  409: "conflict",
  413: "usage",
  422: "deployFailed",
};

function errorFromResponse(status: number, text: string): Hop3Error {
  try {
    const body = JSON.parse(text) as ApiErrorBody;
    if (body.error?.message) return new Hop3Error(body.error.message, body.error.kind, body.error.hint);
  } catch {
    // not JSON: fall through
  }
  return new Hop3Error(
    `server answered HTTP ${status}: ${text.slice(0, 200)}`,
    kindByStatus[status] ?? "network",
  );
}
