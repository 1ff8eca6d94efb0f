import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { build, makeApp, processes } from "./helpers.js";

describe("hop3/nodejs build (host node and npm, no dependencies)", () => {
  it("a bare server.js becomes web: node server.js", async () => {
    const r = await build("nodejs", makeApp({ "server.js": "" }));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("-----> Node.js app detected");
    expect(processes(r)).toEqual({ web: ["node", "server.js"] });
  });

  it("installs into a cached launch layer, runs build, takes start as web, reuses the layer when warm", async () => {
    const files = {
      "package.json": JSON.stringify({
        engines: { node: "0.10.x" },
        scripts: {
          build: "node -e \"require('fs').writeFileSync('built.txt','yes')\"",
          start: "node server.js",
        },
      }),
      "server.js": "",
    };
    const app = makeApp(files);
    const cold = await build("nodejs", app);
    expect(cold.exitCode, cold.stderr).toBe(0);
    expect(cold.stdout).toContain("-----> Installing dependencies: npm install");
    expect(cold.stdout).toMatch(/done in \d+\.\ds/);
    expect(readFileSync(join(app, "built.txt"), "utf8")).toBe("yes");
    expect(processes(cold)).toEqual({ web: ["bash", "-c", "node server.js"] });
    expect(readlinkSync(join(app, "node_modules"))).toBe(join(cold.layers, "modules/node_modules"));
    const layerToml = readFileSync(join(cold.layers, "modules.toml"), "utf8");
    expect(layerToml).toMatch(/launch = true\nbuild = true\ncache = true/);
    expect(layerToml).toMatch(/key = "[0-9a-f]{64}"/);
    expect(readFileSync(join(cold.layers, "modules/env.launch/NODE_ENV.default"), "utf8")).toBe("production");

    // A fresh checkout of the same app with the previous layers: no reinstall.
    const warm = await build("nodejs", makeApp(files), { layers: cold.layers });
    expect(warm.exitCode).toBe(0);
    expect(warm.stdout).toContain("Reusing node_modules from the cache");
    expect(warm.stdout).not.toContain("Installing dependencies");
  });

  it("an engines.node the stack cannot satisfy is a warning, never a failure", async () => {
    const r = await build(
      "nodejs",
      makeApp({ "package.json": '{"engines":{"node":"0.8"}, "main":"m.js"}', "m.js": "" }),
    );
    expect(r.exitCode).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/0\.8/);
    expect(processes(r)).toEqual({ web: ["node", "m.js"] });
  });

  it("invalid package.json fails clearly", async () => {
    const r = await build("nodejs", makeApp({ "package.json": "{ nope" }));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("package.json is not valid JSON");
    expect(existsSync(join(r.layers, "launch.toml"))).toBe(false);
  });
});
