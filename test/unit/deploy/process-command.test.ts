import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { imageCommandWithPrerun, planRelease, processCommand } from "../../../src/deploy/plan.js";

/** The command arrays are executed for real by /bin/sh, as the container would. */
const run = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });

describe("processCommand", () => {
  it("runs a Procfile line through sh", () => {
    expect(processCommand("echo a && echo b")).toEqual(["/bin/sh", "-c", "echo a && echo b"]);
    expect(execFileSync("/bin/sh", processCommand("echo a && echo b").slice(1), { encoding: "utf8" })).toBe(
      "a\nb\n",
    );
  });

  it("runs prerun hooks first, then the command with its own quoting intact", () => {
    const r = run(processCommand(`printf '%s|' "x y" 'z'`, ["echo first", "echo second"]));
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("first\nsecond\nx y|z|");
  });

  it("does not start the process when a hook fails, and passes the failure on", () => {
    const r = run(processCommand("echo never", ["echo before", "exit 4", "echo not-this"]));
    expect(r.status).toBe(4);
    expect(r.stdout).toBe("before\n");
  });

  it("passes the process's exit code through", () => {
    expect(run(processCommand("exit 3", ["true"])).status).toBe(3);
  });
});

describe("imageCommandWithPrerun: before-run for a process that runs the image's own ENTRYPOINT + CMD", () => {
  /** What the container runtime runs: the entry point, then the command. */
  const runContainer = (p: { entrypoint?: string[]; cmd?: string[] }) =>
    run([...(p.entrypoint ?? []), ...(p.cmd ?? [])]);

  it("runs the hooks, then execs the image's words as they were (no shell parses them)", () => {
    const plan = imageCommandWithPrerun(
      ["printf", "%s|", "a b", "$HOME", "'q'; echo injected"],
      ["echo hook"],
    );
    expect(plan.entrypoint).toEqual(["/bin/sh"]);
    const r = runContainer(plan);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("hook\na b|$HOME|'q'; echo injected|");
  });

  it("a failing hook stops the process from starting, with the hook's exit code", () => {
    const r = runContainer(imageCommandWithPrerun(["echo", "never"], ["exit 5"]));
    expect(r.status).toBe(5);
    expect(r.stdout).toBe("");
  });

  it("the image's process replaces the shell (exec): its exit code is the container's", () => {
    expect(runContainer(imageCommandWithPrerun(["/bin/sh", "-c", "exit 7"], ["true"])).status).toBe(7);
  });

  it("changes nothing without hooks, or without the image's command (a release recorded before it was)", () => {
    expect(imageCommandWithPrerun(["node", "server.js"], [])).toEqual({});
    expect(imageCommandWithPrerun(undefined, ["echo x"])).toEqual({});
    expect(imageCommandWithPrerun([], ["echo x"])).toEqual({});
  });
});

describe("planRelease: prerun hooks reach every process", () => {
  const base = {
    app: "a",
    release: 3,
    image: "img",
    scale: {},
    env: {},
    webPort: 5000,
    hostNames: ["a.test"],
    generation: "g",
    prerun: ["./migrate"],
  };

  it("a Procfile worker and the image's own web command both run the hooks first", () => {
    const plans = planRelease({
      ...base,
      processes: { web: undefined, worker: "node worker.js" },
      imageCommand: ["/entry.sh", "serve", "--port=5000"],
    });
    const web = plans.find((p) => p.process === "web")!;
    const worker = plans.find((p) => p.process === "worker")!;
    expect(web.entrypoint).toEqual(["/bin/sh"]);
    expect(web.cmd).toEqual([
      "-c",
      'set -e\n./migrate\nexec "$@"',
      "prerun",
      "/entry.sh",
      "serve",
      "--port=5000",
    ]);
    expect(worker.entrypoint).toBeUndefined();
    expect(worker.cmd).toEqual(processCommand("node worker.js", ["./migrate"]));
  });

  it("without hooks the image's command is left alone", () => {
    const [web] = planRelease({ ...base, prerun: [], processes: { web: undefined }, imageCommand: ["x"] });
    expect(web!.entrypoint).toBeUndefined();
    expect(web!.cmd).toBeUndefined();
  });
});
