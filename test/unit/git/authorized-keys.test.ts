import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  gitShellCommand,
  KEY_RESTRICTIONS,
  renderAuthorizedKeys,
  writeAuthorizedKeys,
} from "../../../src/git/authorized-keys.js";
import { parsePublicKey } from "../../../src/git/public-key.js";

const dir = mkdtempSync(join(tmpdir(), "hop3-authkeys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keygen(name: string, comment: string) {
  const file = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  return parsePublicKey(readFileSync(`${file}.pub`, "utf8"));
}

const alice = keygen("alice", "alice@laptop");
const bob = keygen("bob", "bob@desk");
const shellCommand = "/usr/bin/node /opt/hop3/dist/git/git-shell.js";

describe("renderAuthorizedKeys", () => {
  it("forces every key through the git shell with its fingerprint and no forwarding or pty", () => {
    const text = renderAuthorizedKeys([alice, bob], { shellCommand });
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^# Managed by Hop3/);
    const keyLines = lines.filter((l) => !l.startsWith("#"));
    expect(keyLines).toEqual([
      `command="${shellCommand} ${alice.fingerprint}",${KEY_RESTRICTIONS} ssh-ed25519 ${alice.blob} alice@laptop`,
      `command="${shellCommand} ${bob.fingerprint}",${KEY_RESTRICTIONS} ssh-ed25519 ${bob.blob} bob@desk`,
    ]);
    expect(KEY_RESTRICTIONS).toBe(
      "no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-pty,no-user-rc",
    );
    expect(text.endsWith("\n")).toBe(true);
  });

  it("produces a file ssh-keygen reads as authorized_keys, with the same fingerprints", () => {
    const file = join(dir, "authorized_keys");
    writeFileSync(
      file,
      renderAuthorizedKeys([alice, bob], { shellCommand: `${shellCommand} --root /srv/hop3` }),
    );
    const listed = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", file], { encoding: "utf8" });
    expect(listed).toContain(alice.fingerprint);
    expect(listed).toContain(bob.fingerprint);
  });

  it("sanitises comments and drops duplicates", () => {
    const text = renderAuthorizedKeys(
      [
        { ...alice, comment: "evil\nssh-ed25519 AAAA injected\r\x1b[31m" },
        { ...alice, comment: "again" },
      ],
      { shellCommand },
    );
    const keyLines = text.split("\n").filter((l) => l.startsWith("command="));
    expect(keyLines).toHaveLength(1);
    expect(keyLines[0]).toMatch(/ssh-ed25519 \S+ evil ssh-ed25519 AAAA injected \[31m$/);
  });

  it("refuses a record whose fingerprint does not match its data, or a bad type", () => {
    expect(() =>
      renderAuthorizedKeys([{ ...alice, fingerprint: bob.fingerprint }], { shellCommand }),
    ).toThrow(/does not match/);
    expect(() =>
      renderAuthorizedKeys([{ ...alice, type: 'ssh-ed25519",permitopen="*' }], { shellCommand }),
    ).toThrow();
    expect(() =>
      renderAuthorizedKeys([{ ...alice, blob: `${alice.blob} x\ncommand="sh"` }], { shellCommand }),
    ).toThrow();
  });

  it("refuses a shell command that would break out of the quoted option", () => {
    expect(() => renderAuthorizedKeys([alice], { shellCommand: 'node x" ,permitopen="*' })).toThrow(
      /unusable/,
    );
    expect(() => renderAuthorizedKeys([alice], { shellCommand: "node x\nssh-ed25519" })).toThrow(/unusable/);
    expect(() => renderAuthorizedKeys([alice], { shellCommand: "" })).toThrow(/unusable/);
  });

  it("renders only the header for no keys", () => {
    expect(
      renderAuthorizedKeys([], { shellCommand })
        .split("\n")
        .filter((l) => l && !l.startsWith("#")),
    ).toEqual([]);
  });
});

describe("gitShellCommand", () => {
  it("runs git-shell.js next to the module with this Node, and --root when given", () => {
    expect(gitShellCommand()).toMatch(/^\S+node\S* \S+\/src\/git\/git-shell\.js$/);
    expect(gitShellCommand({ nodePath: "/usr/bin/node", script: "/opt/hop3/dist/git/git-shell.js" })).toBe(
      "/usr/bin/node /opt/hop3/dist/git/git-shell.js",
    );
    expect(gitShellCommand({ nodePath: "/usr/bin/node", script: "/opt/hop3/x.js", root: "/srv/hop 3" })).toBe(
      "/usr/bin/node /opt/hop3/x.js --root '/srv/hop 3'",
    );
  });
  it("refuses paths it cannot quote safely", () => {
    expect(() => gitShellCommand({ script: "/tmp/it's.js" })).toThrow(/unusable path/);
    expect(() => gitShellCommand({ root: '/srv/"x' })).toThrow(/unusable path/);
  });
  it("is accepted by renderAuthorizedKeys", () => {
    const command = gitShellCommand({ nodePath: "/usr/bin/node", script: "/opt/x.js", root: "/a b" });
    expect(renderAuthorizedKeys([alice], { shellCommand: command })).toContain(
      `command="/usr/bin/node /opt/x.js --root '/a b' ${alice.fingerprint}",`,
    );
  });
});

describe("writeAuthorizedKeys", () => {
  it("creates the directory 0700 and the file 0600, replacing it whole", async () => {
    const path = join(dir, "home", ".ssh", "authorized_keys");
    await writeAuthorizedKeys(path, "first\n");
    await writeAuthorizedKeys(path, "second\n");
    expect(readFileSync(path, "utf8")).toBe("second\n");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "home", ".ssh")).mode & 0o777).toBe(0o700);
  });
});
