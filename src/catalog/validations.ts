/**
 * A recipe's `[test]` validations, run after an install or upgrade through the real router (the way users reach
 * the app): GET each path on the app's hostname, compare the status and look for the text. Retried until all
 * pass or the time is up: a fresh app (a database being initialised) may answer 502 for a while.
 */
import http from "node:http";
import https from "node:https";

export interface Validation {
  path: string;
  status?: number;
  contains?: string;
}

export interface RouterTarget {
  host: string;
  httpPort: number;
  httpsPort: number;
}

/** Why an answer fails a validation, or undefined when it passes. Pure. */
export function judge(v: Validation, status: number, body: string): string | undefined {
  const want = v.status ?? 200;
  if (status !== want) return `GET ${v.path}: HTTP ${status}, expected ${want}`;
  if (v.contains !== undefined && !body.includes(v.contains))
    return `GET ${v.path}: HTTP ${status} but the page does not contain ${JSON.stringify(v.contains)}`;
  return undefined;
}

const MAX_BODY = 2 * 1024 * 1024;

/**
 * One GET through the router, on 127.0.0.1 with the app's Host. A redirect of the router to HTTPS (a public
 * hostname under HOP3_TLS=auto) is followed on the HTTPS port with the same name; the certificate is not
 * what a validation judges (a fresh ACME certificate may not be there yet), the app is.
 */
export function getThroughRouter(
  target: RouterTarget,
  path: string,
  timeoutMs = 10_000,
): Promise<{ status: number; body: string }> {
  const once = (secure: boolean) =>
    new Promise<{ status: number; body: string; location?: string }>((resolve, reject) => {
      const opts = {
        host: "127.0.0.1",
        port: secure ? target.httpsPort : target.httpPort,
        path,
        headers: { host: target.host, "user-agent": "hop3-catalog-validation" },
        timeout: timeoutMs,
        ...(secure ? { servername: target.host, rejectUnauthorized: false } : {}),
      };
      const req = (secure ? https : http).get(opts, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size <= MAX_BODY) chunks.push(c);
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            ...(res.headers.location ? { location: res.headers.location } : {}),
          }),
        );
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
      req.on("error", reject);
    });
  return once(false).then(async (r) => {
    const toHttps = r.status >= 300 && r.status < 400 && r.location?.startsWith(`https://${target.host}`);
    return toHttps ? once(true) : r;
  });
}

/** Runs every validation until all pass (resolves) or `timeoutMs` is over (rejects with each failure). */
export async function runValidations(
  checks: readonly Validation[],
  target: RouterTarget,
  opts: { timeoutMs: number; intervalMs?: number; log?: (line: string) => void; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let problems: string[] = [];
  for (let attempt = 1; ; attempt++) {
    problems = [];
    for (const v of checks) {
      try {
        const r = await getThroughRouter(target, v.path);
        const problem = judge(v, r.status, r.body);
        if (problem) problems.push(problem);
      } catch (err) {
        problems.push(`GET ${v.path}: ${(err as Error).message}`);
      }
    }
    if (problems.length === 0) {
      opts.log?.(`All ${checks.length} validation(s) passed (attempt ${attempt})`);
      return;
    }
    if (Date.now() >= deadline || opts.signal?.aborted) break;
    if (attempt === 1 || attempt % 5 === 0) opts.log?.(`Not yet: ${problems.join("; ")}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 2000));
  }
  throw new Error(`validations failed after ${Math.round(opts.timeoutMs / 1000)} s: ${problems.join("; ")}`);
}
