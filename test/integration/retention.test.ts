/**
 * Release retention: after each deploy the server keeps the images of the newest HOP3_RELEASE_RETENTION
 * releases that ran and removes older ones; `hop rollback` to a pruned release is refused clearly and the
 * app keeps serving, while a retained one can still be returned to.
 *
 * The installed server's own setting is used (tests must not change or restart it), so the test deploys
 * retention + 2 releases of distinct tiny images. `hop deploy --image` of a local image is the fastest way
 * to make a release: no build on the server, only the fixture's last layer differs between variants.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop,
  podmanAsHop3,
  podmanImages,
  uniqueApp,
} from "./helpers.js";

/** The retention the running server uses, as it reports it (HOP3_RELEASE_RETENTION, default 10). */
async function serverRetention(): Promise<number> {
  const r = await hop(["doctor", "--json"]);
  const info = JSON.parse(r.stdout) as { releaseRetention?: number; routerStatus?: { running: boolean } };
  if (!info.releaseRetention) throw new Error(`hop doctor --json reports no releaseRetention:\n${r.stdout}`);
  // hop doctor fails when the router does not answer: every test here goes through it
  expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  expect(info.routerStatus?.running).toBe(true);
  return info.releaseRetention;
}

const retention = await serverRetention();

interface Release {
  number: number;
  status: string;
  image: string | null;
  digest: string | null;
  current: boolean;
}

async function releases(app: string): Promise<Release[]> {
  const r = await hop(["releases", "--app", app, "--json"]);
  expect(r.exitCode, r.stdout + r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { releases: Release[] }).releases;
}

/** Podman prints image ids with or without the "sha256:" prefix depending on the command. */
const bareId = (id: string) => id.replace(/^sha256:/, "");

/** The hop3 user's image tags and image ids, as Podman itself sees them (not as the server reports). */
async function imageStore(): Promise<{ tags: Set<string>; ids: Set<string> }> {
  const tags = await podmanImages("{{.Repository}}:{{.Tag}}");
  const ids = await podmanImages("{{.ID}}", ["--no-trunc"]);
  return { tags: new Set(tags.filter(Boolean)), ids: new Set(ids.filter(Boolean).map(bareId)) };
}

describe("release retention", () => {
  const app = uniqueApp("it-ret");
  const total = retention + 2;
  const versions = Array.from({ length: total }, (_, i) => `v${i + 1}`);
  // per-app source references, so concurrent runs never share them
  const sourceRef = (version: string) => `localhost/hop3-test/${app}:${version}`;
  let url = "";
  // the variants' builds, chained; afterAll waits for them so none finishes after the cleanup
  let builds: Promise<unknown> = Promise.resolve();

  beforeAll(async () => {
    // Distinct images that differ only in the fixture's last layer (the build argument's RUN step), so the
    // builds after the first are cache hits but each release has its own image id and answers its version.
    const build = (v: string) =>
      podmanAsHop3([
        "build",
        "--quiet",
        "--build-arg",
        `GREETER_VERSION=${v}`,
        "-f",
        join(fixture("greeter"), "Containerfile"),
        "-t",
        sourceRef(v),
        fixture("greeter"),
      ]);
    // One build after the other, overlapping the deploys: a deploy mostly waits (health check, drain), so
    // building the next variant meanwhile keeps the whole setup close to the deploys' own time.
    const built = versions.map((v) => {
      builds = builds.then(() => build(v));
      return builds;
    });
    // a failed build is reported by the deploy loop's await; keep Node from calling the others unhandled
    for (const b of built) b.catch(() => {});
    for (const [i, v] of versions.entries()) {
      await built[i];
      const r = await hop(["deploy", "--image", sourceRef(v), "--app", app]);
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      url = deployedUrl(r.stdout);
      // Drop the source name: the release's own tag is then the image's only name, so pruning the release
      // really deletes the image rather than only untagging it.
      await podmanAsHop3(["rmi", sourceRef(v)]);
    }
  });

  afterAll(async () => {
    await builds.catch(() => {});
    await destroyQuietly(app);
    // left behind only if a build or deploy above failed
    for (const v of versions) await podmanAsHop3(["rmi", "--force", sourceRef(v)]).catch(() => {});
  });

  it(`keeps exactly the images of the newest releases that ran (retention ${retention}) and removes older ones`, async () => {
    const list = await releases(app);
    expect(list.map((r) => r.number)).toEqual(versions.map((_, i) => total - i));
    expect(list.every((r) => r.status === "active" || r.status === "superseded")).toBe(true);
    expect(list[0]).toMatchObject({ number: total, current: true });

    const store = await imageStore();
    const kept = list.slice(0, retention);
    const pruned = list.slice(retention);
    expect(pruned.map((r) => r.number)).toEqual([2, 1]);
    const digests = new Set(list.map((r) => bareId(r.digest ?? "")));
    expect(digests.size, "each release has its own image").toBe(total);
    for (const r of kept) {
      expect(store.tags.has(r.image!), `v${r.number}'s image ${r.image} is kept`).toBe(true);
      expect(store.ids.has(bareId(r.digest!)), `v${r.number}'s image id is kept`).toBe(true);
    }
    for (const r of pruned) {
      expect(store.tags.has(r.image!), `v${r.number}'s image ${r.image} is removed`).toBe(false);
      expect(store.ids.has(bareId(r.digest!)), `v${r.number}'s image id is removed`).toBe(false);
    }
    // nothing else of the app's lingers under its image name
    const appTags = [...store.tags].filter((t) => t.startsWith(`localhost/hop3/${app}:`)).sort();
    expect(appTags).toEqual(kept.map((r) => r.image!).sort());
  });

  it("refuses to roll back to a release whose image was pruned, and the app keeps serving", async () => {
    const r = await hop(["rollback", "v1", "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(6);
    expect(r.stderr).toMatch(/the image of v1 \(\S+\) is no longer on this server/);
    expect(await getThroughRouter(url)).toMatchObject({ status: 200, body: `hello from ${app} (v${total})` });
    const list = await releases(app);
    expect(list[0]).toMatchObject({ number: total, current: true });
  });

  it("rolls back to the oldest retained release, which then serves its own version", async () => {
    const oldest = total - retention + 1;
    const r = await hop(["rollback", `v${oldest}`, "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(await getThroughRouter(url)).toMatchObject({
      status: 200,
      body: `hello from ${app} (v${oldest})`,
    });
    const list = await releases(app);
    expect(list[0]).toMatchObject({
      number: total + 1,
      current: true,
      image: `localhost/hop3/${app}:r${oldest}`,
    });
  });
});
