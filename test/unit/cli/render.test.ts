import { describe, expect, it } from "vitest";
import { parseAssignment, parseAssignments } from "../../../src/cli/assignments.js";
import { releaseRows, sbomFailureLines } from "../../../src/cli/commands/deploy.js";
import { processRows } from "../../../src/cli/commands/processes.js";
import { publicKeyLine } from "../../../src/cli/commands/setup.js";
import { shortRevision } from "../../../src/cli/git-revision.js";
import { exitCodeForKind, renderEvent } from "../../../src/cli/render.js";
import { Hop3Error } from "../../../src/util/errors.js";

const deployed = (r: Record<string, unknown>) => `${r.app} deployed: ${r.url}`;

describe("renderEvent", () => {
  it("shows steps, indented logs and the final line Heroku style", () => {
    expect(renderEvent({ event: "step", message: "Building image" }, deployed)).toEqual([
      { stream: "stdout", text: "-----> Building image" },
    ]);
    expect(renderEvent({ event: "log", line: "STEP 1/3: FROM node\nok\n" }, deployed)).toEqual([
      { stream: "stdout", text: "       STEP 1/3: FROM node" },
      { stream: "stdout", text: "       ok" },
    ]);
    expect(
      renderEvent(
        { event: "done", ok: true, result: { app: "web", url: "https://web.example.com" } },
        deployed,
      ),
    ).toEqual([{ stream: "stdout", text: "=====> web deployed: https://web.example.com" }]);
  });

  it("sends failures to stderr with the hint", () => {
    const lines = renderEvent(
      {
        event: "done",
        ok: false,
        error: { kind: "deployFailed", message: "build failed", hint: "see the log" },
      },
      deployed,
    );
    expect(lines).toEqual([
      { stream: "stderr", text: "!      build failed" },
      { stream: "stderr", text: "!      see the log" },
    ]);
  });
});

describe("exit codes", () => {
  it("maps error kinds to the documented codes", () => {
    expect(exitCodeForKind("deployFailed")).toBe(8);
    expect(exitCodeForKind("notFound")).toBe(3);
    expect(exitCodeForKind("usage")).toBe(2);
    expect(exitCodeForKind("authentication")).toBe(4);
    expect(exitCodeForKind("authorization")).toBe(5);
    expect(exitCodeForKind("conflict")).toBe(6);
    expect(exitCodeForKind("network")).toBe(7);
    expect(exitCodeForKind("somethingNew")).toBe(1);
    expect(exitCodeForKind(undefined)).toBe(1);
  });
});

describe("K=V arguments", () => {
  it("splits at the first =", () => {
    expect(parseAssignment("A=1")).toEqual(["A", "1"]);
    expect(parseAssignment("URL=postgres://u:p@h/db?x=y")).toEqual(["URL", "postgres://u:p@h/db?x=y"]);
    expect(parseAssignment("EMPTY=")).toEqual(["EMPTY", ""]);
    expect(parseAssignments(["A=1", "B==", "A=2"])).toEqual({ A: "2", B: "=" });
  });

  it("rejects a missing = naming the argument, and bad names", () => {
    const err = (() => {
      try {
        parseAssignment("FOO");
      } catch (e) {
        return e as Hop3Error;
      }
    })();
    expect(err).toBeInstanceOf(Hop3Error);
    expect(err?.exitCode).toBe(2);
    expect(err?.message).toContain('"FOO"');
    expect(() => parseAssignment("1X=2")).toThrow(/invalid variable name "1X"/);
    expect(() => parseAssignment("=2")).toThrow(/invalid variable name/);
  });
});

describe("rows", () => {
  const now = new Date("2025-01-10T12:00:00Z");
  it("stars the current release and prefers the revision over the image", () => {
    const rows = releaseRows(
      [
        {
          number: 3,
          status: "active",
          source: "upload",
          revision: "0123456789abcdef0123456789abcdef01234567-dirty",
          image: "hop3/web:3",
          createdAt: "2025-01-10T11:57:00Z",
          current: true,
          components: 412,
        },
        {
          number: 2,
          status: "superseded",
          source: "image",
          image: "nginx:1.27",
          createdAt: "2025-01-09T12:00:00Z",
          description: "Deploy image nginx:1.27",
        },
        {
          number: 1,
          status: "failed",
          source: "containerfile",
          createdAt: "2025-01-08T12:00:00Z",
          error: "build of Containerfile failed: exit 3\nmore",
        },
      ],
      now,
    );
    expect(rows).toEqual([
      ["* v3", "active", "upload", "0123456-dirty", "3 minutes ago", "412", "-"],
      ["  v2", "superseded", "image", "nginx:1.27", "1 day ago", "-", "Deploy image nginx:1.27"],
      [
        "  v1",
        "failed",
        "containerfile",
        "-",
        "2 days ago",
        "-",
        "failed: build of Containerfile failed: exit 3",
      ],
    ]);
  });

  it("says in the SBOM column when an SBOM is pending or failed, and why it failed under the table", () => {
    const releases = [
      { number: 3, status: "active", sbom: { state: "pending" as const } },
      {
        number: 2,
        status: "superseded",
        sbom: { state: "failed" as const, reason: "its image localhost/hop3/web:r2 is gone" },
      },
      { number: 1, status: "superseded", components: 12, sbom: { state: "ready" as const, components: 12 } },
    ];
    expect(releaseRows(releases, now).map((r) => r[5])).toEqual(["pending", "failed", "12"]);
    expect(sbomFailureLines(releases)).toEqual(["v2: no SBOM: its image localhost/hop3/web:r2 is gone"]);
  });

  it("names processes TYPE.N", () => {
    expect(
      processRows(
        [{ type: "web", instance: 1, state: "running", status: "Up 3m", release: 4, startedAt: "" }],
        now,
      ),
    ).toEqual([["web.1", "running", "Up 3m", "v4", "-"]]);
  });

  it("shortens only real SHAs", () => {
    expect(shortRevision("0123456789abcdef0123456789abcdef01234567")).toBe("0123456");
    expect(shortRevision("main")).toBe("main");
  });
});

describe("public key files", () => {
  it("takes the one key line and refuses private keys", () => {
    expect(publicKeyLine("# mine\nssh-ed25519 AAAA me@host\n\n", "k.pub")).toBe("ssh-ed25519 AAAA me@host");
    expect(() => publicKeyLine("-----BEGIN OPENSSH PRIVATE KEY-----", "id")).toThrow(/private key/);
    expect(() => publicKeyLine("", "k.pub")).toThrow(/exactly one/);
  });
});
