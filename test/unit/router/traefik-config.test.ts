import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import * as ajvFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderTraefikDynamic, renderTraefikStatic } from "../../../src/router/traefik-config.js";
import { Hop3Error } from "../../../src/util/errors.js";
import { expectGolden, sampleRoutes, tlsAuto, tlsOff } from "./fixtures.js";

const schemaDir = join(import.meta.dirname, "../../fixtures/schemas");
const ajv = new Ajv({ strict: false, allErrors: true });
// ajv-formats is CommonJS: under NodeNext the plugin is the namespace's `default`.
const addFormats = ajvFormats.default as unknown as (ajv: Ajv) => Ajv;
addFormats(ajv);
const validateDynamic = ajv.compile(
  JSON.parse(readFileSync(join(schemaDir, "traefik-v3-file-provider.json"), "utf8")),
);
const validateStatic = ajv.compile(JSON.parse(readFileSync(join(schemaDir, "traefik-v3.json"), "utf8")));

const paths = { dynamicDir: "/etc/hop3-router-dynamic", acmeStorage: "/data/acme.json" };

function expectValid(validate: typeof validateDynamic, yamlText: string): void {
  const ok = validate(parse(yamlText));
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);
}

// biome-ignore lint/suspicious/noExplicitAny: walking untyped YAML
type AnyJson = any;

describe("renderTraefikDynamic", () => {
  it("matches the reviewed golden files", () => {
    expectGolden("traefik-dynamic-tls-auto.yml", renderTraefikDynamic(sampleRoutes(), tlsAuto));
    expectGolden("traefik-dynamic-tls-off.yml", renderTraefikDynamic(sampleRoutes(), tlsOff));
  });

  it("validates against the Traefik v3 file provider schema", () => {
    expectValid(validateDynamic, renderTraefikDynamic(sampleRoutes(), tlsAuto));
    expectValid(validateDynamic, renderTraefikDynamic(sampleRoutes(), tlsOff));
    expectValid(validateDynamic, renderTraefikDynamic([], tlsAuto));
  });

  it("the schema catches a broken configuration (the validation can fail)", () => {
    const config = parse(renderTraefikDynamic(sampleRoutes(), tlsOff));
    config.http.services.api.loadBalancer.servers = [];
    config.http.routers.api.bogus = true;
    expect(validateDynamic(config)).toBe(false);
  });

  it("routes hosts with Host rules, wildcards with anchored HostRegexp, the catch-all last", () => {
    const http = (parse(renderTraefikDynamic(sampleRoutes(), tlsOff)) as AnyJson).http;
    expect(http.routers.blog).toMatchObject({
      rule: "Host(`blog.example.com`) || Host(`blog.localhost`) || Host(`www.example.com`)",
      entryPoints: ["web"],
      service: "blog",
    });
    expect(http.routers["blog_wildcard-0"].rule).toBe("HostRegexp(`^[a-z0-9-]+\\.blog\\.example\\.com$`)");
    expect(http.routers["fallback_catch-all"]).toMatchObject({ rule: "PathPrefix(`/`)", priority: 1 });
    expect(http.routers.blog.priority).toBeGreaterThan(http.routers["blog_wildcard-0"].priority);
    expect(http.services.blog.loadBalancer.servers).toEqual([
      { url: "http://127.0.0.1:8001" },
      { url: "http://127.0.0.1:8002" },
    ]);
    // An app without running processes gets no router: its hosts fall through to 404.
    expect(http.routers.down).toBeUndefined();
    expect(http.services.down).toBeUndefined();
    expect(Object.values(http.routers).some((r: AnyJson) => r.tls)).toBe(false);
  });

  it("with tls auto: websecure routers with the resolver, HTTP redirects, never for local names", () => {
    const http = (parse(renderTraefikDynamic(sampleRoutes(), tlsAuto)) as AnyJson).http;
    expect(http.routers.blog_secure).toMatchObject({
      entryPoints: ["websecure"],
      rule: "Host(`blog.example.com`) || Host(`www.example.com`)",
      tls: { certResolver: "hop3" },
    });
    expect(http.routers.blog_redirect.middlewares).toEqual(["hop3-redirect-https"]);
    expect(http.routers.blog.rule).toBe("Host(`blog.localhost`)");
    expect(http.routers.api.rule).toBe("Host(`10.0.0.1`)");
    expect(http.middlewares["hop3-redirect-https"].redirectScheme).toEqual({
      scheme: "https",
      port: "443",
      permanent: true,
    });
  });

  it("never uses a weighted service with weight 0", () => {
    const text = renderTraefikDynamic(sampleRoutes(), tlsAuto);
    expect(text).not.toMatch(/weight/);
  });

  it("cannot be made to carry a template or a rule injection", () => {
    for (const host of ["x{{ .Env.HOME }}.example.com", "a.com`) || PathPrefix(`/", "evil.com\nhttp:"]) {
      expect(() =>
        renderTraefikDynamic(
          [{ app: "app", hosts: [host], upstreams: [{ host: "127.0.0.1", port: 1 }] }],
          tlsAuto,
        ),
      ).toThrow(Hop3Error);
    }
  });
});

describe("renderTraefikStatic", () => {
  it("matches the reviewed golden files", () => {
    expectGolden("traefik-static-tls-auto.yml", renderTraefikStatic(tlsAuto, paths));
    expectGolden(
      "traefik-static-tls-off.yml",
      renderTraefikStatic(tlsOff, paths, { pingAddress: "127.0.0.1:9099" }),
    );
  });

  it("validates against the Traefik v3 static configuration schema", () => {
    expectValid(validateStatic, renderTraefikStatic(tlsAuto, paths));
    expectValid(validateStatic, renderTraefikStatic(tlsOff, paths));
    expectValid(validateStatic, renderTraefikStatic({ httpPort: 80, httpsPort: 443, tls: "auto" }, paths));
  });

  it("declares entry points, a watched file provider and the ACME resolver", () => {
    const config = parse(renderTraefikStatic(tlsAuto, paths)) as AnyJson;
    expect(config.entryPoints.web.address).toBe(":80");
    expect(config.entryPoints.websecure.address).toBe(":443");
    expect(config.providers.file).toEqual({ directory: "/etc/hop3-router-dynamic", watch: true });
    expect(config.certificatesResolvers.hop3.acme).toEqual({
      storage: "/data/acme.json",
      httpChallenge: { entryPoint: "web" },
      email: "ops@example.com",
      caServer: "https://127.0.0.1:14000/dir",
    });
    const off = parse(renderTraefikStatic(tlsOff, paths)) as AnyJson;
    expect(off.entryPoints.websecure).toBeUndefined();
    expect(off.certificatesResolvers).toBeUndefined();
  });
});

describe("renderTraefikStatic with a private ACME CA", () => {
  it("lists the CA certificates and stays schema-valid", () => {
    const text = renderTraefikStatic(tlsAuto, paths, {
      acmeCaCertificates: ["/etc/hop3-router/acme-ca-roots.pem"],
    });
    expectValid(validateStatic, text);
    expect((parse(text) as AnyJson).certificatesResolvers.hop3.acme.caCertificates).toEqual([
      "/etc/hop3-router/acme-ca-roots.pem",
    ]);
  });
});
