import { describe, expect, it } from "vitest";
import { ONLY_GIT_PUSH, parsePushCommand, parseShellArgs } from "../../../src/git/push-command.js";
import { Hop3Error } from "../../../src/util/errors.js";

function refused(command: string | undefined): Hop3Error {
  try {
    parsePushCommand(command);
  } catch (err) {
    expect(err).toBeInstanceOf(Hop3Error);
    expect((err as Hop3Error).kind).toBe("usage");
    return err as Hop3Error;
  }
  throw new Error(`accepted ${JSON.stringify(command)}`);
}

describe("parsePushCommand", () => {
  it.each([
    "git-receive-pack 'myapp'",
    "git-receive-pack '/myapp'",
    "git-receive-pack 'myapp.git'",
    "git-receive-pack '/myapp.git'",
    "git-receive-pack '~/myapp'",
    "git-receive-pack myapp",
    "git-receive-pack /myapp.git",
    "git receive-pack 'myapp'",
  ])("accepts %s as a push to myapp", (cmd) => {
    expect(parsePushCommand(cmd)).toEqual({ app: "myapp" });
  });

  it("accepts names with digits and hyphens", () => {
    expect(parsePushCommand("git-receive-pack 'shop-2'").app).toBe("shop-2");
  });

  it("refuses interactive logins", () => {
    expect(refused(undefined).message).toMatch(/^Hop3 only accepts git push; there is no interactive login/);
    expect(refused("  ").message).toContain(ONLY_GIT_PUSH);
  });

  it.each(["ls", "scp -t /tmp", "sh -c 'git-receive-pack app'", "git-receive-pack", "rsync --server . /"])(
    "refuses other commands: %s",
    (cmd) => {
      expect(refused(cmd).message).toContain(ONLY_GIT_PUSH);
    },
  );

  it.each(["git-upload-pack 'myapp'", "git upload-pack 'myapp'", "git-upload-archive 'myapp'"])(
    "refuses fetching: %s",
    (cmd) => {
      expect(refused(cmd).message).toMatch(/only accepts git push; fetching and cloning are not available/);
    },
  );

  it.each([
    "git-receive-pack 'a;rm -rf /'",
    "git-receive-pack a;rm -rf /",
    "git-receive-pack '../x'",
    "git-receive-pack '/etc/passwd'",
    "git-receive-pack 'app/../../etc'",
    "git-receive-pack 'app' 'other'",
    "git-receive-pack 'app' extra",
    "git-receive-pack 'app'\nrm -rf /",
    "git-receive-pack 'app\nx'",
    "git-receive-pack 'app'\u0000",
    "git-receive-pack '$(touch /tmp/pwned)'",
    "git-receive-pack `id`",
    "git-receive-pack 'a'\\''b'",
    "git-receive-pack 'MyApp'",
    "git-receive-pack ''",
    "git-receive-pack '",
    "git-receive-pack  'app'",
    "git-receive-pack 'app' ",
  ])("refuses injection and bad names: %j", (cmd) => {
    refused(cmd);
  });

  it("names the rule when the app name is invalid", () => {
    expect(refused("git-receive-pack 'Bad_Name'").message).toMatch(/invalid app name "Bad_Name"/);
  });
});

describe("parseShellArgs", () => {
  const fpr = `SHA256:${"A".repeat(43)}`;
  it("reads --root and the fingerprint", () => {
    expect(parseShellArgs(["--root", "/srv/hop3", fpr])).toEqual({ root: "/srv/hop3", fingerprint: fpr });
    expect(parseShellArgs([fpr])).toEqual({ fingerprint: fpr });
    expect(parseShellArgs([])).toEqual({});
  });
  it("refuses anything else", () => {
    expect(() => parseShellArgs(["--root", "relative"])).toThrow(/absolute/);
    expect(() => parseShellArgs(["--root"])).toThrow(/absolute/);
    expect(() => parseShellArgs([fpr, fpr])).toThrow(/unexpected/);
    expect(() => parseShellArgs(["SHA256:short"])).toThrow(/unexpected/);
  });
});
