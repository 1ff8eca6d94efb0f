import { describe, expect, it } from "vitest";
import { applyBuildLayer, applyEnvFiles } from "../../../src/build/cnb/env-rules.js";

describe("CNB env file rules", () => {
  it("applies override, default, append and prepend with .delim", () => {
    const env = applyEnvFiles({ PATH: "/usr/bin", KEEP: "k" }, [
      { name: "PATH.prepend", value: "/opt/bin\n" },
      { name: "PATH.delim", value: ":" },
      { name: "KEEP.default", value: "other" },
      { name: "NEW.default", value: "n" },
      { name: "FLAGS.append", value: "-O2" },
      { name: "PLAIN", value: "p" },
      { name: "bad-name.override", value: "x" },
      { name: "X.unknown", value: "x" },
    ]);
    expect(env).toEqual({ PATH: "/opt/bin:/usr/bin", KEEP: "k", NEW: "n", FLAGS: "-O2", PLAIN: "p" });
  });

  it("appends without a delimiter when there is no .delim file", () => {
    expect(applyEnvFiles({ A: "x" }, [{ name: "A.append", value: "y" }])).toEqual({ A: "xy" });
  });

  it("puts build layers' bin and lib on the paths, then env and env.build", () => {
    const env = applyBuildLayer(
      { PATH: "/usr/bin" },
      {
        path: "/layers/bp/node",
        dirs: { bin: true, lib: true, include: false, pkgconfig: false },
        env: [{ name: "NODE_HOME.override", value: "/layers/bp/node" }],
        envBuild: [{ name: "NODE_ENV.default", value: "production" }],
      },
    );
    expect(env).toEqual({
      PATH: "/layers/bp/node/bin:/usr/bin",
      LD_LIBRARY_PATH: "/layers/bp/node/lib",
      LIBRARY_PATH: "/layers/bp/node/lib",
      NODE_HOME: "/layers/bp/node",
      NODE_ENV: "production",
    });
  });
});
