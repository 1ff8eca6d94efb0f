/**
 * Every server setting is read by one schema (src/server/settings.ts) and reaches the part it configures through
 * the functions derived from it: one test per documented setting, through to what that part produces (the
 * router's configuration, the build's network, the platform's URLs). And the docs list no setting the server
 * would ignore.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { buildNetworkConfig } from "../../../src/build/cnb/build-network.js";
import { appUrl, defaultHostname } from "../../../src/deploy/urls.js";
import { renderCaddyConfig } from "../../../src/router/caddy-config.js";
import { createRouter } from "../../../src/router/index.js";
import { chooseSupervisor } from "../../../src/runtime/supervisor-select.js";
import {
  appGatewayState,
  buildpacksSettingsOf,
  DEFAULT_ROOT,
  loadSettings,
  paths,
  platformSettingsOf,
  routerSettingsOf,
  settingNames,
  usesAppGateway,
} from "../../../src/server/settings.js";

const repo = resolve(import.meta.dirname, "..", "..", "..");
const caddyOpts = { adminSocket: "/run/admin.sock", storageDir: "/data" };
const route = { app: "web", hosts: ["web.example.org"], upstreams: [{ host: "10.0.0.2", port: 5000 }] };
const caddy = (env: NodeJS.ProcessEnv, opts: object = {}) =>
  JSON.stringify(renderCaddyConfig([route], routerSettingsOf(loadSettings(env)), { ...caddyOpts, ...opts }));

describe("loadSettings", () => {
  it("has one default for everything", () => {
    const s = loadSettings({});
    expect(s.HOP3_ROOT).toBe(DEFAULT_ROOT);
    expect(routerSettingsOf(s)).toEqual({ httpPort: 80, httpsPort: 443, tls: "auto", upstreams: "dns" });
    expect(platformSettingsOf(s)).toMatchObject({ root: DEFAULT_ROOT, baseDomain: "hop3.localhost" });
  });

  it("refuses bad values, naming the setting and the value", () => {
    expect(() => loadSettings({ HOP3_HTTP_PORT: "80x" })).toThrow(/HOP3_HTTP_PORT="80x"/);
    expect(() => loadSettings({ HOP3_HTTPS_PORT: "70000" })).toThrow(/HOP3_HTTPS_PORT/);
    expect(() => loadSettings({ HOP3_TLS: "on" })).toThrow(/HOP3_TLS="on"/);
    expect(() => loadSettings({ HOP3_HTTP_PORT: "443" })).toThrow(/both 443/);
    expect(() => loadSettings({ HOP3_ROUTER: "nginx" })).toThrow(/HOP3_ROUTER/);
    expect(() => loadSettings({ HOP3_ROUTER_UPSTREAMS: "consul" })).toThrow(/HOP3_ROUTER_UPSTREAMS/);
    expect(() => loadSettings({ HOP3_SUPERVISOR: "docker" })).toThrow(/HOP3_SUPERVISOR/);
    expect(() => loadSettings({ HOP3_ACME_CA_ROOT: "/nonexistent/root.pem" })).toThrow(/no such file/);
    expect(() => loadSettings({ HOP3_BASE_DOMAIN: "Bad_Domain" })).toThrow(/HOP3_BASE_DOMAIN/);
  });

  it("takes words in any case, and empty values as unset", () => {
    const s = loadSettings({
      HOP3_TLS: " Off",
      HOP3_ROUTER: "Traefik",
      HOP3_SUPERVISOR: "",
      HOP3_ACME_EMAIL: "",
    });
    expect(s.HOP3_TLS).toBe("off");
    expect(s.HOP3_ROUTER).toBe("traefik");
    expect(s.HOP3_SUPERVISOR).toBeUndefined();
    expect(s.HOP3_ACME_EMAIL).toBeUndefined();
  });
});

describe("each setting takes effect", () => {
  it("HOP3_ROOT: the data directory of the platform, its socket and the build cache", () => {
    const s = loadSettings({ HOP3_ROOT: "/srv/hop3" });
    expect(platformSettingsOf(s).root).toBe("/srv/hop3");
    expect(paths(s.HOP3_ROOT).socket).toBe("/srv/hop3/run/hop3.sock");
    expect(buildpacksSettingsOf(s).root).toBe("/srv/hop3");
  });

  it("HOP3_BASE_DOMAIN: the apps' default hostnames", () => {
    const s = platformSettingsOf(loadSettings({ HOP3_BASE_DOMAIN: "paas.example.org" }));
    expect(defaultHostname("blog", s)).toBe("blog.paas.example.org");
  });

  it("HOP3_HTTP_PORT, HOP3_HTTPS_PORT: the router's listeners and the apps' URLs", () => {
    const env = { HOP3_HTTP_PORT: "8080", HOP3_HTTPS_PORT: "8443" };
    expect(caddy(env)).toContain('":8080"');
    expect(caddy(env)).toContain('":8443"');
    expect(appUrl("a.hop3.localhost", platformSettingsOf(loadSettings({ ...env, HOP3_TLS: "off" })))).toBe(
      "http://a.hop3.localhost:8080/",
    );
  });

  it("HOP3_TLS: off means no certificate management at all", () => {
    expect(caddy({})).toContain('"automation"');
    expect(caddy({ HOP3_TLS: "off" })).not.toContain('"automation"');
  });

  it("HOP3_ACME_EMAIL, HOP3_ACME_CA, HOP3_ACME_CA_ROOT: the ACME issuer of the router", () => {
    const dir = mkdtempSync(join(tmpdir(), "hop3-settings-"));
    const root = join(dir, "pebble.pem");
    writeFileSync(root, "-----BEGIN CERTIFICATE-----\n");
    const env = {
      HOP3_ACME_EMAIL: "ops@example.org",
      HOP3_ACME_CA: "https://127.0.0.1:14000/dir",
      HOP3_ACME_CA_ROOT: root,
    };
    // the server used to drop HOP3_ACME_CA_ROOT: the router never trusted a private CA's root
    expect(routerSettingsOf(loadSettings(env)).acmeCaRootFile).toBe(root);
    const json = caddy(env, { acmeTrustedRootsFile: "/config/acme-roots.pem" });
    expect(json).toContain('"email":"ops@example.org"');
    expect(json).toContain('"ca":"https://127.0.0.1:14000/dir"');
    expect(json).toContain('"trusted_roots_pem_files":["/config/acme-roots.pem"]');
  });

  it("HOP3_ROUTER: which router the server creates", () => {
    const deps = {
      docker: new Docker({ socketPath: "/nonexistent.sock" }),
      stateDir: "/tmp/unused",
      settings: routerSettingsOf(loadSettings({})),
      baseImage: "localhost/hop3/base:bookworm",
      imagesDir: "/tmp/images",
    };
    expect(createRouter(loadSettings({ HOP3_ROUTER: "traefik" }).HOP3_ROUTER, deps).kind).toBe("traefik");
    expect(createRouter(loadSettings({}).HOP3_ROUTER, deps).kind).toBe("caddy");
  });

  it("HOP3_ROUTER_UPSTREAMS: static upstreams in Caddy's configuration, or the DNS responder", () => {
    expect(routerSettingsOf(loadSettings({ HOP3_ROUTER_UPSTREAMS: "static" })).upstreams).toBe("static");
    expect(routerSettingsOf(loadSettings({})).upstreams).toBe("dns");
  });

  it("HOP3_APP_GATEWAY: on, off, or auto (the default: on wherever the router is Caddy)", () => {
    const uses = (env: Record<string, string>) => usesAppGateway(loadSettings(env));
    expect(loadSettings({}).HOP3_APP_GATEWAY).toBe("auto");
    expect(uses({})).toBe(true);
    expect(uses({ HOP3_APP_GATEWAY: "on" })).toBe(true);
    expect(uses({ HOP3_APP_GATEWAY: "off" })).toBe(false);
    expect(uses({ HOP3_APP_GATEWAY: "on", HOP3_ROUTER: "traefik" })).toBe(false);
    expect(uses({ HOP3_ROUTER: "traefik" })).toBe(false);
    expect(() => loadSettings({ HOP3_APP_GATEWAY: "yes" })).toThrow(/HOP3_APP_GATEWAY/);
    // what hop doctor says, and why
    const state = (env: Record<string, string>) => appGatewayState(loadSettings(env));
    expect(state({})).toBe("on (HOP3_APP_GATEWAY=auto): web processes publish no port");
    expect(state({ HOP3_APP_GATEWAY: "off" })).toBe(
      "off (HOP3_APP_GATEWAY=off): web processes publish a port on 127.0.0.1",
    );
    expect(state({ HOP3_ROUTER: "traefik" })).toMatch(/^off \(Traefik cannot dial Unix sockets\)/);
  });

  it("HOP3_SUPERVISOR: forces the supervisor", () => {
    const facts = { pid1: "init", systemdBooted: false };
    const forced = loadSettings({ HOP3_SUPERVISOR: "podman" }).HOP3_SUPERVISOR;
    expect(chooseSupervisor(facts, forced).reason).toMatch(/HOP3_SUPERVISOR|systemd/);
    expect(() =>
      chooseSupervisor(facts, loadSettings({ HOP3_SUPERVISOR: "quadlet" }).HOP3_SUPERVISOR),
    ).toThrow(/HOP3_SUPERVISOR=quadlet/);
  });

  it("HOP3_DRAIN_SECONDS, HOP3_RELEASE_RETENTION: the rollout's drain and the images kept", () => {
    const s = platformSettingsOf(loadSettings({ HOP3_DRAIN_SECONDS: "7", HOP3_RELEASE_RETENTION: "3" }));
    expect(s.drainSeconds).toBe(7);
    expect(s.retention).toBe(3);
  });

  it("HOP3_BASE_IMAGE, HOP3_IMAGES_DIR, HOP3_BUILDPACKS_DIR, HOP3_BUILDPACKS_PATHS, HOP3_CNB_STACK: the builds", () => {
    const b = buildpacksSettingsOf(
      loadSettings({
        HOP3_BASE_IMAGE: "localhost/mine:12",
        HOP3_IMAGES_DIR: "/srv/images",
        HOP3_BUILDPACKS_DIR: "/srv/buildpacks",
        HOP3_BUILDPACKS_PATHS: "/a:/b",
        HOP3_CNB_STACK: "trixie",
      }),
    );
    expect(b).toMatchObject({
      baseImage: "localhost/mine:12",
      imagesDir: "/srv/images",
      buildpacksDir: "/srv/buildpacks",
      stack: "trixie",
    });
    expect(b.allowedBuildpackRoots.slice(0, 2)).toEqual(["/a", "/b"]);
  });

  it("HOP3_ADDON_IMAGES: build never asks a registry for the addons' official images", () => {
    expect(loadSettings({}).HOP3_ADDON_IMAGES).toBe("auto");
    expect(loadSettings({ HOP3_ADDON_IMAGES: " Build" }).HOP3_ADDON_IMAGES).toBe("build");
    expect(() => loadSettings({ HOP3_ADDON_IMAGES: "pull" })).toThrow(/HOP3_ADDON_IMAGES/);
  });

  it("HOP3_BUILD_CA_FILE and the build proxies: what build containers get", () => {
    const b = buildpacksSettingsOf(
      loadSettings({
        HOP3_BUILD_CA_FILE: "/etc/hop3/corp-ca.pem",
        HOP3_BUILD_HTTP_PROXY: "http://proxy:3128",
        HOP3_BUILD_HTTPS_PROXY: "http://proxy:3129",
        HOP3_BUILD_NO_PROXY: "localhost",
      }),
    );
    const cfg = buildNetworkConfig(b.network);
    expect(cfg.binds[0]).toMatch(/^\/etc\/hop3\/corp-ca\.pem:/);
    expect(cfg.env).toMatchObject({
      HTTP_PROXY: "http://proxy:3128",
      HTTPS_PROXY: "http://proxy:3129",
      NO_PROXY: "localhost",
    });
    expect(
      buildNetworkConfig(buildpacksSettingsOf(loadSettings({ HOP3_BUILD_CA_FILE: "none" })).network).binds,
    ).toEqual([]);
    const mirror = loadSettings({ HOP3_BUILD_PIP_INDEX_URL: "https://pypi.example.org/simple" });
    expect(buildNetworkConfig(buildpacksSettingsOf(mirror).network).env.PIP_INDEX_URL).toBe(
      "https://pypi.example.org/simple",
    );
    expect(() => loadSettings({ HOP3_BUILD_PIP_INDEX_URL: "not a url" })).toThrow(/HOP3_BUILD_PIP_INDEX_URL/);
  });
});

describe("the documentation", () => {
  /** HOP3_* names in the first column of the settings tables of a doc. */
  const documented = (doc: string, heading: RegExp) => {
    const text = readFileSync(join(repo, "docs", doc), "utf8");
    const start = text.search(heading);
    expect(start, `${doc} has a section matching ${heading}`).toBeGreaterThanOrEqual(0);
    const section = text
      .slice(start)
      .split(/\n#{1,3} /)[0]!
      .split("\nFor this run only")[0]!;
    const names = new Set<string>();
    for (const line of section.split("\n")) {
      const first = line.startsWith("|") ? (line.split("|")[1] ?? "") : "";
      for (const m of first.matchAll(/HOP3_[A-Z0-9_]+/g)) names.add(m[0]);
    }
    return [...names];
  };

  it("lists no server setting that the server does not read", () => {
    const names = [
      ...documented("operations.md", /## Changing settings/),
      ...documented("install.md", /is saved again\)/),
      ...documented("routing.md", /\| `HOP3_HTTP_PORT`/),
    ];
    expect(names.length).toBeGreaterThan(10);
    const unknown = names.filter((n) => !settingNames.includes(n));
    expect(unknown, "documented as server settings, but not in src/server/settings.ts").toEqual([]);
  });

  it("documents every setting the server reads", () => {
    const names = documented("operations.md", /## Changing settings/);
    const undocumented = settingNames.filter((n) => n !== "HOP3_ROOT" && !names.includes(n));
    expect(undocumented, "read by src/server/settings.ts, missing from docs/operations.md").toEqual([]);
  });
});
