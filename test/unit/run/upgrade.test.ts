/** The attach upgrade refuses before touching Podman: wrong path, missing token on TCP, unknown run. */
import { mkdtempSync, rmSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Duplex } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import type { Platform } from "../../../src/deploy/platform.js";
import { RunSessions } from "../../../src/runtime/run-session.js";
import { createUpgradeHandler } from "../../../src/server/api.js";
import { Store } from "../../../src/store/store.js";

const dir = mkdtempSync(join(tmpdir(), "hop3-upgrade-"));
const store = Store.open(join(dir, "hop3.db"), join(dir, "secret.key"));
const { token } = store.createToken("admin", "admin");
const platform = { store, log: () => {} } as unknown as Platform;
const handler = createUpgradeHandler({ platform, runs: new RunSessions(platform) });

afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Answers what the handler wrote back on the socket. */
function upgrade(
  transport: "unix" | "tcp",
  url: string,
  headers: Record<string, string> = {},
): Promise<string> {
  let written = "";
  const socket = new Duplex({
    read() {},
    write(chunk, _enc, cb) {
      written += chunk.toString();
      cb();
    },
  });
  const done = new Promise<string>((resolve) => socket.on("finish", () => resolve(written)));
  const req = { url, method: "GET", headers: { upgrade: "tcp", ...headers } } as unknown as IncomingMessage;
  handler(transport)(req, socket, Buffer.alloc(0));
  return done;
}

const id = "0123456789abcdef0123456789abcdef";

describe("the attach upgrade", () => {
  it("needs a bearer token over TCP", async () => {
    const answer = await upgrade("tcp", `/api/v1/runs/${id}/attach`);
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toContain('"kind":"authentication"');
    expect(await upgrade("tcp", `/api/v1/runs/${id}/attach`, { authorization: "Bearer nope" })).toMatch(
      / 401 /,
    );
  });

  it("with a valid token, an unknown run is 404", async () => {
    const answer = await upgrade("tcp", `/api/v1/runs/${id}/attach`, { authorization: `Bearer ${token}` });
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect(answer).toContain(`no run ${id}`);
  });

  it("refuses other paths and other upgrades", async () => {
    expect(await upgrade("unix", "/api/v1/apps")).toMatch(/^HTTP\/1\.1 404 /);
    expect(await upgrade("unix", `/api/v1/runs/${id}/attach`, { upgrade: "websocket" })).toMatch(
      /^HTTP\/1\.1 400 /,
    );
  });
});
