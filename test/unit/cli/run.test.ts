/**
 * The CLI end to end against a tiny fake HTTP server: NDJSON rendering, --json, and error-to-exit-code mapping.
 * (Real-server behaviour is covered by the integration tests.)
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type PassThrough, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import tarStream from "tar-stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/run.js";
import { fakeIo } from "./fake-io.js";
import { useTempDirs } from "./temp-dir.js";

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

type Handler = (req: Seen, res: ServerResponse) => void;

let server: Server;
let url: string;
let handler: Handler;
let seen: Seen[];
const tempDir = useTempDirs();

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? "/", "http://x");
    const s: Seen = {
      method: req.method ?? "",
      path: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks),
    };
    seen.push(s);
    handler(s, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen = [];
  handler = (_req, res) => {
    res.writeHead(500).end("no handler");
  };
});

function ndjson(res: ServerResponse, events: unknown[]) {
  res.writeHead(200, { "content-type": "application/x-ndjson" });
  res.end(events.map((e) => `${JSON.stringify(e)}\n`).join(""));
}

function jsonAnswer(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

async function hop(argv: string[], opts: { cwd?: string; tty?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const io = fakeIo({ env: { HOP3_URL: url, ...opts.env }, cwd: opts.cwd ?? tempDir(), tty: opts.tty });
  const code = await run(argv, io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText(), io };
}

async function tarNames(gz: Buffer): Promise<string[]> {
  const extract = tarStream.extract();
  Readable.from([gz]).pipe(createGunzip()).pipe(extract);
  const names: string[] = [];
  for await (const entry of extract) {
    names.push(entry.header.name);
    entry.resume();
  }
  return names.sort();
}

function appDir(): string {
  const dir = tempDir();
  mkdirSync(join(dir, ".git"));
  writeFileSync(join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
  writeFileSync(join(dir, ".gitignore"), "*.log\n");
  writeFileSync(join(dir, "server.js"), "console.log('hi')\n");
  writeFileSync(join(dir, "debug.log"), "noise\n");
  writeFileSync(join(dir, "Containerfile"), "FROM node:20\n");
  return dir;
}

describe("hop deploy", () => {
  it("uploads the packed tree and renders the event stream", async () => {
    handler = (_req, res) =>
      ndjson(res, [
        { event: "step", message: "Building image" },
        { event: "log", line: "STEP 1/2: FROM node:20" },
        { event: "done", ok: true, result: { app: "web", release: 3, url: "https://web.example.com" } },
      ]);
    const dir = appDir();
    const r = await hop(["deploy", dir, "--app", "web", "--env", "A=1=2"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      expect.stringMatching(/^-----> Uploading 3 files \(0\.00 MiB\)$/),
      "-----> Building image",
      "       STEP 1/2: FROM node:20",
      "=====> web deployed: https://web.example.com",
      "",
    ]);
    const req = seen[0]!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/api/v1/apps/web/deploy");
    expect(req.query.get("create")).toBe("1");
    expect(req.query.getAll("env")).toEqual(["A=1=2"]);
    expect(req.headers["content-type"]).toBe("application/gzip");
    expect(await tarNames(req.body)).toEqual([".gitignore", "Containerfile", "server.js"]);
  });

  it("finds the app from DIR and exits 8 on a failed deploy, message on stderr", async () => {
    handler = (_req, res) =>
      ndjson(res, [
        { event: "step", message: "Building image" },
        {
          event: "done",
          ok: false,
          error: { kind: "deployFailed", message: "build failed", hint: "see above" },
        },
      ]);
    const dir = appDir();
    writeFileSync(join(dir, ".hop3-app"), "from-dir\n");
    const r = await hop(["deploy", dir]);
    expect(r.code).toBe(8);
    expect(seen[0]!.path).toBe("/api/v1/apps/from-dir/deploy");
    expect(r.stderr).toBe("!      build failed\n!      see above\n");
    expect(r.stdout).not.toContain("=====>");
  });

  it("prints only the result object with --json", async () => {
    const result = { app: "web", release: 3, url: "https://web.example.com" };
    handler = (_req, res) =>
      ndjson(res, [
        { event: "step", message: "x" },
        { event: "done", ok: true, result },
      ]);
    const r = await hop(["--json", "deploy", appDir(), "-a", "web"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(result);
  });

  it("deploys an image reference without a body, and an archive file as x-tar", async () => {
    handler = (_req, res) => ndjson(res, [{ event: "done", ok: true, result: { app: "web", url: "u" } }]);
    expect((await hop(["deploy", "--image", "nginx:1.27", "-a", "web"])).code).toBe(0);
    expect(seen[0]!.query.get("image")).toBe("nginx:1.27");
    expect(seen[0]!.body.length).toBe(0);

    const cwd = tempDir();
    writeFileSync(join(cwd, "img.tar"), "fake archive bytes");
    expect((await hop(["deploy", "--image", "img.tar", "-a", "web"], { cwd })).code).toBe(0);
    expect(seen[1]!.query.get("image-archive")).toBe("1");
    expect(seen[1]!.headers["content-type"]).toBe("application/x-tar");
    expect(seen[1]!.body.toString()).toBe("fake archive bytes");
  });

  it("refuses a missing directory and a missing app as usage errors, before any request", async () => {
    const missing = await hop(["deploy", "/nonexistent/dir", "-a", "web"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("Error: no such directory: /nonexistent/dir");
    const noApp = await hop(["deploy", appDir()]);
    expect(noApp.code).toBe(2);
    expect(noApp.stderr).toContain("Error: no app given");
    expect(noApp.stderr).toContain("Hint: name one with --app NAME");
    expect(seen).toEqual([]);
  });

  it("treats a stream that ends without done as a server failure (7)", async () => {
    handler = (_req, res) => ndjson(res, [{ event: "step", message: "Building image" }]);
    const r = await hop(["deploy", appDir(), "-a", "web"]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain("closed the stream");
  });
});

describe("config", () => {
  it("shows an aligned, sorted table and the object with --json", async () => {
    handler = (_req, res) => jsonAnswer(res, 200, { config: { ZED: "1", A: "x=y" } });
    const r = await hop(["config", "-a", "web"]);
    expect(r.stdout).toBe("=== web config vars\nA:   x=y\nZED: 1\n");
    const j = await hop(["env", "show", "-a", "web", "--json"]);
    expect(JSON.parse(j.stdout)).toEqual({ ZED: "1", A: "x=y" });
  });

  it("config:get prints only the value", async () => {
    handler = (_req, res) => jsonAnswer(res, 200, { key: "DATABASE_URL", value: "postgres://h/db" });
    const r = await hop(["config:get", "DATABASE_URL"], { env: { HOP3_APP: "web" } });
    expect(r.stdout).toBe("postgres://h/db\n");
    expect(seen[0]!.path).toBe("/api/v1/apps/web/config/DATABASE_URL");
  });

  it("maps a 404 to exit 3 with a plain message, or a JSON error with --json", async () => {
    handler = (_req, res) =>
      jsonAnswer(res, 404, { error: { kind: "notFound", message: "DEBUG is not set", hint: "hop config" } });
    const r = await hop(["config:get", "DEBUG", "-a", "web"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe("Error: DEBUG is not set\nHint: hop config\n");
    const j = await hop(["config:get", "DEBUG", "-a", "web", "--json"]);
    expect(j.code).toBe(3);
    expect(JSON.parse(j.stdout)).toEqual({
      error: { kind: "notFound", message: "DEBUG is not set", hint: "hop config" },
    });
    expect(j.stderr).toBe("");
  });

  it("config:set sends a PATCH and renders the restart", async () => {
    handler = (_req, res) =>
      ndjson(res, [
        { event: "step", message: "Restarting web" },
        { event: "done", ok: true, result: { release: 4, changed: ["A", "B"] } },
      ]);
    const r = await hop(["config", "set", "A=1", "B=", "-a", "web"]);
    expect(r.code).toBe(0);
    expect(seen[0]!.method).toBe("PATCH");
    expect(JSON.parse(seen[0]!.body.toString())).toEqual({ set: { A: "1", B: "" } });
    expect(r.stdout).toBe("-----> Restarting web\n=====> Config changed: A, B (release v4)\n");
  });

  it("config:set without = is a usage error naming the argument", async () => {
    const r = await hop(["config:set", "A=1", "OOPS", "-a", "web"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"OOPS"');
    expect(seen).toEqual([]);
  });
});

describe("logs", () => {
  it("copies the text stream with the query built from the flags", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("2025-01-01T00:00:00Z web.1 | hello\n");
    };
    const r = await hop(["logs", "-n", "5", "web", "-a", "app1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("2025-01-01T00:00:00Z web.1 | hello\n");
    expect(seen[0]!.query.get("lines")).toBe("5");
    expect(seen[0]!.query.get("process")).toBe("web");
    expect(seen[0]!.query.get("follow")).toBeNull();
  });

  it("ends a followed stream cleanly on Ctrl-C", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first line\n");
      // never ends: only the interrupt stops the client
    };
    const io = fakeIo({ env: { HOP3_URL: url }, cwd: tempDir() });
    const pending = run(["logs", "--tail", "-p", "worker", "-a", "app1"], io);
    await new Promise<void>((resolve) => {
      const check = () => (io.stdoutText().includes("first line") ? resolve() : setTimeout(check, 10));
      check();
    });
    io.interrupt();
    expect(await pending).toBe(0);
    expect((io.stdout as PassThrough).destroyed).toBe(false);
    expect(seen[0]!.query.get("follow")).toBe("1");
    expect(seen[0]!.query.get("process")).toBe("worker");
  });
});

describe("destroy", () => {
  it("refuses without a TTY and without --confirm", async () => {
    const r = await hop(["destroy", "-a", "web"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--confirm web");
    expect(seen).toEqual([]);
  });

  it("refuses a --confirm that does not match", async () => {
    const r = await hop(["destroy", "web", "--confirm", "other"]);
    expect(r.code).toBe(2);
    expect(seen).toEqual([]);
  });

  it("on a TTY, asks for the app name and goes ahead only when it matches", async () => {
    handler = (_req, res) => ndjson(res, [{ event: "done", ok: true, result: { destroyed: "web" } }]);
    const wrong = fakeIo({ env: { HOP3_URL: url }, cwd: tempDir(), tty: true, stdin: "wbe\n" });
    expect(await run(["destroy", "-a", "web"], wrong)).toBe(2);
    expect(wrong.stderrText()).toContain("Type the app name to confirm:");
    expect(seen).toEqual([]);
    const right = fakeIo({ env: { HOP3_URL: url }, cwd: tempDir(), tty: true, stdin: "web\n" });
    expect(await run(["destroy", "-a", "web"], right)).toBe(0);
    expect(seen[0]!.query.get("confirm")).toBe("web");
  });

  it("sends DELETE with confirm=NAME and renders the stream", async () => {
    handler = (_req, res) => ndjson(res, [{ event: "done", ok: true, result: { destroyed: "web" } }]);
    const r = await hop(["apps:destroy", "--app", "web", "--confirm", "web"]);
    expect(r.code).toBe(0);
    expect(seen[0]!.method).toBe("DELETE");
    expect(seen[0]!.path).toBe("/api/v1/apps/web");
    expect(seen[0]!.query.get("confirm")).toBe("web");
    expect(r.stdout).toBe("=====> web destroyed\n");
  });
});

describe("tables and errors", () => {
  it("lists apps in a table", async () => {
    handler = (_req, res) =>
      jsonAnswer(res, 200, {
        apps: [
          { name: "web", state: "running", url: "https://web.example.com", release: 2, createdAt: null },
        ],
      });
    const r = await hop(["app", "list"]);
    expect(r.stdout).toBe(
      "NAME  STATE    RELEASE  URL                      CREATED\nweb   running  v2       https://web.example.com\n",
    );
  });

  it("reports an unreachable server as a network error (7)", async () => {
    const io = fakeIo({ env: { HOP3_URL: "http://127.0.0.1:1" }, cwd: tempDir() });
    expect(await run(["apps"], io)).toBe(7);
    expect(io.stderrText()).toContain("Error: cannot reach the Hop3 server");
  });

  it("reports a bug as an internal error without a stack, unless HOP3_DEBUG=1", async () => {
    handler = (_req, res) => res.writeHead(200, { "content-type": "application/json" }).end("{not json");
    const r = await hop(["apps"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: internal error: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const d = await hop(["apps"], { env: { HOP3_DEBUG: "1" } });
    expect(d.stderr).toMatch(/\n\s+at /);
  });

  it("exits 2 for an unknown command and prints help for --help", async () => {
    const r = await hop(["deplyo"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("did you mean: deploy");
    const h = await hop(["config:set", "--help"]);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain("Usage: hop config:set KEY=VALUE...");
    const v = await hop(["--version"]);
    expect(v.stdout).toMatch(/^hop \d+\.\d+\.\d+/);
  });

  it("setup:ssh posts the key read from stdin", async () => {
    handler = (_req, res) => jsonAnswer(res, 201, { fingerprint: "SHA256:abc" });
    const io = fakeIo({ env: { HOP3_URL: url }, cwd: tempDir(), stdin: "ssh-ed25519 AAAAC3Nza me@laptop\n" });
    expect(await run(["setup:ssh", "-"], io)).toBe(0);
    expect(seen[0]!.path).toBe("/api/v1/ssh-keys");
    expect(JSON.parse(seen[0]!.body.toString())).toEqual({ key: "ssh-ed25519 AAAAC3Nza me@laptop" });
    expect(io.stdoutText()).toBe("Added SSH key SHA256:abc\n");
  });

  it("refuses a ps:scale argument that is not TYPE=N before calling the server", async () => {
    const r = await hop(["ps:scale", "web:2", "-a", "web"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("expected TYPE=N");
  });
});
