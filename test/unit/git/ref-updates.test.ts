import { describe, expect, it } from "vitest";
import {
  appFromRepoDir,
  deployBranches,
  parseRefUpdates,
  type RefUpdate,
  selectDeployUpdate,
} from "../../../src/git/ref-updates.js";
import { Hop3Error } from "../../../src/util/errors.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const Z = "0".repeat(40);
const up = (ref: string, oldSha = A, newSha = B): RefUpdate => ({ oldSha, newSha, ref });

describe("parseRefUpdates", () => {
  it("reads one update per line", () => {
    expect(parseRefUpdates(`${A} ${B} refs/heads/main\n${Z} ${A} refs/tags/v1\n`)).toEqual([
      up("refs/heads/main"),
      up("refs/tags/v1", Z, A),
    ]);
    expect(parseRefUpdates("")).toEqual([]);
  });
  it("accepts SHA-256 object ids", () => {
    const long = "c".repeat(64);
    expect(parseRefUpdates(`${long} ${long} refs/heads/main`)[0]!.newSha).toBe(long);
  });
  it("refuses malformed lines", () => {
    expect(() => parseRefUpdates(`${A} refs/heads/main`)).toThrow(Hop3Error);
    expect(() => parseRefUpdates(`${A} xyz refs/heads/main`)).toThrow(/unexpected input/);
    expect(() => parseRefUpdates(`${A} ${B} refs/heads/main extra`)).toThrow(/unexpected input/);
  });
});

describe("deployBranches", () => {
  it("is main or master by default, HOP3_DEPLOY_BRANCH when set", () => {
    expect(deployBranches({})).toEqual(["main", "master"]);
    expect(deployBranches({ HOP3_DEPLOY_BRANCH: "production" })).toEqual(["production"]);
    expect(() => deployBranches({ HOP3_DEPLOY_BRANCH: "a..b" })).toThrow(/not a usable branch/);
  });
});

function refusal(updates: RefUpdate[], branches = ["main", "master"]): Hop3Error {
  try {
    selectDeployUpdate(updates, branches);
  } catch (err) {
    expect((err as Hop3Error).kind).toBe("usage");
    return err as Hop3Error;
  }
  throw new Error("accepted");
}

describe("selectDeployUpdate", () => {
  it("deploys main, master, or the configured branch", () => {
    expect(selectDeployUpdate([up("refs/heads/main")], ["main", "master"])).toEqual(up("refs/heads/main"));
    expect(selectDeployUpdate([up("refs/heads/master", Z)], ["main", "master"])).toEqual(
      up("refs/heads/master", Z),
    );
    expect(selectDeployUpdate([up("refs/heads/prod")], ["prod"])).toEqual(up("refs/heads/prod"));
  });

  it("stores tags without deploying", () => {
    expect(selectDeployUpdate([up("refs/tags/v1", Z)], ["main"])).toBeUndefined();
    expect(selectDeployUpdate([up("refs/tags/v1", Z), up("refs/heads/main")], ["main"])).toEqual(
      up("refs/heads/main"),
    );
  });

  it("refuses another branch and names the branch to push", () => {
    const err = refusal([up("refs/heads/feature")]);
    expect(err.message).toBe('Hop3 deploys only the branch main or master; "feature" was not accepted');
    expect(err.hint).toBe("push it as the deploy branch: git push hop3 feature:main");
    expect(refusal([up("refs/heads/main")], ["prod"]).message).toMatch(/only the branch prod/);
    expect(refusal([up("refs/notes/commits")]).message).toMatch(/not accepted/);
  });

  it("refuses deletions, of the deploy branch too", () => {
    expect(refusal([up("refs/heads/main", A, Z)]).message).toBe('deleting "main" is not allowed');
    expect(refusal([up("refs/tags/v1", A, Z)]).message).toMatch(/deleting "v1"/);
  });

  it("refuses main and master in one push", () => {
    expect(refusal([up("refs/heads/main"), up("refs/heads/master")]).message).toMatch(
      /one deploy branch at a time/,
    );
  });
});

describe("appFromRepoDir", () => {
  it("takes the app from <app>.git", () => {
    expect(appFromRepoDir("/var/lib/hop3/git/myapp.git")).toBe("myapp");
    expect(appFromRepoDir("/var/lib/hop3/git/myapp.git/")).toBe("myapp");
  });
  it("refuses other directories and bad names", () => {
    expect(() => appFromRepoDir("/var/lib/hop3/git/myapp")).toThrow(/not in an <app>.git/);
    expect(() => appFromRepoDir("/x/Bad_Name.git")).toThrow(/invalid app name/);
  });
});
