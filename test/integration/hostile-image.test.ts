/**
 * Hostile image archives (issue 9): `hop deploy --image x.tar` of a `podman save` archive whose image is
 * named like another app's release (`localhost/hop3/<victim>:r1`) and like the platform's base image. The
 * archive must become the deploying app's release and nothing else: the victim keeps serving its own
 * release, across a restart, and the base image keeps its ID. App names that are platform image names are
 * refused.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cliOutput,
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop,
  podmanAsHop3,
  uniqueApp,
} from "./helpers.js";

const BASE = process.env.HOP3_TEST_BASE_IMAGE ?? "localhost/hop3/base:bookworm";
const imageId = async (ref: string) =>
  (await podmanAsHop3(["image", "inspect", "--format", "{{.Id}}", ref])).trim();

describe("an image archive cannot replace another app's release or a platform image", () => {
  const victim = uniqueApp("it-victim");
  const attacker = uniqueApp("it-attacker");
  const tag = `${victim}-${attacker}`;
  const prebuilt = `localhost/hop3-test/greeter:${tag}-good`;
  const evil = `localhost/hop3-test/greeter:${tag}-evil`;
  // a scratch Podman storage of root's, so that making the archive touches nothing of the hop3 user's
  const scratch = mkdtempSync(join(tmpdir(), "hop3-it-archive-"));
  const rootPodman = (args: string[]) =>
    execa(
      "podman",
      [
        "--root",
        join(scratch, "root"),
        "--runroot",
        join(scratch, "run"),
        "--storage-driver",
        "vfs",
        ...args,
      ],
      { cwd: "/" },
    );
  const archive = join(scratch, "evil.tar");
  let victimUrl = "";
  let baseBefore = "";
  let victimImageBefore = "";

  beforeAll(async () => {
    for (const [ref, version] of [
      [prebuilt, "good"],
      [evil, "evil"],
    ] as const) {
      await podmanAsHop3([
        "build",
        "--build-arg",
        `GREETER_VERSION=${version}`,
        "-f",
        join(fixture("greeter"), "Containerfile"),
        "-t",
        ref,
        fixture("greeter"),
      ]);
    }
    const v = await hop(["deploy", "--image", prebuilt, "--app", victim]);
    expect(v.exitCode, cliOutput(v)).toBe(0);
    victimUrl = deployedUrl(v.stdout);
    expect((await getThroughRouter(victimUrl)).body).toBe(`hello from ${victim} (good)`);
    baseBefore = await imageId(BASE);
    victimImageBefore = await imageId(`localhost/hop3/${victim}:r1`);

    // the attacker's archive: their image, named as the victim's release and as the base image
    const plain = join(tmpdir(), `hop3-test-${tag}.tar`); // written by hop3: not in root's private scratch
    await podmanAsHop3(["save", "-o", plain, evil]);
    await rootPodman(["load", "-i", plain]);
    await rootPodman(["tag", evil, `localhost/hop3/${victim}:r1`, BASE]);
    await rootPodman(["save", "-o", archive, `localhost/hop3/${victim}:r1`, BASE]);
    rmSync(plain, { force: true });
  }, 900_000);

  afterAll(async () => {
    await destroyQuietly(victim);
    await destroyQuietly(attacker);
    for (const ref of [prebuilt, evil]) await podmanAsHop3(["rmi", ref]).catch(() => {});
    await rootPodman(["rmi", "-a", "-f"]).catch(() => {});
    rmSync(scratch, { recursive: true, force: true });
  });

  it("deploys the archive as the attacker's release only", async () => {
    const r = await hop(["deploy", "--image", archive, "--app", attacker]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    expect(r.stdout).toContain("names from an archive are not kept");
    expect((await getThroughRouter(deployedUrl(r.stdout))).body).toBe(`hello from ${attacker} (evil)`);
    const tags = JSON.parse(
      await podmanAsHop3([
        "image",
        "inspect",
        "--format",
        "{{json .RepoTags}}",
        `localhost/hop3/${attacker}:r1`,
      ]),
    ) as string[];
    expect(tags).not.toContain(`localhost/hop3/${victim}:r1`);
    expect(tags).not.toContain(BASE);
  });

  it("leaves the victim's release and the base image as they were, across a restart", async () => {
    expect(await imageId(`localhost/hop3/${victim}:r1`)).toBe(victimImageBefore);
    expect(await imageId(BASE)).toBe(baseBefore);
    expect((await getThroughRouter(victimUrl)).body).toBe(`hello from ${victim} (good)`);
    const restart = await hop(["restart", "--app", victim]);
    expect(restart.exitCode, cliOutput(restart)).toBe(0);
    expect((await getThroughRouter(victimUrl)).body).toBe(`hello from ${victim} (good)`);
  });

  it("refuses app names that are platform image names", async () => {
    for (const name of ["base", "caddy", "cnb-build", "addon-redis"]) {
      const r = await hop(["deploy", "--image", prebuilt, "--app", name]);
      expect(r.exitCode, cliOutput(r)).toBe(2);
      expect(r.stderr).toContain(`"${name}" is reserved`);
    }
    expect(await imageId(BASE)).toBe(baseBefore);
  });
});
