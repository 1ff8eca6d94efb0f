/**
 * What a crashed build leaves (issue 9): the server's start-up cleanup removes `hop3-cnb-*` build containers,
 * uploaded and extracted sources and buildpack work directories, on the real Podman of the hop3 user. Scratch
 * directories of its own and containers with a name of its own: the installed server's builds are not touched.
 */
import { execSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupAfterCrash } from "../../src/deploy/crash-cleanup.js";
import { podmanAsHop3, uniqueApp } from "./helpers.js";

const uid = execSync("id -u hop3").toString().trim();
const docker = new Docker({ socketPath: `/run/user/${uid}/podman/podman.sock` });

describe("cleanup after a crashed build", () => {
  const prefix = `hop3-cnb-${uniqueApp("it-cleanup")}-`;
  const scratch = mkdtempSync(join(tmpdir(), "hop3-cleanup-"));

  afterAll(async () => {
    rmSync(scratch, { recursive: true, force: true });
    await podmanAsHop3(["rm", "-f", `${prefix}r1-abc`]).catch(() => {});
  });

  it("removes build containers, temp sources and build directories, and nothing else", async () => {
    // what lifecycle.ts creates for a buildpacks build, left as a crash leaves it: running, labelled
    await podmanAsHop3([
      "run",
      "-d",
      "--name",
      `${prefix}r1-abc`,
      "--label",
      "io.hop3.role=cnb-build",
      "localhost/hop3/base:bookworm",
      "sleep",
      "600",
    ]);
    const uploads = join(scratch, "tmp");
    const build = join(scratch, "build");
    mkdirSync(join(uploads, "src-AbC123", "app"), { recursive: true });
    writeFileSync(join(uploads, "src-AbC123", "app", "index.html"), "x");
    mkdirSync(join(uploads, "upload-XyZ987"), { recursive: true });
    writeFileSync(join(uploads, "upload-XyZ987", "source.tar.gz"), "x");
    mkdirSync(join(build, "shop-r3-0a1b2c3d", "layers"), { recursive: true });

    const notes = await cleanupAfterCrash(docker, {
      uploadsDir: uploads,
      buildWorkRoot: build,
      containerPrefix: prefix,
    });

    expect(notes.filter((n) => n.startsWith("could not"))).toEqual([]);
    expect(notes).toContain(`removed build container ${prefix}r1-abc left by an interrupted build`);
    expect(readdirSync(uploads)).toEqual([]);
    expect(readdirSync(build)).toEqual([]);
    // the scratch places themselves stay: uploads and builds go on using them
    expect(existsSync(uploads) && existsSync(build)).toBe(true);
    const left = await podmanAsHop3(["ps", "-a", "--filter", `name=${prefix}`, "--format", "{{.Names}}"]);
    expect(left.trim()).toBe("");
  });

  it("is quiet when there is nothing to clean, and when the places were never created", async () => {
    const notes = await cleanupAfterCrash(docker, {
      uploadsDir: join(scratch, "never"),
      buildWorkRoot: join(scratch, "made-later"),
      containerPrefix: prefix,
    });
    expect(notes).toEqual([]);
  });
});
