/**
 * Health checks from what migrating users already have: Dokku's `CHECKS` file and app.json `healthchecks`
 * (Dokku, Heroku-style). Both become the same checks hop3.toml's [healthcheck] gives; hop3.toml wins.
 *
 * CHECKS (Dokku): comments, `WAIT=s` (before the first attempt), `TIMEOUT=s` (per attempt), `ATTEMPTS=n`,
 * then one check per line: `/path [expected content]`.
 * app.json: `{ "healthchecks": { "web": [ { "type": "startup", "path": "/", "content": "ok", "attempts": 3,
 * "timeout": 5, "wait": 2, "initialDelay": 0 } ] } }`; `command` checks are not supported.
 */
import { Hop3Error } from "../util/errors.js";

export interface HttpCheck {
  path: string;
  contains?: string;
}

export interface ImportedChecks {
  checks: HttpCheck[];
  /** Seconds before the first attempt. */
  wait?: number;
  /** Seconds for the whole check to pass. */
  timeout?: number;
  attempts?: number;
  warnings: string[];
}

const num = (value: string, what: string, where: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 3600) {
    throw new Hop3Error(
      `${where}: ${what} must be a number of seconds (0-3600), got ${JSON.stringify(value)}`,
      "usage",
    );
  }
  return n;
};

export function parseChecksFile(text: string, file = "CHECKS"): ImportedChecks {
  const out: ImportedChecks = { checks: [], warnings: [] };
  let timeoutPerAttempt: number | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const where = `${file}:${i + 1}`;
    if (!line || line.startsWith("#")) return;
    const setting = /^([A-Z_]+)=(.*)$/.exec(line);
    if (setting) {
      const [, key, value] = setting;
      if (key === "WAIT") out.wait = num(value!, "WAIT", where);
      else if (key === "TIMEOUT") timeoutPerAttempt = num(value!, "TIMEOUT", where);
      else if (key === "ATTEMPTS") out.attempts = Math.max(1, Math.round(num(value!, "ATTEMPTS", where)));
      else out.warnings.push(`${where}: ${key} is not supported; ignored`);
      return;
    }
    const m = /^(\S+)(?:\s+(.*))?$/.exec(line)!;
    let path = m[1]!;
    // Dokku also accepts `//host/path` and full URLs: only the path matters here
    const url = /^(?:https?:)?\/\/[^/]+(\/.*)?$/.exec(path);
    if (url) path = url[1] ?? "/";
    if (!path.startsWith("/"))
      throw new Hop3Error(`${where}: a check must start with a path like /health`, "usage");
    out.checks.push({ path, ...(m[2]?.trim() ? { contains: m[2].trim() } : {}) });
  });
  if (timeoutPerAttempt !== undefined) {
    out.timeout = (out.wait ?? 0) + timeoutPerAttempt * (out.attempts ?? 5);
  }
  return out;
}

interface AppJsonCheck {
  type?: string;
  path?: string;
  command?: unknown;
  content?: string;
  attempts?: number;
  timeout?: number;
  wait?: number;
  initialDelay?: number;
}

export function parseAppJsonChecks(text: string, file = "app.json"): ImportedChecks | undefined {
  let doc: { healthchecks?: Record<string, AppJsonCheck[]> };
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Hop3Error(`${file} is not valid JSON: ${(err as Error).message}`, "usage");
  }
  const web = doc?.healthchecks?.web;
  if (!Array.isArray(web) || web.length === 0) return undefined;
  const out: ImportedChecks = { checks: [], warnings: [] };
  web.forEach((c, i) => {
    const where = `${file} healthchecks.web[${i}]`;
    if (c.type && !["startup", "readiness", "liveness"].includes(c.type)) {
      throw new Hop3Error(`${where}: unknown type ${JSON.stringify(c.type)}`, "usage");
    }
    if (c.command !== undefined) {
      out.warnings.push(`${where}: command checks are not supported; ignored`);
      return;
    }
    if (c.type === "liveness") {
      out.warnings.push(`${where}: liveness checks are not supported yet; ignored`);
      return;
    }
    if (typeof c.path !== "string" || !c.path.startsWith("/")) {
      throw new Hop3Error(`${where}: path must start with /`, "usage");
    }
    out.checks.push({ path: c.path, ...(c.content ? { contains: c.content } : {}) });
    if (c.attempts !== undefined) out.attempts = Math.max(out.attempts ?? 1, c.attempts);
    const wait = (c.initialDelay ?? 0) + (c.wait ?? 0);
    if (wait) out.wait = Math.max(out.wait ?? 0, wait);
    if (c.timeout !== undefined)
      out.timeout = Math.max(out.timeout ?? 0, c.timeout * (c.attempts ?? 1) + wait);
  });
  return out.checks.length ? out : { ...out, checks: [] };
}
