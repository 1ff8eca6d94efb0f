import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ContainerPlan, planRelease } from "../../../src/deploy/plan.js";
import { keysFor, requireKeys } from "../../../src/runtime/quadlet/keys.js";
import {
  quoteWord,
  renderContainerUnit,
  renderEnvFile,
  renderNetworkUnit,
  renderVolumeUnit,
  splitEnv,
} from "../../../src/runtime/quadlet/render.js";
import { Hop3Error } from "../../../src/util/errors.js";

const fixture = JSON.parse(
  readFileSync(new URL("../../fixtures/schemas/quadlet-keys-by-version.json", import.meta.url), "utf8"),
) as { groups: Record<string, Record<string, { since: string }>> };

const plans = planRelease({
  app: "shop",
  release: 3,
  image: "localhost/hop3/shop:r3",
  processes: { web: undefined, worker: 'python3 worker.py --greeting "hi there" --cost $5 --pct 100%' },
  scale: {},
  env: { DATABASE_URL: "postgres://u:p@db/shop", QUOTED: '"kept"', MULTI: "line1\nline2" },
  webPort: 8080,
  hostNames: ["shop.example.test"],
  generation: "a1b2c3",
});
const web = plans.find((p) => p.process === "web")!;
const worker = plans.find((p) => p.process === "worker")!;
const envFile = "/home/hop3/.config/containers/systemd/x.env";

/** The (section, key) pairs of a unit file. */
function keysOf(unit: string): [string, string][] {
  let section = "";
  const out: [string, string][] = [];
  for (const line of unit.split("\n")) {
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) section = s[1]!;
    else if (/^[A-Za-z]+=/.test(line)) out.push([section, line.slice(0, line.indexOf("="))]);
  }
  return out;
}

describe("renderContainerUnit", () => {
  it("matches the golden web unit for podman 5.4", async () => {
    const unit = renderContainerUnit(web, { podmanVersion: "5.4.2", envFile, hostPort: 41234 });
    await expect(unit).toMatchFileSnapshot("golden/web-5.4.container");
    // a fixed host port: systemd's replacement container must stay where the router points
    expect(unit).toContain("PublishPort=127.0.0.1:41234:8080\n");
    expect(renderContainerUnit(web, { podmanVersion: "5.4.2", envFile })).toContain(
      "PublishPort=127.0.0.1::8080\n",
    );
    expect(unit).toContain("Network=hop3-shop.network\n");
    expect(unit).toContain("RunInit=yes\n");
    expect(unit).toContain("Restart=always\n");
    expect(unit).toContain("WantedBy=default.target\n");
    expect(unit).not.toContain("Exec="); // the image's own CMD
    expect(unit).not.toContain("postgres://"); // secrets stay in the env file
  });

  it("matches the golden worker unit for podman 4.4 (no NetworkName=, no LogDriver=)", async () => {
    const unit = renderContainerUnit(worker, { podmanVersion: "4.4.0", envFile });
    await expect(unit).toMatchFileSnapshot("golden/worker-4.4.container");
    expect(unit).toContain("Network=hop3-shop\n");
    expect(unit).toContain("PodmanArgs=--log-driver=journald\n");
    expect(unit).not.toContain("PublishPort");
  });

  it("quotes the Procfile command for systemd: quotes, $ and % reach the app verbatim", () => {
    const unit = renderContainerUnit(worker, { podmanVersion: "5.4.2", envFile });
    expect(unit).toContain(
      'Exec=/bin/sh -c "python3 worker.py --greeting \\"hi there\\" --cost $$5 --pct 100%%"\n',
    );
  });

  it("keeps values podman versions read differently out of the env file", () => {
    const { file, unit } = splitEnv(worker.env);
    expect(file.DATABASE_URL).toBe("postgres://u:p@db/shop");
    expect(unit).toEqual({ QUOTED: '"kept"', MULTI: "line1\nline2" });
    const text = renderContainerUnit(worker, { podmanVersion: "5.4.2", envFile });
    expect(text).toContain('Environment="MULTI=line1\\nline2"\n');
    expect(text).toContain('Environment="QUOTED=\\"kept\\""\n');
    expect(renderEnvFile(worker.env)).toContain("\nDATABASE_URL=postgres://u:p@db/shop\n");
    expect(renderEnvFile(worker.env)).not.toContain("MULTI");
  });

  it("refuses invalid variable names", () => {
    const bad: ContainerPlan = { ...web, env: { "A B": "x" } };
    expect(() => renderContainerUnit(bad, { podmanVersion: "5.4.2", envFile })).toThrow(Hop3Error);
  });

  it("needs the env file path when there are env values", () => {
    expect(() => renderContainerUnit(web, { podmanVersion: "5.4.2" })).toThrow(/envFile/);
  });

  it("fails loudly for a Podman without quadlet", () => {
    expect(() => renderContainerUnit(web, { podmanVersion: "4.3.1", envFile })).toThrow(/needs Podman 4\.4/);
  });
});

describe("quoteWord", () => {
  it("escapes backslashes, control characters, specifiers and variables", () => {
    expect(quoteWord("a\\b\tc\u0001 %h $HOME")).toBe('"a\\\\b\\tc\\x01 %%h $$HOME"');
  });
});

describe("network and volume units", () => {
  it("renders the app network with its Hop3 name (podman >= 4.7)", async () => {
    const unit = renderNetworkUnit("shop", "hop3-shop", "4.9.3");
    await expect(unit).toMatchFileSnapshot("golden/hop3-shop.network");
    expect(unit).toContain("NetworkName=hop3-shop\n");
    expect(() => renderNetworkUnit("shop", "hop3-shop", "4.6.0")).toThrow(/NetworkName/);
  });

  it("renders a named volume", async () => {
    const unit = renderVolumeUnit({ app: "shop", name: "hop3-shop-data" }, "5.4.2");
    await expect(unit).toMatchFileSnapshot("golden/hop3-shop-data.volume");
    expect(() => renderVolumeUnit({ app: "shop", name: "v" }, "4.4.0")).toThrow(
      /VolumeName \(needs Podman 4\.7\)/,
    );
  });
});

describe("keys against the official key list", () => {
  it("the embedded table equals the fixture for the unit kinds Hop3 writes", () => {
    for (const [section, version] of [
      ["Container", "5.8"],
      ["Network", "5.8"],
      ["Volume", "5.8"],
    ] as const) {
      expect([...keysFor(version)[section]].sort()).toEqual(Object.keys(fixture.groups[section]!).sort());
    }
  });

  for (const version of ["4.4", "4.9", "5.4"]) {
    it(`every key of every generated unit exists in podman ${version}`, () => {
      const fromFixture = (section: string) =>
        new Set(
          Object.entries(fixture.groups[section]!)
            .filter(([, v]) => {
              const [ma, mi] = v.since.split(".").map(Number);
              const [va, vi] = version.split(".").map(Number);
              return ma! < va! || (ma === va && mi! <= vi!);
            })
            .map(([k]) => k),
        );
      const units = plans.map((p) => renderContainerUnit(p, { podmanVersion: version, envFile }));
      if (version !== "4.4") {
        units.push(renderNetworkUnit("shop", "hop3-shop", version));
        units.push(renderVolumeUnit({ app: "shop", name: "hop3-shop-data" }, version));
      }
      for (const unit of units) {
        for (const [section, key] of keysOf(unit)) {
          if (section === "Unit" || section === "Service" || section === "Install") continue;
          expect(fromFixture(section).has(key), `[${section}] ${key} in podman ${version}`).toBe(true);
        }
      }
    });
  }

  it("names the missing key and the version that has it", () => {
    expect(() => requireKeys("4.4", "Container", ["Image", "Entrypoint"])).toThrow(
      /Entrypoint \(needs Podman 5\.0\).*Podman 4\.4/,
    );
    expect(() => requireKeys("5.4", "Container", ["Bogus"])).toThrow(/Bogus \(not a quadlet key\)/);
  });
});
