/**
 * Health checks a new release must pass before it gets traffic: the web process answers HTTP on its port
 * (any status), and when the app asks for it, a given path answers 2xx/3xx with the expected content.
 */
import http from "node:http";
import net from "node:net";

export interface HealthSpec {
  path?: string;
  contains?: string;
  /** Total time allowed for the instance to become healthy, in seconds. */
  timeout: number;
  /** Seconds between attempts. */
  interval: number;
  /** Consecutive successes needed with an HTTP check. */
  retries?: number;
  hostHeader?: string;
}

export type HealthResult = { ok: true; attempts: number } | { ok: false; reason: string; attempts: number };

/** Where a check connects: a loopback port (published) or a Unix socket (the app gateway's, per instance). */
export type HealthTarget = { port: number } | { socketPath: string };

/** A bare number is a loopback port (what callers without the gateway pass). */
const targetOf = (t: number | HealthTarget): HealthTarget => (typeof t === "number" ? { port: t } : t);

const connectOptions = (t: HealthTarget): net.NetConnectOpts =>
  "socketPath" in t ? { path: t.socketPath } : { host: "127.0.0.1", port: t.port };

export function tcpOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return canConnect({ host, port }, timeoutMs);
}

function canConnect(opts: net.NetConnectOpts, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(opts);
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once("connect", () => done(true));
    sock.once("error", () => done(false));
  });
}

export function httpGet(
  target: number | HealthTarget,
  path: string,
  hostHeader: string | undefined,
  timeoutMs = 5000,
): Promise<{ status: number; body: string }> {
  const t = targetOf(target);
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        ...("socketPath" in t ? { socketPath: t.socketPath } : { host: "127.0.0.1", port: t.port }),
        path,
        headers: hostHeader ? { host: hostHeader } : {},
        timeout: timeoutMs,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          if (body.length < 1_000_000) body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/** How often a fast poll also asks whether the process still runs (a crash fails the check within this). */
export const RUNNING_CHECK_MS = 250;

/**
 * Seconds between attempts when the app does not say: the first answer must reach the router within ~50 ms
 * of the process listening (issue 12: within 100 ms), and an attempt is one local connection.
 */
export const DEFAULT_HEALTH_INTERVAL = 0.05;

/**
 * Polls until healthy or out of time. `stillRunning` lets a crashed container fail the check at once
 * instead of waiting for the timeout.
 */
export async function waitHealthy(
  target: number | HealthTarget,
  spec: HealthSpec,
  stillRunning: () => Promise<boolean>,
): Promise<HealthResult> {
  const deadline = Date.now() + spec.timeout * 1000;
  let attempts = 0;
  let lastReason = "the port never accepted a connection";
  let successes = 0;
  let runningCheckedAt = 0;
  const to = targetOf(target);
  while (Date.now() < deadline) {
    attempts++;
    // asking Podman costs more than a connection attempt: at most every RUNNING_CHECK_MS when polling fast
    if (Date.now() - runningCheckedAt >= RUNNING_CHECK_MS) {
      if (!(await stillRunning())) return { ok: false, reason: "the process exited", attempts };
      runningCheckedAt = Date.now();
    }
    if (await canConnect(connectOptions(to), 1000)) {
      if (!spec.path) {
        // Rootless port forwarding (and the gateway's socket) accepts connections even when nothing listens
        // inside the container, so an open port proves nothing: the process must answer HTTP (any status).
        try {
          const left = Math.min(5000, Math.max(100, deadline - Date.now()));
          await httpGet(to, "/", spec.hostHeader, left);
          return { ok: true, attempts };
        } catch (err) {
          lastReason = `nothing answered HTTP on the port (${(err as Error).message})`;
        }
        await new Promise((r) => setTimeout(r, spec.interval * 1000));
        continue;
      }
      try {
        // a hung app must not stretch the check past its deadline
        const left = Math.min(5000, Math.max(100, deadline - Date.now()));
        const res = await httpGet(to, spec.path, spec.hostHeader, left);
        if (res.status >= 200 && res.status < 400 && (!spec.contains || res.body.includes(spec.contains))) {
          successes++;
          if (successes >= (spec.retries ?? 1)) return { ok: true, attempts };
        } else {
          successes = 0;
          lastReason =
            res.status >= 400 || res.status < 200
              ? `GET ${spec.path} answered HTTP ${res.status}`
              : `GET ${spec.path} did not contain ${JSON.stringify(spec.contains)}`;
        }
      } catch (err) {
        successes = 0;
        lastReason = `GET ${spec.path} failed: ${(err as Error).message}`;
      }
    }
    await new Promise((r) => setTimeout(r, spec.interval * 1000));
  }
  return { ok: false, reason: `${lastReason} (after ${spec.timeout}s)`, attempts };
}
