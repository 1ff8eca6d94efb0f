import { describe, expect, it } from "vitest";
import { build, makeApp, processes } from "./helpers.js";

describe("hop3/procfile build", () => {
  it("turns comments, inline comments, blank lines, CRLF and odd names into processes", async () => {
    const app = makeApp({
      Procfile: [
        "# a comment",
        "",
        "web: gunicorn app:app --bind 0.0.0.0:$PORT   # inline comment",
        "worker:   python worker.py\r",
        "clock.tick-1: ./tick '#not a comment' \"#nor this\" a#b",
        "release: ./migrate",
        "cron: */5 * * * * ./cleanup --all",
        "prebuild: echo hook",
        "static: public",
        "not a process line",
        "",
      ].join("\n"),
    });
    const r = await build("procfile", app);
    expect(r.exitCode).toBe(0);
    expect(processes(r)).toEqual({
      web: ["bash", "-c", "gunicorn app:app --bind 0.0.0.0:$PORT"],
      worker: ["bash", "-c", "python worker.py"],
      "clock.tick-1": ["bash", "-c", "./tick '#not a comment' \"#nor this\" a#b"],
    });
    // One-shot commands stay with the platform, which would otherwise run every declared type as a daemon.
    expect(r.stdout).toContain(
      "not process types (hooks, one-shot or served by another buildpack): release cron prebuild static",
    );
    expect(r.launch.processes?.find((p) => p.type === "web")?.default).toBe(true);
    expect(r.launch.processes?.find((p) => p.type === "worker")?.default).toBe(false);
    expect(r.stderr).toContain("line 10 is not 'name: command'");
  });

  it("fails with a clear message on merge-conflict markers", async () => {
    const app = makeApp({ Procfile: "<<<<<<< HEAD\nweb: a\n=======\nweb: b\n>>>>>>> branch\n" });
    const r = await build("procfile", app);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("Procfile line 1 has a merge-conflict marker");
    expect(r.stderr).toContain("Resolve the conflict");
  });

  it("refuses web together with wsgi", async () => {
    const r = await build("procfile", makeApp({ Procfile: "web: a\nwsgi: app:app\n" }));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("both 'web' and 'wsgi'");
  });

  it("lets hop3.toml [run] win over the Procfile, per name, and prefers hop3/Procfile", async () => {
    const app = makeApp({
      Procfile: "web: from-root-procfile\n",
      "hop3/Procfile": "web: from-procfile\nworker: w1\n",
      "hop3.toml": '[run]\nstart = "from-hop3-toml"\n\n[run.workers]\nqueue = "q --fast"\n',
    });
    const r = await build("procfile", app);
    expect(r.exitCode).toBe(0);
    expect(processes(r)).toEqual({
      web: ["bash", "-c", "from-hop3-toml"],
      worker: ["bash", "-c", "w1"],
      queue: ["bash", "-c", "q --fast"],
    });
  });

  it("keeps the last of duplicate names, with a warning", async () => {
    const r = await build("procfile", makeApp({ Procfile: "web: one\nweb: two\n" }));
    expect(processes(r)).toEqual({ web: ["bash", "-c", "two"] });
    expect(r.stderr).toContain("defined twice");
  });
});

describe("hooks", () => {
  it("prebuild runs before-build (list or string); postbuild runs build then after-build", async () => {
    const app = makeApp({
      "hop3.toml":
        '[build]\nbefore-build = ["echo one > pre.txt", "echo two >> pre.txt"]\nbuild = "echo b > b.txt"\nafter-build = "cat b.txt > after.txt"\n',
      Procfile: "postbuild: echo ignored > ignored.txt\n",
    });
    const pre = await build("prebuild", app);
    expect(pre.exitCode).toBe(0);
    expect(pre.stdout).toContain("-----> Running hop3.toml [build].before-build: echo one > pre.txt");
    const post = await build("postbuild", app);
    expect(post.exitCode).toBe(0);
    const { readFileSync, existsSync } = await import("node:fs");
    expect(readFileSync(`${app}/pre.txt`, "utf8")).toBe("one\ntwo\n");
    expect(readFileSync(`${app}/after.txt`, "utf8")).toBe("b\n");
    expect(existsSync(`${app}/ignored.txt`)).toBe(false);
  });

  it("a failing hook fails the build and names the command", async () => {
    const r = await build("prebuild", makeApp({ Procfile: "prebuild: exit 7\n" }));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("Procfile prebuild failed: exit 7");
  });
});
