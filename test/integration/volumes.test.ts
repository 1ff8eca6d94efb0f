/**
 * hop3.toml [[volumes]] on real Podman: a persist volume keeps its data across releases and is shared with
 * one-off containers (`hop run`), a tmpfs is a tmpfs, a bind volume lives in the app's data directory, and
 * only `hop destroy` (confirmed) removes the data.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  cliOutput,
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop,
  leftovers,
  podmanAsHop3,
  uniqueApp,
} from "./helpers.js";

const root = process.env.HOP3_TEST_SERVER_ROOT ?? "/var/lib/hop3";

describe("[[volumes]]", () => {
  const app = uniqueApp("it-volumes");
  let url = "";

  afterAll(async () => {
    await destroyQuietly(app);
  });

  it("mounts a persist volume, a tmpfs and a bind directory into the web process", async () => {
    const r = await hop(["deploy", fixture("volumes"), "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    url = deployedUrl(r.stdout);
    expect((await getThroughRouter(url)).body.trim()).toBe("data=- scratch=tmpfs uploads=- release=-");
    const labels = await podmanAsHop3([
      "volume",
      "inspect",
      `hop3-${app}-data`,
      "--format",
      "{{json .Labels}}",
    ]);
    expect(JSON.parse(labels)).toMatchObject({ "io.hop3.app": app, "io.hop3.managed": "true" });
  });

  it("shares the volumes with hop run, and the data outlives a new release", async () => {
    const run = await hop([
      "run",
      "--app",
      app,
      "sh",
      "-c",
      "echo kept > /data/note && echo up > /uploads/note",
    ]);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect((await getThroughRouter(url)).body.trim()).toBe("data=kept scratch=tmpfs uploads=up release=-");
    expect(readFileSync(join(root, "data", app, "uploads", "note"), "utf8")).toBe("up\n");
    // a config change is a new release with new containers
    const set = await hop(["config:set", "RELEASE_MARK=two", "--app", app]);
    expect(set.exitCode, set.stdout + set.stderr).toBe(0);
    expect((await getThroughRouter(url)).body.trim()).toBe("data=kept scratch=tmpfs uploads=up release=two");
    // and so is a redeploy of the same tree
    const again = await hop(["deploy", fixture("volumes"), "--app", app]);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect((await getThroughRouter(url)).body.trim()).toMatch(/^data=kept scratch=tmpfs uploads=up /);
  });

  /** Deploys the fixture with another hop3.toml; answers the failed deploy's output. The app keeps serving. */
  const refusedDeploy = async (toml: string): Promise<string> => {
    const dir = mkdtempSync(join(tmpdir(), "hop3-it-vol-"));
    try {
      cpSync(fixture("volumes"), dir, { recursive: true });
      writeFileSync(join(dir, "hop3.toml"), toml);
      const r = await hop(["deploy", dir, "--app", app]);
      expect(r.exitCode).not.toBe(0);
      expect((await getThroughRouter(url)).body.trim()).toMatch(/^data=kept /);
      return r.stdout + r.stderr;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it("refuses a bind source outside the app's data directory before building, and keeps serving", async () => {
    const out = await refusedDeploy(
      '[[volumes]]\ntype = "bind"\nsource = "/home/hop3/.ssh"\ntarget = "/keys"\n',
    );
    expect(out).toContain("outside the app's data directory");
    expect(out).not.toContain("Building the image");
  });

  it("refuses a bind source below a directory the app can write, such as a link it made there", async () => {
    const link = await hop(["run", "--app", app, "ln", "-s", "/etc", "/uploads/escape"]);
    expect(link.exitCode, link.stdout + link.stderr).toBe(0);
    const out = await refusedDeploy('[[volumes]]\ntype = "bind"\nsource = "uploads/escape"\ntarget = "/x"\n');
    expect(out).toContain("must be one directory directly in the app's data directory");
  });

  it("refuses a bind source that a link in the data directory leads out of it", async () => {
    // no container of the app can write there: this link stands for one left by hand or by an older Hop3
    symlinkSync("/etc", join(root, "data", app, "escape"));
    const out = await refusedDeploy('[[volumes]]\ntype = "bind"\nsource = "escape"\ntarget = "/x"\n');
    expect(out).toMatch(/leads to \/etc, outside the app's data directory/);
  });

  it("hop volumes lists the mounts; volumes:destroy needs the name typed and the volume unmounted", async () => {
    const list = await hop(["volumes", "--app", app, "--json"]);
    expect(list.exitCode, cliOutput(list)).toBe(0);
    const { volumes } = JSON.parse(list.stdout) as {
      volumes: { name: string; type: string; target?: string; size?: number; state: string }[];
    };
    const data = `hop3-${app}-data`;
    expect(volumes.map((v) => [v.name, v.type, v.target, v.state])).toEqual([
      [data, "persist", "/data", "in use"],
      ["tmpfs", "tmpfs", "/scratch", "declared"],
      [join(root, "data", app, "uploads"), "bind", "/uploads", "declared"],
    ]);
    expect(volumes[0]!.size).toBeGreaterThan(0);
    const table = await hop(["volumes", "--app", app]);
    expect(table.stdout).toMatch(new RegExp(`^${data}\\s+persist\\s+/data\\s+\\S+ MiB\\s+in use$`, "m"));

    // no confirmation, a wrong one, another app's volume, a mounted one: refused, the data stays
    const noConfirm = await hop(["volumes:destroy", data, "--app", app]);
    expect(noConfirm.exitCode).toBe(2);
    expect(cliOutput(noConfirm)).toContain("needs confirmation");
    const wrong = await hop(["volumes:destroy", data, "--app", app, "--confirm", "nope"]);
    expect(wrong.exitCode).toBe(2);
    const foreign = await hop([
      "volumes:destroy",
      "hop3-other-data",
      "--app",
      app,
      "--confirm",
      "hop3-other-data",
    ]);
    expect(foreign.exitCode, cliOutput(foreign)).toBe(3);
    const mounted = await hop(["volumes:destroy", data, "--app", app, "--confirm", data]);
    expect(mounted.exitCode, cliOutput(mounted)).toBe(6);
    expect(cliOutput(mounted)).toContain("is mounted by");
    expect((await getThroughRouter(url)).body.trim()).toMatch(/^data=kept /);

    // stopped, the volume can go; the next start gets a new, empty one
    expect((await hop(["stop", "--app", app])).exitCode).toBe(0);
    const gone = await hop(["volumes:destroy", data, "--app", app, "--confirm", data]);
    expect(gone.exitCode, cliOutput(gone)).toBe(0);
    expect(
      await podmanAsHop3(["volume", "exists", data]).then(
        () => true,
        () => false,
      ),
    ).toBe(false);
    const started = await hop(["start", "--app", app]);
    expect(started.exitCode, cliOutput(started)).toBe(0);
    expect((await getThroughRouter(url)).body.trim()).toMatch(/^data=- /);
  });

  it("hop destroy removes the volumes and the data directory with the app", async () => {
    const r = await hop(["destroy", "--app", app, "--confirm", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Removing 1 volume\(s\)/);
    expect(await leftovers(app)).toEqual([]);
    expect(existsSync(join(root, "data", app))).toBe(false);
  });
});
