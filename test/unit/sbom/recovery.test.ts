/**
 * SBOM jobs a stopped server did not finish: the decision (planSbomRecovery) case by case, then the thin I/O
 * around it on a real store and real files with a Podman double (the real server, killed and restarted, is in
 * test/integration/crash-recovery.test.ts): the job's marker is on disk before record() returns and gone when
 * the job ends; at start a marked job is queued again and, when it fails, says why in `hop sbom` and
 * `hop releases`; a release whose image is gone is failed with that reason; stale markers are removed.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { afterEach, describe, expect, it } from "vitest";
import { loadReleaseSbom, sbomState } from "../../../src/sbom/lookup.js";
import { recordReleaseProvenance } from "../../../src/sbom/provenance-service.js";
import {
  MAX_SBOM_ATTEMPTS,
  planSbomRecovery,
  recoverSbomJobs,
  type SbomJobFacts,
} from "../../../src/sbom/recovery.js";
import { isSbomPending, recordReleaseSbom, sbomQueueIdle } from "../../../src/sbom/release-sbom.js";
import {
  listSbomJobs,
  readSbomFailure,
  readSbomJob,
  releaseDocPath,
  removeAppSboms,
  sbomDir,
  writeReleaseDoc,
  writeSbomJob,
} from "../../../src/sbom/store.js";
import { Store } from "../../../src/store/store.js";

const ran = { status: "active", image: "localhost/hop3/web:r3" };
const job = (over: Partial<SbomJobFacts> = {}): SbomJobFacts => ({
  app: "web",
  release: 3,
  attempts: 0,
  row: ran,
  hasSbom: false,
  hasProvenance: false,
  imagePresent: true,
  ...over,
});

describe("planSbomRecovery", () => {
  it("queues again a job that was queued, or running, when the server stopped", () => {
    expect(
      planSbomRecovery([job(), job({ release: 4, attempts: 1, row: { ...ran, status: "superseded" } })]),
    ).toEqual([
      { app: "web", release: 3, action: "requeue" },
      { app: "web", release: 4, action: "requeue" },
    ]);
  });

  it("queues again an SBOM written without its provenance (killed between the two)", () => {
    expect(planSbomRecovery([job({ hasSbom: true })])[0]).toMatchObject({ action: "requeue" });
  });

  it("fails with the reason a release whose image is gone", () => {
    expect(planSbomRecovery([job({ imagePresent: false })])).toEqual([
      {
        app: "web",
        release: 3,
        action: "fail",
        reason: "its image localhost/hop3/web:r3 is gone (removed before the SBOM could be read)",
      },
    ]);
  });

  it("fails a job interrupted too many times rather than starting it again at every start", () => {
    expect(planSbomRecovery([job({ attempts: MAX_SBOM_ATTEMPTS - 1 })])[0]?.action).toBe("requeue");
    const [step] = planSbomRecovery([job({ attempts: MAX_SBOM_ATTEMPTS })]);
    expect(step).toMatchObject({ action: "fail" });
    expect(step?.action === "fail" && step.reason).toMatch(/interrupted 3 times/);
  });

  it("fails a release without an image, forgets a release that is gone or whose documents are all written", () => {
    expect(planSbomRecovery([job({ row: { status: "failed" } })])[0]).toMatchObject({
      action: "fail",
      reason: "the release has no image (failed)",
    });
    const [gone, done] = planSbomRecovery([
      job({ row: undefined }),
      job({ hasSbom: true, hasProvenance: true, imagePresent: false }),
    ]);
    expect(gone).toMatchObject({ action: "forget", why: "the release no longer exists" });
    expect(done).toMatchObject({ action: "forget" });
  });
});

describe("the SBOM job's marker and the recovery at start", () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });

  /** A real store with app `web` and its active releases; Podman answers only for `images` ("boom" on save). */
  function setup(images: string[]) {
    const root = mkdtempSync(join(tmpdir(), "sbom-recovery-"));
    roots.push(root);
    const store = Store.open(join(root, "hop3.db"), join(root, "secret.key"));
    store.createApp("web");
    const release = (image: string) => {
      const r = store.createRelease("web", { sourceKind: "containerfile" });
      store.activateRelease("web", r.id, { image, imageId: `sha256:${r.number}` });
      return r;
    };
    const docker = {
      getImage: (ref: string) => ({
        inspect: async () => {
          if (!images.includes(ref)) throw Object.assign(new Error("no such image"), { statusCode: 404 });
          return { Id: ref, Config: { Labels: {} } };
        },
        get: async () => {
          throw new Error("podman save failed: boom");
        },
      }),
    } as unknown as Docker;
    const logged: string[] = [];
    const ctx = { store, docker, root, version: "0.0.0-test", log: (m: string) => logged.push(m) };
    return { root, store, ctx, release, logged };
  }

  it("record() marks the job on disk before it returns; the marker goes when the job ends, and the failure stays", async () => {
    const { root, store, ctx, release } = setup(["sha256:1"]);
    const r1 = release("localhost/hop3/web:r1");
    recordReleaseSbom(ctx, "web", 1);
    // synchronously: a kill right after the deploy answered still finds it
    expect(readSbomJob(root, "web", 1)).toMatchObject({ attempts: 0 });
    expect(isSbomPending("web", 1)).toBe(true);
    expect(sbomState(root, "web", 1)).toEqual({ state: "pending" });
    await sbomQueueIdle();
    expect(existsSync(releaseDocPath(root, "web", 1, "pending"))).toBe(false);
    expect(readSbomFailure(root, "web", 1)?.reason).toBe("podman save failed: boom");
    expect(sbomState(root, "web", 1)).toEqual({ state: "failed", reason: "podman save failed: boom" });
    await expect(loadReleaseSbom(store, root, "web", 1)).rejects.toThrow(
      "web v1 has no SBOM: its generation failed: podman save failed: boom",
    );
    expect(store.deployLog(r1.id).join("\n")).toContain(
      "warning: no SBOM for this release: podman save failed: boom",
    );
  });

  it("at start: a running job is queued again (and runs), a gone image fails, stale markers go", async () => {
    const { root, store, ctx, release } = setup(["sha256:1"]);
    release("localhost/hop3/web:r1");
    const r2 = release("localhost/hop3/web:r2");
    // v1: running when the server was killed (started once); v2: its image was removed meanwhile
    writeSbomJob(root, "web", 1, { queuedAt: "2026-12-05T10:00:00.000Z", attempts: 1 });
    writeSbomJob(root, "web", 2, { queuedAt: "2026-12-05T10:00:01.000Z", attempts: 0 });
    // v7 does not exist (its release was removed); v8's documents were all written before the kill
    writeSbomJob(root, "web", 7, { queuedAt: "", attempts: 0 });
    expect(listSbomJobs(root).map((j) => j.release)).toEqual([1, 2, 7]);

    const notes = await recoverSbomJobs(ctx);
    expect(notes).toEqual([
      "web v1: SBOM job queued again (the server stopped before it finished)",
      "web v2: no SBOM: its image localhost/hop3/web:r2 is gone (removed before the SBOM could be read)",
      "web v7: stale SBOM job marker removed (the release no longer exists)",
    ]);
    expect(isSbomPending("web", 1)).toBe(true);
    expect(readSbomJob(root, "web", 1)?.queuedAt).toBe("2026-12-05T10:00:00.000Z");
    expect(sbomState(root, "web", 2)).toEqual({
      state: "failed",
      reason: "its image localhost/hop3/web:r2 is gone (removed before the SBOM could be read)",
    });
    expect(store.deployLog(r2.id).join("\n")).toMatch(/no SBOM for this release: its image .* is gone/);
    await sbomQueueIdle();
    // the queued job really ran: it failed this time (the double's save fails) and says why
    expect(sbomState(root, "web", 1)).toEqual({ state: "failed", reason: "podman save failed: boom" });
    expect(listSbomJobs(root)).toEqual([]);
  });

  it("a job whose release is removed while it runs (hop destroy) does not stop the jobs queued after it", async () => {
    const { root, store, ctx, release } = setup(["sha256:1", "sha256:2"]);
    release("localhost/hop3/web:r1");
    release("localhost/hop3/web:r2");
    // the first job's release disappears while it runs: its deploy log cannot take the failure line
    const rows = store as unknown as { getRelease: (a: string, n: number) => unknown };
    const getRelease = rows.getRelease.bind(store);
    let calls = 0;
    rows.getRelease = (a: string, n: number) =>
      a === "web" && n === 1 && ++calls > 1 ? undefined : getRelease(a, n);
    const appendDeployLog = store.appendDeployLog.bind(store);
    store.appendDeployLog = (id: number, line: string) => {
      if (calls > 1 && id === 1) throw new Error("release 1 does not exist");
      appendDeployLog(id, line);
    };
    recordReleaseSbom(ctx, "web", 1);
    recordReleaseSbom(ctx, "web", 2);
    await sbomQueueIdle();
    // the second job ran all the same, and said why it failed
    expect(sbomState(root, "web", 2)).toEqual({ state: "failed", reason: "podman save failed: boom" });
    expect(listSbomJobs(root)).toEqual([]);
  });

  it("counts attempts: the third start of a job that never finishes fails it instead", async () => {
    const { root, ctx, release } = setup(["sha256:1"]);
    release("localhost/hop3/web:r1");
    writeSbomJob(root, "web", 1, { queuedAt: "", attempts: MAX_SBOM_ATTEMPTS });
    const notes = await recoverSbomJobs(ctx);
    expect(notes[0]).toMatch(/web v1: no SBOM: generation was interrupted 3 times/);
    expect(isSbomPending("web", 1)).toBe(false);
    expect(listSbomJobs(root)).toEqual([]);
  });

  it("a job started on a marker counts the attempt before it reads the image", async () => {
    const { root, ctx, release } = setup(["sha256:1"]);
    release("localhost/hop3/web:r1");
    writeSbomJob(root, "web", 1, { queuedAt: "", attempts: 1 });
    // the marker as the job saw it when it started: watched through the store's own reader
    const seen: number[] = [];
    const docker = ctx.docker as unknown as { getImage: (r: string) => { get: () => Promise<never> } };
    const original = docker.getImage;
    docker.getImage = (ref: string) => ({
      ...original(ref),
      get: async () => {
        seen.push(readSbomJob(root, "web", 1)?.attempts ?? -1);
        throw new Error("stop");
      },
    });
    recordReleaseSbom(ctx, "web", 1);
    await sbomQueueIdle();
    expect(seen).toEqual([2]);
  });

  it("an SBOM already written keeps its file: the requeued job only adds what is missing", async () => {
    const { root, ctx, release } = setup(["sha256:1"]);
    release("localhost/hop3/web:r1");
    const doc = { bomFormat: "CycloneDX", specVersion: "1.6", components: [{ name: "a" }] };
    await writeReleaseDoc(root, "web", 1, "cdx", doc);
    writeSbomJob(root, "web", 1, { queuedAt: "", attempts: 1 });
    expect((await recoverSbomJobs(ctx))[0]).toMatch(/queued again/);
    await sbomQueueIdle();
    expect(sbomState(root, "web", 1)).toEqual({ state: "ready", components: 1 });
    expect(listSbomJobs(root)).toEqual([]);
  });

  it("an app destroyed while its provenance is signed (its image inspected) gets no statement written after", async () => {
    const { root, store, ctx, release } = setup(["localhost/hop3/web:r1"]);
    release("localhost/hop3/web:r1");
    await writeReleaseDoc(root, "web", 1, "cdx", { bomFormat: "CycloneDX", specVersion: "1.6" });
    const docker = ctx.docker as unknown as { getImage: (r: string) => { inspect: () => Promise<unknown> } };
    const original = docker.getImage;
    docker.getImage = (ref: string) => ({
      ...original(ref),
      // hop destroy runs meanwhile: the app's rows, then its documents, go
      inspect: async () => {
        const info = await original(ref).inspect();
        store.deleteApp("web");
        await removeAppSboms(root, "web");
        return info;
      },
    });
    expect(await recordReleaseProvenance(ctx, "web", 1)).toEqual({ skipped: "the release no longer exists" });
    expect(existsSync(sbomDir(root, "web"))).toBe(false);
  });
});
