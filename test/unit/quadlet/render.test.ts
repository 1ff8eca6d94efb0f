import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type ContainerPlan, planRelease } from "../../../src/deploy/plan.js";
import { AppGateway } from "../../../src/router/app-gateway.js";
import { CaddyRouter } from "../../../src/router/caddy-router.js";
import { TraefikRouter } from "../../../src/router/traefik-router.js";
import { keysFor, requireKeys } from "../../../src/runtime/quadlet/keys.js";
import {
  quoteWord,
  renderAddonUnit,
  renderContainerUnit,
  renderEnvFile,
  renderNetworkUnit,
  renderRouterUnit,
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
  env: {
    DATABASE_URL: "postgres://u:p@db/shop",
    QUOTED: '"kept"',
    // what systemd would expand or trim in a unit: $VAR, %specifiers, backslashes, outer spaces
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${USER}, which systemd must not expand
    TRICKY: "  $HOME ${USER} %h %% a\\b 'single' #hash ",
  },
  webPort: 8080,
  hostNames: ["shop.example.test"],
  generation: "a1b2c3",
  // attached to the addon below: its units start first at boot
  startsAfter: ["hop3-addon-shop-db"],
});
const web = plans.find((p) => p.process === "web")!;
/** A web instance with every limit set (hop3.toml [limits] memory = "512M", cpu = 0.5, processes = 64). */
const limited: ContainerPlan = {
  ...web,
  limits: { memoryBytes: 512 * 1024 * 1024, cpus: 0.5, pids: 64 },
};
const worker = plans.find((p) => p.process === "worker")!;
const envFile = "/home/hop3/.config/containers/systemd/x.env";

/** A Postgres addon attached to two apps, published for an SSH tunnel, with a memory limit. */
const addonSpec = {
  name: "hop3-addon-shop-db",
  addon: "shop-db",
  image: "localhost/hop3/addon-postgres:15-98e0065bc824",
  cmd: ["postgres", "-c", "listen_addresses=*"],
  labels: { "io.hop3.managed": "true", "io.hop3.role": "addon", "io.hop3.addon": "shop-db" },
  ownNetwork: "hop3-addon-shop-db",
  appNetworks: ["hop3-shop", "hop3-admin"],
  volume: { name: "hop3-addon-shop-db-data", target: "/var/lib/postgresql/data" },
  memoryBytes: 256 * 1024 * 1024,
  publish: { hostPort: 15432, containerPort: 5432 },
  envFile: "/home/hop3/.config/containers/systemd/hop3-addon-shop-db.env",
  description: "Hop3 addon shop-db (postgres)",
};

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

  it("writes every variable to the env file, byte for byte, and none into the unit", async () => {
    const { file, unit } = splitEnv(worker.env, "5.4.2");
    expect(file).toEqual(worker.env);
    expect(unit).toEqual({});
    const envText = renderEnvFile(worker.env, "5.4.2");
    await expect(envText).toMatchFileSnapshot("golden/shop.env");
    // podman's reading of an env file: the value is everything after the first "=" to the end of the line
    const read = Object.fromEntries(
      envText
        .split("\n")
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    expect(read).toEqual(worker.env);
    for (const version of ["4.4.0", "4.7.2", "5.4.2"]) {
      const text = renderContainerUnit(worker, { podmanVersion: version, envFile });
      expect(text).not.toMatch(/^Environment=/m);
      for (const key of ["DATABASE_URL", "QUOTED", "TRICKY"]) expect(text).not.toContain(worker.env[key]);
    }
  });

  it("on podman 4.7.0, whose env-file parser read quotes and comments, keeps non-plain values in the unit", () => {
    const { file, unit } = splitEnv(worker.env, "4.7.0");
    expect(file.DATABASE_URL).toBe("postgres://u:p@db/shop");
    expect(Object.keys(unit).sort()).toEqual(["QUOTED", "TRICKY"]);
    const text = renderContainerUnit(worker, { podmanVersion: "4.7.0", envFile });
    expect(text).toContain('Environment="QUOTED=\\"kept\\""\n');
    expect(text).toContain(`Environment="TRICKY=  $$HOME $\${USER} %%h %%%% a\\\\b 'single' #hash "\n`);
  });

  it("refuses a value no env file line can hold (stored before values were checked), naming it", () => {
    const multi: ContainerPlan = { ...web, env: { PEM: "line1\nline2" } };
    expect(() => renderContainerUnit(multi, { podmanVersion: "5.4.2", envFile })).toThrow(
      /the value of PEM contains a line feed \(U\+000A\)/,
    );
    expect(() => renderEnvFile({ NUL: "a\0b" })).toThrow(/NUL byte/);
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

describe("[[volumes]] in container units", () => {
  const mounts = [
    { kind: "volume" as const, volume: "hop3-shop-data", target: "/data" },
    {
      kind: "bind" as const,
      source: "/var/lib/hop3/data/shop/up",
      target: "/up",
      base: "/var/lib/hop3/data/shop",
    },
    { kind: "tmpfs" as const, target: "/scratch", size: "1024", mode: "1777" },
  ];
  it("refers to the .volume unit and writes tmpfs with its options (podman 5.4)", () => {
    const unit = renderContainerUnit({ ...web, mounts }, { podmanVersion: "5.4.2", envFile });
    expect(unit).toContain("Volume=hop3-shop-data.volume:/data:U\n");
    expect(unit).toContain("Volume=/var/lib/hop3/data/shop/up:/up:U\n");
    expect(unit).toContain("Tmpfs=/scratch:size=1024,mode=1777\n");
  });
  it("names the volume itself where there is no VolumeName= (podman 4.4)", () => {
    const unit = renderContainerUnit({ ...web, mounts }, { podmanVersion: "4.4.0", envFile });
    expect(unit).toContain("Volume=hop3-shop-data:/data:U\n");
    expect(unit).toContain("PodmanArgs=--tmpfs=/scratch:size=1024,mode=1777\n");
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

  for (const version of ["4.4", "4.9", "5.4", "5.5"]) {
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
      const units = [...plans, limited].map((p) =>
        renderContainerUnit(p, { podmanVersion: version, envFile }),
      );
      units.push(renderRouterUnit(caddy.containerSpec(), version));
      units.push(renderRouterUnit(traefik.containerSpec(), version));
      units.push(renderRouterUnit(gateway.spec("hop3-gateway"), version));
      units.push(renderAddonUnit(addonSpec, version));
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

describe("renderAddonUnit", () => {
  it("matches the golden Postgres addon unit for podman 5.4 (systemd 257)", async () => {
    await expect(renderAddonUnit(addonSpec, "5.4.2", 257)).toMatchFileSnapshot(
      "golden/hop3-addon-shop-db.container",
    );
  });

  it("keeps the credentials out of the unit, and gives the alias on each app's network only", () => {
    const unit = renderAddonUnit(addonSpec, "5.4.2");
    expect(unit).toContain(`EnvironmentFile=${addonSpec.envFile}\n`);
    expect(unit).not.toMatch(/^Environment=/m);
    expect(unit).not.toContain("NetworkAlias=");
    expect(unit.match(/^Network=.*$/gm)).toEqual([
      "Network=hop3-addon-shop-db",
      "Network=hop3-admin:alias=shop-db",
      "Network=hop3-shop:alias=shop-db",
    ]);
    expect(unit).toContain("PublishPort=127.0.0.1:15432:5432\n");
    expect(unit).toContain("WantedBy=default.target");
  });

  it("writes the memory limit as PodmanArgs before Podman 5.5, as Memory= from 5.5", () => {
    expect(renderAddonUnit(addonSpec, "4.4.0")).toMatch(/^PodmanArgs=--memory=268435456b --memory-swap=/m);
    expect(renderAddonUnit(addonSpec, "5.5.0")).toMatch(/^Memory=268435456$/m);
  });
});

// The routers of a default install (stateDir /var/lib/hop3/router); no Podman is contacted to describe them.
const routerSettings = { httpPort: 80, httpsPort: 443, tls: "auto" as const, upstreams: "dns" as const };
const caddy = new CaddyRouter({
  docker: {} as never,
  stateDir: "/var/lib/hop3/router",
  settings: routerSettings,
  baseImage: "localhost/hop3/base:bookworm",
  imagesDir: "/opt/hop3/images",
  image: "localhost/hop3/caddy:2-0123456789ab",
});
const traefik = new TraefikRouter({
  docker: {} as never,
  stateDir: "/var/lib/hop3/router",
  settings: routerSettings,
});

/** One web process of release 3 of shop, nothing else: what the smaller cases below start from. */
const oneWeb = {
  app: "shop",
  release: 3,
  image: "localhost/hop3/shop:r3",
  processes: { web: undefined },
  scale: {},
  env: {},
  webPort: 8080,
  hostNames: ["shop.example.test"],
  generation: "a1b2c3",
};

describe("renderContainerUnit behind the app gateway", () => {
  const [behind] = planRelease({ ...oneWeb, reach: "gateway" });

  it("publishes no port, and fixes the instance's address and the MAC that goes with it", () => {
    for (const [version, ipLine] of [
      ["4.4", "PodmanArgs=--ip=10.89.2.254"],
      ["5.4.2", "IP=10.89.2.254"],
    ] as const) {
      const unit = renderContainerUnit(behind!, { podmanVersion: version, envFile, ip: "10.89.2.254" });
      expect(unit).toContain(`${ipLine}\n`);
      expect(unit).toContain("PodmanArgs=--mac-address=02:48:0a:59:02:fe\n");
      expect(unit).toContain("Label=io.hop3.ip=10.89.2.254\n");
      expect(unit).not.toContain("PublishPort");
    }
  });
});

const gateway = new AppGateway({
  docker: {} as never,
  stateDir: "/var/lib/hop3/gateway",
  baseImage: "localhost/hop3/base:bookworm",
  imagesDir: new URL("../../../images", import.meta.url).pathname,
  membership: "connect",
});

describe("renderRouterUnit", () => {
  it("the app gateway: on its own network, every app network joined after each start, no packet forwarding", () => {
    for (const [version, sysctl] of [
      ["4.4", "PodmanArgs=--sysctl=net.ipv4.ip_forward=0"],
      ["5.4.2", "Sysctl=net.ipv4.ip_forward=0"],
    ] as const) {
      const unit = renderRouterUnit(gateway.spec("hop3-gateway"), version);
      expect(unit).toContain("Network=hop3-gateway\n");
      // its own socket directory, under the one the router mounts
      expect(unit).toContain("Volume=/var/lib/hop3/gateway/sockets/hop3-gateway:/run/hop3-gateway\n");
      expect(unit).toContain("Label=io.hop3.role=gateway\n");
      expect(unit).toContain(`${sysctl}\n`);
      // a digest of the spec: a gateway started from an older one is replaced (app-gateway.ts)
      expect(unit).toMatch(/^Label=io\.hop3\.spec=[0-9a-f]{12}$/m);
      expect(unit).toMatch(/^ExecStartPost=.*io\.hop3\.app.*network connect/m);
      expect(unit).not.toContain("PublishPort");
    }
  });

  it("a container created on several networks gets one Network= each", () => {
    const unit = renderRouterUnit(
      { ...gateway.spec("hop3-gateway"), networks: ["hop3-a", "hop3-b"] },
      "5.4.2",
    );
    expect(unit).toMatch(/^Network=hop3-gateway\nNetwork=hop3-a\nNetwork=hop3-b$/m);
  });

  it("is the unit shipped as systemd/hop3-router.container (Caddy, podman 5.4)", async () => {
    const unit = renderRouterUnit(caddy.containerSpec(), "5.4.2");
    await expect(unit).toMatchFileSnapshot("../../../systemd/hop3-router.container");
    expect(unit).toContain("Network=host\n");
    expect(unit).toContain("Volume=/var/lib/hop3/router/config:/etc/hop3-router:ro\n");
    expect(unit).toContain("AddHost=loopback.hop3.internal:127.0.0.1\n");
    expect(unit).toContain("Restart=always\n");
    expect(unit).toContain("WantedBy=default.target\n");
  });

  it("falls back to PodmanArgs where AddHost= and LogDriver= do not exist yet", () => {
    const unit = renderRouterUnit(caddy.containerSpec(), "4.4.0");
    expect(unit).toContain("PodmanArgs=--add-host=loopback.hop3.internal:127.0.0.1\n");
    expect(unit).toContain("PodmanArgs=--log-driver=journald\n");
    expect(unit).not.toContain("AddHost=");
  });

  it("passes Traefik its configuration file as the command", () => {
    const unit = renderRouterUnit(traefik.containerSpec(), "5.4.2");
    expect(unit).toContain("Exec=--configFile=/etc/hop3-router/traefik.yml\n");
    expect(unit).toContain("Image=docker.io/library/traefik:v3.3\n");
  });
});

describe("resource limits in units", () => {
  const mem = String(512 * 1024 * 1024);
  it("uses Memory= (5.5+) and PidsLimit= (4.7+), PodmanArgs= for the rest", () => {
    const unit = renderContainerUnit(limited, { podmanVersion: "5.5.0", envFile });
    expect(unit).toContain(`Memory=${mem}\n`);
    expect(unit).toContain("PidsLimit=64\n");
    expect(unit).toContain(`PodmanArgs=--memory-swap=${mem}b --cpus=0.5\n`);
  });

  it("falls back to PodmanArgs= where the keys do not exist yet", () => {
    const unit = renderContainerUnit(limited, { podmanVersion: "4.4.0", envFile });
    expect(unit).not.toMatch(/^Memory=|^PidsLimit=/m);
    expect(unit).toContain(`PodmanArgs=--memory=${mem}b --memory-swap=${mem}b --pids-limit=64 --cpus=0.5\n`);
    const v49 = renderContainerUnit(limited, { podmanVersion: "4.9.3", envFile });
    expect(v49).toContain("PidsLimit=64\n");
    expect(v49).toContain(`PodmanArgs=--memory=${mem}b --memory-swap=${mem}b --cpus=0.5\n`);
  });

  it("writes no limit keys for a plan without limits", () => {
    expect(renderContainerUnit(web, { podmanVersion: "5.5.0", envFile })).not.toMatch(
      /Memory=|PidsLimit|--cpus/,
    );
  });
});

describe("restart policy: back off, never give up", () => {
  it("lifts the start limit and grows the delay up to a minute (systemd 254+, or unknown)", () => {
    for (const unit of [
      renderContainerUnit(web, { podmanVersion: "5.4.2", envFile }),
      renderContainerUnit(web, { podmanVersion: "5.4.2", envFile, systemdVersion: 257 }),
      renderRouterUnit(caddy.containerSpec(), "5.4.2", 254),
    ]) {
      expect(unit).toMatch(/\[Unit\][^[]*StartLimitIntervalSec=0\n/);
      expect(unit).toMatch(
        /\[Service\]\nRestart=always\nRestartSec=1\nRestartSteps=10\nRestartMaxDelaySec=60\n/,
      );
    }
  });

  it("keeps a fixed, longer delay where systemd cannot grow it (before 254), still never giving up", () => {
    for (const unit of [
      renderContainerUnit(web, { podmanVersion: "4.9.3", envFile, systemdVersion: 252 }),
      renderRouterUnit(caddy.containerSpec(), "4.9.3", 252),
    ]) {
      expect(unit).toContain("StartLimitIntervalSec=0\n");
      expect(unit).toContain("RestartSec=5\n");
      expect(unit).not.toContain("RestartSteps");
    }
  });

  it("the shipped hop3-server.service backs off and never gives up either", () => {
    const unit = readFileSync(new URL("../../../systemd/hop3-server.service", import.meta.url), "utf8");
    expect(unit).toMatch(/\[Unit\][^[]*StartLimitIntervalSec=0\n/);
    expect(unit).toMatch(/RestartSteps=\d+\n/);
    expect(unit).toMatch(/RestartMaxDelaySec=\d+\n/);
  });
});

describe("renderContainerUnit: before-run hooks before the image's own command", () => {
  const hooked = planRelease({
    ...oneWeb,
    prerun: ["echo ready > /tmp/ready"],
    imageCommand: ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"],
  })[0]!;

  it("sets Entrypoint= on Podman 5, where quadlet has the key", () => {
    const unit = renderContainerUnit(hooked, { podmanVersion: "5.4.2", envFile });
    expect(unit).toMatch(/^Entrypoint=\/bin\/sh$/m);
    expect(unit).toMatch(/^Exec=-c .*prerun \/docker-entrypoint\.sh nginx -g "daemon off;"$/m);
  });

  it("passes --entrypoint through PodmanArgs= before it", () => {
    const unit = renderContainerUnit(hooked, { podmanVersion: "4.4.0", envFile });
    expect(unit).not.toMatch(/^Entrypoint=/m);
    expect(unit).toMatch(/^PodmanArgs=--entrypoint=\/bin\/sh$/m);
  });
});
