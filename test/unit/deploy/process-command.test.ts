import { execFileSync, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { processCommand } from "../../../src/deploy/plan.js";

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
