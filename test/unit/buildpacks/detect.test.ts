import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { BUILDPACKS, detect, FIXTURES, makeApp } from "./helpers.js";

type Group = Array<{ id: string; optional?: boolean }>;
const order = (
  parse(readFileSync(join(BUILDPACKS, "order.toml"), "utf8")) as { order: Array<{ group: Group }> }
).order;

/**
 * Order resolution as the spec describes it: the first group whose required buildpacks all pass. Like the
 * lifecycle, a buildpack's detect runs once per app however many groups name it (each costs a bash and often
 * a python3 start: run again for every group, the slowest cases took over 20 s on a loaded machine).
 */
async function resolveGroup(appDir: string): Promise<string[] | null> {
  const codes = new Map<string, Promise<number | undefined>>();
  const detectOnce = (id: string) => {
    if (!codes.has(id)) codes.set(id, detect(id.replace("hop3/", ""), appDir));
    return codes.get(id) as Promise<number | undefined>;
  };
  for (const { group } of order) {
    const chosen: string[] = [];
    let ok = true;
    for (const e of group) {
      const code = await detectOnce(e.id);
      if (code === 0) chosen.push(e.id);
      else if (code === 100 && e.optional) continue;
      else if (code === 100) {
        ok = false;
        break;
      } else throw new Error(`${e.id} detect exited ${code}`);
    }
    if (ok && chosen.length) return chosen;
  }
  return null;
}

describe("detection of the fixture apps", () => {
  const cases: Record<string, string[]> = {
    "npm-lockfile": ["hop3/nodejs"],
    "yarn-app": ["hop3/nodejs"],
    "bare-server-js": ["hop3/nodejs"],
    "python-wsgi": ["hop3/python", "hop3/procfile"],
    "python-pyproject": ["hop3/python", "hop3/procfile"],
    "go-module": ["hop3/go"],
    "go-gopath": ["hop3/go"],
    "static-site": ["hop3/static"],
    "static-piku": ["hop3/static", "hop3/procfile"],
    "procfile-multi": ["hop3/nodejs", "hop3/procfile"],
    "hop3toml-hooks": ["hop3/prebuild", "hop3/python", "hop3/procfile", "hop3/postbuild"],
    "failing-build": ["hop3/nodejs"],
    "failing-release": ["hop3/nodejs", "hop3/procfile"],
    "ruby-app": ["hop3/ruby"],
    "dokku-ruby": ["hop3/ruby", "hop3/procfile"],
    "ruby-postgres": ["hop3/ruby", "hop3/procfile"],
    "php-app": ["hop3/php"],
  };
  for (const [app, group] of Object.entries(cases)) {
    it(`${app} -> ${group.join(", ")}`, async () => {
      expect(await resolveGroup(join(FIXTURES, app))).toEqual(group);
    });
  }
});

describe("detection precedence", () => {
  it("a Node app with an index.html at the root is a Node app, without the static server", async () => {
    const app = makeApp({ "package.json": '{"scripts":{"start":"node s.js"}}', "index.html": "<p>hi</p>" });
    expect(await resolveGroup(app)).toEqual(["hop3/nodejs"]);
  });

  it("a Node app with a Procfile static: entry gets the static server too", async () => {
    const app = makeApp({ "package.json": "{}", Procfile: "static: dist\n" });
    expect(await resolveGroup(app)).toEqual(["hop3/nodejs", "hop3/static", "hop3/procfile"]);
  });

  it("static never joins an app that has its own web or wsgi process", async () => {
    expect(await detect("static", makeApp({ Procfile: "web: x\nstatic: public\n" }))).toBe(100);
    expect(await detect("static", makeApp({ Procfile: "wsgi: app:app\nstatic: /s:public\n" }))).toBe(100);
    expect(await detect("static", makeApp({ ".static": "", "hop3.toml": '[run]\nstart = "x"\n' }))).toBe(100);
  });

  it("a Procfile wsgi: entry alone makes a Python app; hop3/Procfile is found", async () => {
    expect(await resolveGroup(makeApp({ "hop3/Procfile": "wsgi: app:app\n", "app.py": "" }))).toEqual([
      "hop3/python",
      "hop3/procfile",
    ]);
  });

  it("hop3.toml [run].start alone is enough for the Procfile buildpack", async () => {
    expect(await resolveGroup(makeApp({ "hop3.toml": '[run]\nstart = "./run.sh"\n' }))).toEqual([
      "hop3/procfile",
    ]);
  });

  it("an empty repository matches no group", async () => {
    expect(await resolveGroup(makeApp({ "README.md": "nothing" }))).toBeNull();
  });
});
