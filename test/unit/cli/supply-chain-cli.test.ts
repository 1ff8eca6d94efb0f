/**
 * The supply-chain commands of the CLI against a tiny fake HTTP server (issue 13: `hop sbom` with --release,
 * --format and --output, `hop sbom:verify` and its --json, checked on this machine with a real ed25519
 * signature). The real server is covered by the integration tests (sbom.test.ts, vuln-audit.test.ts).
 */
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { run } from "../../../src/cli/run.js";
import { buildStatement, sha256Hex, signStatement } from "../../../src/sbom/provenance.js";
import { keyIdOf, publicKeyPem } from "../../../src/sbom/signing-key.js";
import { fakeIo } from "./fake-io.js";
import { useTempDirs } from "./temp-dir.js";

interface Seen {
  path: string;
  query: URLSearchParams;
}

let server: Server;
let url: string;
let answer: (req: Seen) => { status: number; body: unknown };
let seen: Seen[];
const tempDir = useTempDirs();

beforeAll(async () => {
  server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    for await (const _ of req) {
      // the body is not needed
    }
    const u = new URL(req.url ?? "/", "http://x");
    const s = { path: u.pathname, query: u.searchParams };
    seen.push(s);
    const a = answer(s);
    res.writeHead(a.status, { "content-type": "application/json" }).end(JSON.stringify(a.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = [];
  answer = () => ({ status: 500, body: { error: { kind: "internal", message: "no handler" } } });
});

async function hop(argv: string[], cwd = tempDir()) {
  const io = fakeIo({ env: { HOP3_URL: url }, cwd });
  const code = await run(argv, io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText(), cwd };
}

describe("hop sbom", () => {
  const spdx = { spdxVersion: "SPDX-2.3", packages: [] };

  it("asks for the release and format, writes --output FILE and warns about what could not be read", async () => {
    answer = () => ({
      status: 200,
      body: { app: "web", release: 3, format: "spdx", incomplete: ["no /etc/os-release"], sbom: spdx },
    });
    const r = await hop([
      "sbom",
      "-a",
      "web",
      "--release",
      "v3",
      "--format",
      "spdx",
      "--output",
      "web.spdx.json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(seen[0]!.path).toBe("/api/v1/apps/web/sbom");
    expect(seen[0]!.query.get("release")).toBe("3");
    expect(seen[0]!.query.get("format")).toBe("spdx");
    expect(r.stdout).toBe("");
    expect(JSON.parse(readFileSync(join(r.cwd, "web.spdx.json"), "utf8"))).toEqual(spdx);
    expect(r.stderr).toContain("warning: the SBOM of web v3 is incomplete: no /etc/os-release");
    expect(r.stderr).toContain(`Wrote the SPDX 2.3 SBOM of web v3 to ${join(r.cwd, "web.spdx.json")}`);
  });

  it("prints the document without --output; refuses an unknown format or release before asking", async () => {
    answer = () => ({
      status: 200,
      body: { app: "web", release: 2, format: "cyclonedx", incomplete: [], sbom: { specVersion: "1.6" } },
    });
    const r = await hop(["sbom", "-a", "web"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ specVersion: "1.6" });
    expect(seen[0]!.query.get("format")).toBe("cyclonedx");
    seen = [];
    expect((await hop(["sbom", "-a", "web", "--format", "xml"])).code).toBe(2);
    expect((await hop(["sbom", "-a", "web", "--release", "latest"])).code).toBe(2);
    expect(seen).toEqual([]);
  });
});

describe("hop sbom:verify", () => {
  const sbom = '{"bomFormat":"CycloneDX","specVersion":"1.6"}\n';
  const digest = `sha256:${"ab".repeat(32)}`;
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const envelope = signStatement(
    buildStatement({
      app: "web",
      release: 3,
      sourceKind: "containerfile",
      image: "localhost/hop3/web:r3",
      imageDigest: digest,
      hop3Version: "0.1.0",
      sbomSha256: sha256Hex(Buffer.from(sbom)),
    }),
    privateKey,
    keyIdOf(publicKey),
  );
  function serve(materials: Record<string, unknown>) {
    answer = (req) =>
      req.path === "/api/v1/provenance/key"
        ? { status: 200, body: { publicKey: publicKeyPem(publicKey), keyid: keyIdOf(publicKey) } }
        : { status: 200, body: { app: "web", release: 3, image: "localhost/hop3/web:r3", ...materials } };
  }

  it("verifies on this machine and says what it checked; --json gives the same", async () => {
    serve({ imageDigest: digest, envelope, sbom });
    const r = await hop(["sbom:verify", "-a", "web", "--release", "v3"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^OK: provenance of web v3 verified\n {2}signature \(ed25519/);
    expect(seen.find((s) => s.path === "/api/v1/apps/web/provenance")!.query.get("release")).toBe("3");
    const j = await hop(["sbom:verify", "-a", "web", "--json"]);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ app: "web", release: 3, ok: true, keySource: "server" });
  });

  it("an SBOM changed after the release fails with the reason (exit 1), in --json too", async () => {
    serve({ imageDigest: digest, envelope, sbom: sbom.replace("1.6", "1.5") });
    const r = await hop(["sbom:verify", "-a", "web"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /provenance of web v3 does not verify: the SBOM's sha256 [0-9a-f]{64} does not match the signed byproduct/,
    );
    const j = await hop(["sbom:verify", "-a", "web", "--json"]);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, reason: expect.stringMatching(/SBOM's sha256/) });
  });

  it("a signature by another key fails", async () => {
    const other = generateKeyPairSync("ed25519");
    serve({
      imageDigest: digest,
      sbom,
      envelope: { ...envelope, signatures: signStatement({} as never, other.privateKey, "x").signatures },
    });
    const r = await hop(["sbom:verify", "-a", "web"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not verify: the signature does not verify with the key/);
  });
});

describe("hop audit", () => {
  it("without an imported database says so plainly (exit 3), never an empty report", async () => {
    answer = () => ({
      status: 404,
      body: {
        error: {
          kind: "notFound",
          message: "no vulnerability database imported",
          hint: "hop audit:import FILE (an OSV export or Debian's security tracker JSON)",
        },
      },
    });
    const r = await hop(["audit"]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^Error: no vulnerability database imported\nHint: hop audit:import FILE/);
  });

  it("says how many components were not checked, by ecosystem and why", async () => {
    answer = () => ({
      status: 200,
      body: {
        database: {
          imports: [
            {
              file: "osv.json",
              format: "osv",
              advisories: 3,
              importedAt: new Date().toISOString(),
              sha256: "0",
            },
          ],
          records: { npm: 3 },
        },
        apps: [
          { app: "web", release: 2, status: "ok", components: 5, findings: [], unknown: [] },
          {
            app: "rocky",
            release: 1,
            status: "ok",
            components: 120,
            notChecked: { rpm: 118 },
            notCheckedReasons: { rpm: ["the database holds no Rocky Linux:9 advisories"] },
            findings: [],
            unknown: [],
          },
          {
            app: "mixed",
            release: 3,
            status: "ok",
            components: 9,
            notChecked: { deb: 2, apk: 1 },
            notCheckedReasons: {
              deb: [
                "advisories for ubuntu packages are not matched",
                "no known Debian release in distro=debian-99",
              ],
              apk: ["advisories for pkg:apk components are not matched"],
            },
            findings: [],
            unknown: [],
          },
          // a server from before the reasons
          {
            app: "old",
            release: 1,
            status: "ok",
            components: 3,
            notChecked: { rpm: 2 },
            findings: [],
            unknown: [],
          },
        ],
      },
    });
    const r = await hop(["audit"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("web v2: 0 known vulnerabilities in 5 components\n");
    expect(r.stdout).toContain(
      "rocky v1: 0 known vulnerabilities in 120 components; 118 not checked (rpm 118: the database holds no Rocky Linux:9 advisories)\n",
    );
    expect(r.stdout).toContain(
      "mixed v3: 0 known vulnerabilities in 9 components; 3 not checked (deb 2: advisories for ubuntu packages are not matched, no known Debian release in distro=debian-99; apk 1: advisories for pkg:apk components are not matched)\n",
    );
    expect(r.stdout).toContain(
      "old v1: 0 known vulnerabilities in 3 components; 2 not checked (rpm 2): the database does not cover their ecosystem\n",
    );
  });
});
