/**
 * The build CA as builds get it (src/build/build-ca.ts): certificates only. The fixture
 * test/fixtures/build-ca/mitm-style.pem is what mitmproxy and combined-PEM setups hand an operator: a private
 * key, then its certificate (a throwaway test CA made for these tests). Pointed at by HOP3_BUILD_CA_FILE, the
 * key must reach no build: not the Containerfile build's `hop3-ca` secret (checked here in the very context
 * tar that goes to Podman), not a buildpack build's bind mount. The real builds are in
 * test/integration/deploy-containerfile.test.ts.
 */
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import tarStream from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { certificatesOnly, readBuildCa } from "../../../src/build/build-ca.js";
import { createContainerfileBuilder } from "../../../src/build/containerfile-builder.js";

const fixtures = join(import.meta.dirname, "..", "..", "fixtures", "build-ca");
const combined = join(fixtures, "mitm-style.pem");
const cert = readFileSync(join(fixtures, "ca.crt"), "utf8");
const key = readFileSync(join(fixtures, "ca.key"), "utf8");
/** The key's base64 body, any line of which must appear nowhere. */
const keyLines = key.split("\n").filter((l) => l && !l.startsWith("-----"));

function assertNoKey(text: string): void {
  expect(text).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
  for (const l of keyLines) expect(text).not.toContain(l);
}

describe("certificatesOnly", () => {
  it("keeps the certificate of a key+certificate PEM, byte for byte as its DER says, and drops the key", () => {
    const got = certificatesOnly(readFileSync(combined, "utf8"));
    expect(got.certificates).toBe(1);
    expect(got.dropped).toEqual(["PRIVATE KEY"]);
    assertNoKey(got.pem);
    expect(new X509Certificate(got.pem).fingerprint256).toBe(new X509Certificate(cert).fingerprint256);
    expect(got.pem.trim()).toBe(cert.trim());
  });

  it("drops every kind of key and non-certificate block, and text between blocks", () => {
    const body = keyLines.join("\n");
    const text = [
      "Bag Attributes: friendlyName=secret-hint-1234",
      `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`,
      cert.trim(),
      `-----BEGIN EC PRIVATE KEY-----\n${body}\n-----END EC PRIVATE KEY-----`,
      `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${body}\n-----END ENCRYPTED PRIVATE KEY-----`,
      `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----`,
      // a key dressed as a certificate: it does not parse as one, so it goes too
      `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----`,
      cert.trim(),
    ].join("\n");
    const got = certificatesOnly(text);
    expect(got.certificates).toBe(2);
    expect(got.dropped).toEqual([
      "RSA PRIVATE KEY",
      "EC PRIVATE KEY",
      "ENCRYPTED PRIVATE KEY",
      "OPENSSH PRIVATE KEY",
      "CERTIFICATE #6 (not a valid certificate)",
    ]);
    assertNoKey(got.pem);
    expect(got.pem).not.toContain("secret-hint-1234");
  });

  it("passes the host's whole bundle through with every certificate", () => {
    let bundle: string;
    try {
      bundle = readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8");
    } catch {
      return; // no system bundle on this machine: the fixture cases above stand
    }
    const n = bundle.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
    const got = certificatesOnly(bundle);
    expect(got).toMatchObject({ certificates: n, dropped: [] });
  });
});

describe("readBuildCa", () => {
  const dir = mkdtempSync(join(tmpdir(), "hop3-ca-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("warns, naming only the label, when it leaves something out", () => {
    const warned: string[] = [];
    const got = readBuildCa(combined, (m) => warned.push(m)).toString();
    assertNoKey(got);
    expect(warned).toEqual([
      `warning: the build CA bundle ${combined} holds more than certificates: builds get its 1 certificate(s) only, not PRIVATE KEY`,
    ]);
    assertNoKey(warned.join("\n"));
  });

  it("refuses a file with no certificate (a key alone: HOP3_BUILD_CA_FILE pointed at the wrong file)", () => {
    const keyOnly = join(dir, "key-only.pem");
    writeFileSync(keyOnly, key);
    expect(() => readBuildCa(keyOnly, () => {})).toThrow(/holds no PEM certificate \(only PRIVATE KEY\)/);
    try {
      readBuildCa(keyOnly, () => {});
    } catch (err) {
      assertNoKey(String(err));
    }
    expect(() => readBuildCa(join(dir, "missing.pem"), () => {})).toThrow(/cannot read the build CA bundle/);
  });
});

describe("a Containerfile build with a key+certificate HOP3_BUILD_CA_FILE", () => {
  const dir = mkdtempSync(join(tmpdir(), "hop3-ca-build-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("sends Podman a context whose hop3-ca secret is the certificate alone", async () => {
    mkdirSync(join(dir, "app"));
    writeFileSync(join(dir, "app", "Containerfile"), "FROM scratch\n");
    const files: Record<string, string> = {};
    let options: Record<string, unknown> = {};
    // a Podman double: reads the whole context tar it is given, then fails the build (nothing more to check)
    const docker = {
      buildImage: async (context: NodeJS.ReadableStream, opts: Record<string, unknown>) => {
        options = opts;
        const extract = tarStream.extract();
        await new Promise<void>((resolve, reject) => {
          extract.on("entry", (header, body, next) => {
            const chunks: Buffer[] = [];
            body.on("data", (c) => chunks.push(c as Buffer));
            body.on("end", () => {
              files[header.name] = Buffer.concat(chunks).toString();
              next();
            });
          });
          extract.on("finish", resolve);
          extract.on("error", reject);
          context.pipe(extract as unknown as NodeJS.WritableStream);
        });
        throw new Error("stop after the context");
      },
    } as unknown as Docker;
    const log: string[] = [];
    await expect(
      createContainerfileBuilder({ caFile: combined }).build({
        app: "web",
        release: 1,
        sourceDir: join(dir, "app"),
        tag: "localhost/hop3/web:r1",
        buildArgs: {},
        docker,
        emit: (l) => log.push(l),
      }),
    ).rejects.toThrow("stop after the context");
    const secretName = Object.keys(files).find((n) => n.startsWith(".hop3-secret-"));
    expect(secretName).toBeDefined();
    expect(JSON.parse(String(options.secrets))).toEqual([`id=hop3-ca,src=${secretName}`]);
    const secret = files[secretName!]!;
    expect(new X509Certificate(secret).fingerprint256).toBe(new X509Certificate(cert).fingerprint256);
    // nothing of the key anywhere in what Podman got, nor in the build log
    assertNoKey(Object.values(files).join("\n"));
    assertNoKey(JSON.stringify(options));
    assertNoKey(log.join("\n"));
    expect(log.join("\n")).toMatch(/builds get its 1 certificate\(s\) only, not PRIVATE KEY/);
  });
});
