/**
 * Release SBOMs on the real server: a Containerfile app (Debian base: libc6 at the version the image's own
 * dpkg reports), its second release (sbom:diff shows the changed and the added package), that image saved as an
 * archive and deployed with `--image FILE` as another app (its SBOM read from the loaded image), a buildpack Node app
 * (express at the lockfile's version), a Go binary alone in a FROM-scratch image (its modules and Go's standard
 * library, from the build information in the binary: no package database there), and `hop releases`' SBOM
 * column. Documents are validated against the CycloneDX 1.6 schema, their SPDX form against SPDX 2.3's.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { validateCycloneDx as validate, validateSpdx } from "../sbom-schemas.js";
import { cliOutput, destroyQuietly, fixture, hop, podmanAsHop3, uniqueApp } from "./helpers.js";

interface Bom {
  specVersion: string;
  components: { name: string; version?: string; purl?: string }[];
  metadata: { component: { version: string }; properties: { name: string; value: string }[] };
}

/** The release's SBOM, waiting while the server generates it (it runs after the deploy returned). */
async function sbomOf(
  app: string,
  release: string,
  extra: string[] = [],
): Promise<{ doc: unknown; stderr: string }> {
  const until = Date.now() + 240_000;
  for (;;) {
    const r = await hop(["sbom", "-a", app, "--release", release, ...extra]);
    if (r.exitCode === 0) return { doc: JSON.parse(r.stdout), stderr: r.stderr };
    if (!/being generated/.test(r.stderr) || Date.now() > until) throw new Error(cliOutput(r));
    await new Promise((res) => setTimeout(res, 2000));
  }
}

/** The libc6 version that dpkg inside the image reports. */
async function libc6Version(image: string): Promise<string> {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a template
  const format = "${Version}";
  return (
    await podmanAsHop3(["run", "--rm", "--entrypoint", "dpkg-query", image, "-W", "-f", format, "libc6"])
  ).trim();
}

/** A Containerfile app on the Debian base whose app directory has an npm package written by hand. */
function containerfileApp(pkgs: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "hop3-sbom-"));
  cpSync(fixture("greeter"), dir, { recursive: true });
  const writes = Object.entries(pkgs)
    .map(
      ([n, v]) =>
        `mkdir -p /app/node_modules/${n} && echo '{"name":"${n}","version":"${v}","license":"MIT"}' > /app/node_modules/${n}/package.json`,
    )
    .join(" && ");
  const cf = readFileSync(join(dir, "Containerfile"), "utf8").replace(
    "EXPOSE 5000",
    `RUN ${writes}\nEXPOSE 5000`,
  );
  writeFileSync(join(dir, "Containerfile"), cf);
  return dir;
}

describe("release SBOMs", () => {
  const cf = uniqueApp("it-sbom-cf");
  const bp = uniqueApp("it-sbom-bp");
  const arc = uniqueApp("it-sbom-arc");
  const go = uniqueApp("it-sbom-go");
  const dirs: string[] = [];
  afterAll(async () => {
    await destroyQuietly(cf);
    await destroyQuietly(bp);
    await destroyQuietly(arc);
    await destroyQuietly(go);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("a Containerfile app: schema-valid CycloneDX with libc6 at the image's dpkg version; SPDX; diff of two releases", async () => {
    const v1 = containerfileApp({ "left-pad": "1.2.0" });
    dirs.push(v1);
    let r = await hop(["deploy", v1, "--app", cf]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    const { doc } = await sbomOf(cf, "v1");
    const bom = doc as Bom;
    expect(validate(bom), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    expect(bom.specVersion).toBe("1.6");
    expect(bom.metadata.component.version).toBe("v1");
    const image = `localhost/hop3/${cf}:r1`;
    const libc6 = await libc6Version(image);
    expect(libc6).toMatch(/^\d/);
    const c = bom.components.find((x) => x.name === "libc6");
    expect(c).toMatchObject({ version: libc6 });
    expect(c!.purl).toMatch(/^pkg:deb\/debian\/libc6@.*distro=debian-12/);
    expect(bom.components.find((x) => x.name === "left-pad")).toMatchObject({
      version: "1.2.0",
      purl: "pkg:npm/left-pad@1.2.0",
    });

    const spdx = (await sbomOf(cf, "v1", ["--format", "spdx"])).doc as {
      spdxVersion: string;
      packages: { name: string; versionInfo?: string }[];
    };
    expect(validateSpdx(spdx), JSON.stringify(validateSpdx.errors?.slice(0, 5))).toBe(true);
    expect(spdx.spdxVersion).toBe("SPDX-2.3");
    expect(spdx.packages.find((p) => p.name === "libc6")?.versionInfo).toBe(libc6);

    const v2 = containerfileApp({ "left-pad": "1.3.0", "is-number": "7.0.0" });
    dirs.push(v2);
    r = await hop(["deploy", v2, "--app", cf]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    await sbomOf(cf, "v2");
    r = await hop(["sbom:diff", "v1", "v2", "--app", cf, "--json"]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    const diff = JSON.parse(r.stdout) as {
      added: { name: string }[];
      changed: { name: string; from: string; to: string }[];
      removed: unknown[];
    };
    expect(diff.changed).toEqual([expect.objectContaining({ name: "left-pad", from: "1.2.0", to: "1.3.0" })]);
    expect(diff.added.map((a) => a.name)).toEqual(["is-number"]);
    expect(diff.removed).toEqual([]);
    r = await hop(["sbom:diff", "v1", "v2", "--app", cf]);
    expect(r.stdout).toMatch(/~\s+left-pad\s+1\.2\.0\s+1\.3\.0/);

    // a config change reuses the image: its release gets a copy of the SBOM
    r = await hop(["config:set", "GREETING=hi", "--app", cf]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    const v3 = (await sbomOf(cf, "v3")).doc as Bom;
    expect(v3.metadata.component.version).toBe("v3");
    const v2doc = (await sbomOf(cf, "v2")).doc as Bom;
    expect(v3.components.length).toBe(v2doc.components.length);

    r = await hop(["releases", "--app", cf, "--json"]);
    const { releases } = JSON.parse(r.stdout) as {
      releases: { number: number; components: number | null }[];
    };
    expect(releases.find((x) => x.number === 1)!.components).toBe(bom.components.length);
    r = await hop(["releases", "--app", cf]);
    expect(r.stdout).toMatch(/SBOM/);

    r = await hop(["sbom", "--app", cf, "--release", "v99"]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/no release v99/);
  }, 900_000);

  it("an image archive deployed with --image: schema-valid SBOMs with libc6 at the image's dpkg version", async () => {
    // the Containerfile app's current image, saved as a user without a registry would, loaded as another app
    const archive = join(tmpdir(), `hop3-test-${arc}.tar`);
    await podmanAsHop3(["save", "--format", "oci-archive", "-o", archive, `localhost/hop3/${cf}:r2`]);
    try {
      const r = await hop(["deploy", "--image", archive, "--app", arc]);
      expect(r.exitCode, cliOutput(r)).toBe(0);
      expect(r.stdout).toMatch(/oci-archive/);
    } finally {
      rmSync(archive, { force: true });
    }
    const bom = (await sbomOf(arc, "v1")).doc as Bom;
    expect(validate(bom), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    expect(bom.metadata.properties).toContainEqual({ name: "hop3:source:kind", value: "image" });
    expect(bom.metadata.properties.some((p) => p.name === "hop3:sbom:copied-from")).toBe(false);
    const libc6 = await libc6Version(`localhost/hop3/${arc}:r1`);
    expect(libc6).toMatch(/^\d/);
    expect(bom.components.find((x) => x.name === "libc6")).toMatchObject({
      version: libc6,
      purl: expect.stringMatching(/^pkg:deb\/debian\/libc6@.*distro=debian-12/),
    });
    expect(bom.components.find((x) => x.name === "is-number")).toMatchObject({ version: "7.0.0" });
    const spdx = (await sbomOf(arc, "v1", ["--format", "spdx"])).doc as {
      packages: { name: string; versionInfo?: string }[];
    };
    expect(validateSpdx(spdx), JSON.stringify(validateSpdx.errors?.slice(0, 5))).toBe(true);
    expect(spdx.packages.find((p) => p.name === "libc6")?.versionInfo).toBe(libc6);
  }, 600_000);

  it("a buildpack Node app: express at the lockfile's version", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hop3-sbom-bp-"));
    dirs.push(dir);
    cpSync(fixture("express-lockfile"), dir, { recursive: true });
    const lock = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string }>;
    };
    const r = await hop(["deploy", dir, "--app", bp]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    const bom = (await sbomOf(bp, "v1")).doc as Bom;
    expect(validate(bom), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    expect(bom.components.find((c) => c.purl?.startsWith("pkg:npm/express@"))?.version).toBe(
      lock.packages["node_modules/express"]!.version,
    );
    expect(bom.components.some((c) => c.name === "libc6")).toBe(true);
    expect(bom.components.some((c) => c.purl?.startsWith("buildpack:") || c.name.startsWith("hop3/"))).toBe(
      true,
    );
  }, 900_000);

  it("a Go binary FROM scratch: its modules and Go's standard library, read from the binary", async () => {
    // the binary is built by Go in the buildpacks' build image (Go 1.19, offline: the dependency is vendored)
    const prepare = await hop(["buildpacks:prepare"]);
    expect(prepare.exitCode, cliOutput(prepare)).toBe(0);
    const buildImage = (
      await podmanAsHop3(["images", "--filter", "reference=localhost/hop3/cnb-build", "--format", "{{.Id}}"])
    )
      .split("\n")
      .find(Boolean)!;
    const src = mkdtempSync(join(tmpdir(), "hop3-sbom-gosrc-"));
    const dir = mkdtempSync(join(tmpdir(), "hop3-sbom-go-"));
    dirs.push(src, dir);
    cpSync(fixture("go-module"), src, { recursive: true });
    await execa("chmod", ["-R", "a+rwX", src]);
    await podmanAsHop3([
      "run",
      "--rm",
      "--network",
      "none",
      "--user",
      "0",
      "-v",
      `${src}:/src`,
      "-w",
      "/src",
      ...["-e", "HOME=/tmp", "-e", "GOCACHE=/tmp/go-cache", "-e", "GOPROXY=off", "-e", "CGO_ENABLED=0"],
      buildImage,
      "go",
      "build",
      "-mod=vendor",
      "-o",
      "gomodule",
      ".",
    ]);
    cpSync(join(src, "gomodule"), join(dir, "gomodule"));
    writeFileSync(
      join(dir, "Containerfile"),
      'FROM scratch\nCOPY gomodule /gomodule\nEXPOSE 5000\nCMD ["/gomodule"]\n',
    );
    const r = await hop(["deploy", dir, "--app", go]);
    expect(r.exitCode, cliOutput(r)).toBe(0);
    const bom = (await sbomOf(go, "v1")).doc as Bom;
    expect(validate(bom), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    const purls = bom.components.map((c) => c.purl ?? "");
    expect(purls).toContain("pkg:golang/example.com/greet@v1.0.0");
    expect(
      purls.some((p) => /^pkg:golang\/stdlib@1\.19(\.\d+)?$/.test(p)),
      purls.join("\n"),
    ).toBe(true);
    expect(bom.components.find((c) => c.name === "example.com/gomodule")?.version).toBe("(devel)");
    // nothing else is in the image: no OS packages, no OS
    expect(bom.components.filter((c) => !c.purl?.startsWith("pkg:golang/"))).toEqual([]);
    const spdx = (await sbomOf(go, "v1", ["--format", "spdx"])).doc;
    expect(validateSpdx(spdx), JSON.stringify(validateSpdx.errors?.slice(0, 5))).toBe(true);
  }, 900_000);
});
