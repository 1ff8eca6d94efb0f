/**
 * hop3/python's Debian fallback (lib/debian_reqs.py): which Debian package meets which requirement, read with the
 * host's apt (a Debian 12 like the build image). Version arithmetic is checked on its own.
 */
import { execSync } from "node:child_process";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { BUILDPACKS, makeApp } from "./helpers.js";

const helper = join(BUILDPACKS, "python/lib/debian_reqs.py");
const hasApt = (() => {
  try {
    return execSync("apt-cache policy python3-flask", { encoding: "utf8" }).includes("Candidate: 2.");
  } catch {
    return false;
  }
})();

async function py(code: string): Promise<string> {
  const r = await execa("python3", ["-c", code], { cwd: join(BUILDPACKS, "python/lib") });
  return String(r.stdout);
}

describe("hop3/python: requirements met by Debian packages", () => {
  it("reads the upstream version out of a Debian version", async () => {
    const out = await py(
      "import debian_reqs as d\nfor v in ['2.2.2-3', '1:2.2.2+dfsg-3', '20.1.0-6+deb12u1', '1.2+really1.1-1', '3.14.10+dfsg-1+b3', '2.0~rc1-1']: print(d.upstream(v))",
    );
    expect(out.split("\n")).toEqual(["2.2.2", "2.2.2", "20.1.0", "1.1", "3.14.10", "2.0"]);
  });

  it.runIf(hasApt)("meets what Debian has at a satisfying version and names what it cannot", async () => {
    const app = makeApp({
      "requirements.txt":
        "Flask>=2.0  # comment\nJinja2==3.1.2\n-r more.txt\n--index-url https://mirror.example/simple\n" +
        'pywin32; sys_platform == "win32"\nFlask==3.0.3\nno-such-project-hop3\nfoo @ https://example.org/foo.whl\n',
      "more.txt": "gunicorn\n",
    });
    const r = await execa("python3", [helper, "resolve", join(app, "requirements.txt"), app]);
    const res = JSON.parse(String(r.stdout)) as {
      met: { requirement: string; package: string; version: string }[];
      unmet: { requirement: string; why: string }[];
      notes: string[];
    };
    expect(res.met.map((m) => [m.requirement, m.package])).toEqual([
      ["Flask>=2.0", "python3-flask"],
      ["Jinja2==3.1.2", "python3-jinja2"],
      ["gunicorn", "python3-gunicorn"],
    ]);
    expect(res.unmet.map((u) => u.requirement)).toEqual([
      "Flask==3.0.3",
      "no-such-project-hop3",
      "foo @ https://example.org/foo.whl",
    ]);
    expect(res.unmet[0]!.why).toMatch(/^python3-flask is 2\.\S+, which does not satisfy ==3\.0\.3$/);
    expect(res.unmet[1]!.why).toBe("no package python3-no-such-project-hop3");
    expect(res.notes.join("\n")).toContain("ignored for Debian packages: --index-url");
    expect(res.notes.join("\n")).toContain("skipped (its marker is false here): pywin32");
  });

  it.runIf(hasApt)("uses dh-python's name table when given one (PyYAML -> python3-yaml)", async () => {
    const app = makeApp({ "requirements.txt": "PyYAML>=5\n", "map.txt": "PyYAML python3-yaml\n" });
    const r = await execa("python3", [
      helper,
      "resolve",
      join(app, "requirements.txt"),
      app,
      join(app, "map.txt"),
    ]);
    expect(JSON.parse(String(r.stdout)).met[0].package).toBe("python3-yaml");
  });
});
