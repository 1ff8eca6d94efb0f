/**
 * `hop deploy --image`: an image already in the hop3 user's storage, a `podman save` archive uploaded
 * from the client (hosts without a registry), and a reference that cannot be had.
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop,
  podmanAsHop3,
  uniqueApp,
} from "./helpers.js";

const IMAGE = "localhost/hop3-test/greeter:prebuilt";

describe("deploying a prebuilt image", () => {
  const local = uniqueApp("it-img");
  const archived = uniqueApp("it-arc");

  beforeAll(async () => {
    // a build done outside Hop3, as a user with their own CI would do it
    await podmanAsHop3([
      "build",
      "--build-arg",
      "GREETER_VERSION=prebuilt",
      "-f",
      join(fixture("greeter"), "Containerfile"),
      "-t",
      IMAGE,
      fixture("greeter"),
    ]);
  });

  afterAll(async () => {
    await destroyQuietly(local);
    await destroyQuietly(archived);
    await podmanAsHop3(["rmi", "-f", IMAGE]).catch(() => {});
  });

  it("runs a local image by reference and routes it", async () => {
    const r = await hop(["deploy", "--image", IMAGE, "--app", local]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const res = await getThroughRouter(deployedUrl(r.stdout));
    expect(res.body).toBe(`hello from ${local} (prebuilt)`);
    const { releases } = JSON.parse((await hop(["releases", "--app", local, "--json"])).stdout) as {
      releases: { source: string; sourceRef: string }[];
    };
    expect(releases[0]).toMatchObject({ source: "image", sourceRef: IMAGE });
  });

  it("loads a `podman save` archive uploaded by the CLI", async () => {
    // saved by hop3 into /tmp, uploaded from here (root) like a remote client would
    const tmpForHop3 = join(tmpdir(), `hop3-test-${archived}.tar`);
    await podmanAsHop3(["save", "-o", tmpForHop3, IMAGE]);
    try {
      const r = await hop(["deploy", "--image", tmpForHop3, "--app", archived]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Loading the uploaded image/);
      expect((await getThroughRouter(deployedUrl(r.stdout))).body).toBe(`hello from ${archived} (prebuilt)`);
    } finally {
      rmSync(tmpForHop3, { force: true });
    }
  });

  it("fails clearly for an image that cannot be had, and the app keeps serving", async () => {
    const r = await hop(["deploy", "--image", "registry.invalid/nothing/here:1", "--app", local]);
    expect(r.exitCode).toBe(8);
    expect(r.stderr).toMatch(/cannot get image registry\.invalid\/nothing\/here:1/);
    const { apps } = JSON.parse((await hop(["apps", "--json"])).stdout) as {
      apps: { name: string; url: string }[];
    };
    const url = apps.find((a) => a.name === local)!.url;
    expect((await getThroughRouter(url)).body).toBe(`hello from ${local} (prebuilt)`);
  });

  it("refuses something that is not an image reference", async () => {
    const r = await hop(["deploy", "--image", "not a ref;rm", "--app", local]);
    expect(r.exitCode).toBe(2);
  });
});
