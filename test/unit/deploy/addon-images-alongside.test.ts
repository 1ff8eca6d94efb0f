/**
 * A deploy readies the images of the addons it will create while the app's image builds (deployer.ts), with
 * doubles for Podman, the builder and the addon service (the real path: test/integration/addons.test.ts and the
 * headline bench). The overlap is proven by construction, not by timing: the double build finishes only once the
 * addon images have started, and the addon images only once the build has started, so a deploy that ran them one
 * after the other would never end (the test's timeout fails it).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { AddonService } from "../../../src/addons/service.js";
import type { AddonSpec } from "../../../src/app/hop3toml.js";
import type { Builder, BuiltImage } from "../../../src/build/builder.js";
import { Deployer } from "../../../src/deploy/deployer.js";
import type { Platform, Progress } from "../../../src/deploy/platform.js";
import { StepTimings } from "../../../src/deploy/timings.js";
import { releaseImageTag } from "../../../src/runtime/labels.js";
import { Store } from "../../../src/store/store.js";
import { Hop3Error } from "../../../src/util/errors.js";

/** A promise and its resolve/reject, for steps the test finishes when it wants. */
function gate<T = void>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface Script {
  /** What the build does once it started (default: succeeds). */
  build?: () => Promise<void>;
  /** What the addon images do once they started (default: ready). */
  images?: () => Promise<void>;
  addons?: string;
}

function setup(script: Script) {
  const root = mkdtempSync(join(tmpdir(), "addon-images-"));
  const store = Store.open(join(root, "hop3.db"), join(root, "secret.key"));
  const src = join(root, "src");
  mkdirSync(src);
  writeFileSync(join(src, "Containerfile"), "FROM localhost/hop3/base:bookworm\nCMD sleep infinity\n");
  writeFileSync(
    join(src, "hop3.toml"),
    `[metadata]\nid = "blog"\n\n${script.addons ?? '[[addons]]\ntype = "mysql"\n'}`,
  );
  const events: string[] = [];
  const removed: string[] = [];
  const buildStarted = gate();
  const imagesStarted = gate();
  const docker = {
    getImage: (tag: string) => ({
      inspect: async () => ({
        Id: `sha256:${tag}`,
        Config: { ExposedPorts: { "8080/tcp": {} }, Cmd: ["sleep", "infinity"] },
      }),
      remove: async () => {
        removed.push(tag);
      },
    }),
  } as unknown as Docker;
  const builder: Builder = {
    name: "containerfile",
    aliases: [],
    detect: async () => true,
    build: async (ctx): Promise<BuiltImage> => {
      events.push("build started");
      buildStarted.resolve();
      await imagesStarted.promise;
      await (script.build ?? (async () => {}))();
      events.push("build done");
      return { tag: ctx.tag, imageId: `sha256:${ctx.tag}`, sourceKind: "containerfile" };
    },
  };
  const addons = {
    provision: async (_app: string, declared: readonly AddonSpec[]) => {
      events.push(`provision ${declared.map((d) => d.type).join(",")}`);
      // the rollout after it needs a real router and supervisor: the test stops here
      throw new Hop3Error("stopped after provision (test)", "deployFailed");
    },
    releaseApp: async () => {},
    prepareImages: (_app: string, declared: readonly AddonSpec[]) => {
      events.push(`images started ${declared.map((d) => d.type).join(",")}`);
      imagesStarted.resolve();
      return (async () => {
        await buildStarted.promise;
        await (script.images ?? (async () => {}))();
        events.push("images ready");
      })();
    },
  };
  const platform = {
    store,
    docker,
    settings: {
      root,
      baseDomain: "hop3.test",
      httpPort: 80,
      httpsPort: 443,
      tls: "off",
      drainSeconds: 0,
      retention: 3,
      baseImage: "localhost/hop3/base:bookworm",
    },
    builders: [builder],
    log: () => {},
    addons,
  } as unknown as Platform;
  store.createApp("blog");
  const lines: string[] = [];
  const timings = new StepTimings();
  const progress: Progress = {
    step: (m) => lines.push(`-----> ${m}`),
    log: (l) => lines.push(l),
    timings,
  };
  const deploy = () => new Deployer(platform).deploy("blog", { kind: "tree", dir: src }, {}, progress);
  return { store, platform, events, removed, lines, timings, deploy };
}

describe("addon images prepared alongside the app build", () => {
  it("runs both at once, then creates the addons (never before the build succeeded)", async () => {
    const t = setup({});
    await expect(t.deploy()).rejects.toThrow("stopped after provision (test)");
    expect(t.events[0]).toBe("images started mysql");
    expect(t.events.slice(-1)).toEqual(["provision mysql"]);
    expect(t.events).toContain("images ready");
    expect(t.events).toContain("build done");
    const steps = t.timings.snapshot().steps.map((s) => s.step);
    expect(steps).toContain("addon images (during build)");
    expect(steps.indexOf("addon images (during build)")).toBeLessThan(steps.indexOf("build"));
  }, 10_000);

  it("waits for addon images still being prepared after the build, under a step of its own", async () => {
    const images = gate();
    const t = setup({ images: () => images.promise });
    const deployed = t.deploy();
    await new Promise((r) => setTimeout(r, 50));
    expect(t.events).toContain("build done");
    expect(t.events).not.toContain("provision mysql");
    images.resolve();
    await expect(deployed).rejects.toThrow("stopped after provision (test)");
    expect(t.lines).toContain("-----> Addon images (prepared alongside the build)");
    expect(t.events.indexOf("images ready")).toBeLessThan(t.events.indexOf("provision mysql"));
  }, 10_000);

  it("a failed build creates no addon, and reports only once the addon images have finished", async () => {
    const images = gate();
    const t = setup({
      build: async () => {
        throw new Hop3Error("the build failed: RUN false exited with 1", "deployFailed");
      },
      images: () => images.promise,
    });
    let settled = false;
    const deployed = t.deploy().finally(() => {
      settled = true;
    });
    deployed.catch(() => {});
    await new Promise((r) => setTimeout(r, 50));
    // the build has failed, the addon images still run: the deploy has not answered yet
    expect(settled).toBe(false);
    expect(t.lines).toContain("Waiting for the addon images being prepared alongside the build to finish");
    images.resolve();
    await expect(deployed).rejects.toThrow("the build failed: RUN false exited with 1");
    expect(t.events).not.toContain("provision mysql");
    expect(t.events).toContain("images ready");
    expect(t.store.listReleases("blog")[0]?.status).toBe("failed");
  }, 10_000);

  it("both failing: the build's error is the deploy's, the addon image's is a line of its log", async () => {
    const t = setup({
      build: async () => {
        throw new Hop3Error("the build failed: RUN false exited with 1", "deployFailed");
      },
      images: async () => {
        await new Promise((r) => setTimeout(r, 20));
        throw new Hop3Error("building localhost/hop3/addon-mariadb:10.11-x failed: exit status 100");
      },
    });
    await expect(t.deploy()).rejects.toThrow("the build failed: RUN false exited with 1");
    expect(t.lines).toContain(
      "The addon images were not prepared: building localhost/hop3/addon-mariadb:10.11-x failed: exit status 100",
    );
  }, 10_000);

  it("an addon image that fails fails the deploy with its own error; the built app image is removed", async () => {
    const t = setup({
      images: async () => {
        throw new Hop3Error("building localhost/hop3/addon-mariadb:10.11-x failed: exit status 100");
      },
    });
    await expect(t.deploy()).rejects.toThrow(
      "building localhost/hop3/addon-mariadb:10.11-x failed: exit status 100",
    );
    expect(t.events).not.toContain("provision mysql");
    expect(t.removed).toEqual([releaseImageTag("blog", 1)]);
    expect(t.store.listReleases("blog")[0]?.status).toBe("failed");
  }, 10_000);

  it("a declaration provision would refuse fails the deploy before the build (the real AddonService)", async () => {
    const t = setup({ addons: '[[addons]]\ntype = "postgres"\nname = "shared-db"\n' });
    t.store.addons.create({
      name: "shared-db",
      type: "redis",
      major: "7",
      image: "i",
      credentials: {},
      options: {},
    });
    const service = new AddonService({
      platform: t.platform,
      rerelease: async () => undefined,
      runs: {} as never,
      images: { imagesDir: "/nonexistent", baseImage: "b", tryRegistry: false },
    });
    t.platform.addons = service;
    await expect(t.deploy()).rejects.toThrow(
      "hop3.toml declares a postgres addon shared-db, but shared-db is a redis addon",
    );
    expect(t.events).toEqual([]);
    expect(t.lines.some((l) => l.includes("Building the image"))).toBe(false);
  }, 10_000);
});
