/**
 * install.sh saves every server setting given in its environment to /etc/hop3/hop3.env (docs/install.md): the
 * list of names comes from the server's own schema (settingNames), so a setting the server reads can never be
 * dropped by the installer (HOP3_ACME_CA_ROOT was). One case per setting, through the real shell functions.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { settingNames } from "../../../src/server/settings.js";

const repo = resolve(import.meta.dirname, "..", "..", "..");

/** server_env_content of scripts/lib/server.sh, with a runtime whose settings module exports `names`. */
function envFileFor(env: Record<string, string>, existing?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "hop3-install-settings-"));
  mkdirSync(join(dir, "dist", "server"), { recursive: true });
  writeFileSync(
    join(dir, "dist", "server", "settings.js"),
    `export const settingNames = ${JSON.stringify(settingNames)};\n`,
  );
  const envFile = join(dir, "hop3.env");
  if (existing !== undefined) writeFileSync(envFile, existing);
  const script = [
    "set -euo pipefail",
    `. ${repo}/scripts/lib/common.sh`,
    `. ${repo}/scripts/lib/server.sh`,
    "hop3_uid() { echo 1000; }",
    "server_env_content",
  ].join("\n");
  return execFileSync("bash", ["-c", script], {
    env: { PATH: process.env.PATH ?? "", HOP3_PREFIX: dir, HOP3_ENV_FILE: envFile, ...env },
    encoding: "utf8",
  });
}

describe("install.sh's hop3.env", { timeout: 60_000 }, () => {
  it("has the defaults a new host needs", () => {
    const text = envFileFor({});
    expect(text).toMatch(/^HOP3_ROOT=\/var\/lib\/hop3$/m);
    expect(text).toMatch(/^HOP3_BASE_DOMAIN=hop3\.localhost$/m);
    expect(text).toMatch(/^HOP3_HTTP_PORT=80$/m);
    expect(text).toMatch(/^HOP3_HTTPS_PORT=443$/m);
    expect(text).not.toMatch(/^HOP3_ACME/m);
  });

  const names = settingNames.filter((n) => n !== "HOP3_ROOT");
  const settingValue = (name: string) => `value-of-${name.toLowerCase()}`;
  // one run of the shell functions with every setting given (each run costs a bash and a node start)
  let all: string | undefined;
  const withAll = () => (all ??= envFileFor(Object.fromEntries(names.map((n) => [n, settingValue(n)]))));
  it.each(names)(
    "saves %s when install.sh is given it",
    (name) => {
      expect(withAll()).toContain(`\n${name}=${settingValue(name)}\n`);
    },
    60_000,
  );

  it("keeps what the file says unless the environment says otherwise", () => {
    const existing = "HOP3_BASE_DOMAIN=paas.example.org\nHOP3_ACME_CA_ROOT=/etc/hop3/ca.pem\n";
    const kept = envFileFor({}, existing);
    expect(kept).toMatch(/^HOP3_BASE_DOMAIN=paas\.example\.org$/m);
    expect(kept).toMatch(/^HOP3_ACME_CA_ROOT=\/etc\/hop3\/ca\.pem$/m);
    expect(envFileFor({ HOP3_BASE_DOMAIN: "other.example.org" }, existing)).toMatch(
      /^HOP3_BASE_DOMAIN=other\.example\.org$/m,
    );
  });
});
