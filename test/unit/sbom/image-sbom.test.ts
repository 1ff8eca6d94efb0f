import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import type Docker from "dockerode";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { buildCycloneDx, INCOMPLETE_PROPERTY, incompleteNotes } from "../../../src/sbom/cyclonedx.js";
import { readImageFiles } from "../../../src/sbom/image-files.js";
import { inventory } from "../../../src/sbom/inventory.js";
import { generateReleaseSbom } from "../../../src/sbom/release-sbom.js";
import { toSpdx } from "../../../src/sbom/spdx.js";
import { validateCycloneDx, validateSpdx } from "../../sbom-schemas.js";
import { ROCKY_OPENSSL, rpmBlob, rpmdbSqlite } from "./rpmdb-fixture.js";

const fixtures = join(import.meta.dirname, "../../fixtures");
const fixture = (name: string) => readFileSync(join(fixtures, "sbom", name));

/** A tar of `entries` (a string is a file, {link} a symlink). */
async function tarOf(entries: Record<string, string | Buffer | { link: string }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, v] of Object.entries(entries)) {
    if (typeof v === "object" && "link" in v) pack.entry({ name, type: "symlink", linkname: v.link });
    else pack.entry({ name }, v);
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of pack) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** A docker-archive as `podman save` writes it: layer tars, then manifest.json naming their order. */
async function dockerArchive(layers: Buffer[]): Promise<Readable> {
  const files: Record<string, Buffer | string> = {};
  layers.forEach((l, i) => {
    files[`${String(i).padStart(64, "a")}.tar`] = l;
  });
  files["manifest.json"] = JSON.stringify([
    { Config: "c.json", RepoTags: [], Layers: layers.map((_, i) => `${String(i).padStart(64, "a")}.tar`) },
  ]);
  return Readable.from([await tarOf(files)]);
}

const facts = {
  app: "shop",
  release: 3,
  image: "localhost/hop3/shop:r3",
  imageId: `sha256:${"ab".repeat(32)}`,
  sourceKind: "buildpacks",
  revision: "0123456789abcdef0123456789abcdef01234567",
  baseImage: { name: "localhost/hop3/cnb-run:bookworm", digest: `sha256:${"cd".repeat(32)}` },
  buildpacks: [{ id: "hop3/nodejs", version: "0.1.0" }],
  hop3Version: "0.1.0",
  timestamp: new Date("2026-12-05T08:00:00Z"),
};

describe("image files", () => {
  it("applies layers in order: a later layer's file wins, whiteouts and opaque directories remove", async () => {
    const archive = await dockerArchive([
      await tarOf({
        "etc/os-release": { link: "../usr/lib/os-release" },
        "usr/lib/os-release": fixture("os-release"),
        "var/lib/dpkg/status": "Package: old\nStatus: install ok installed\nVersion: 1\n",
        "usr/share/doc/libc6/copyright": fixture("libc6-copyright"),
        "app/node_modules/left-pad/package.json": '{"name":"left-pad","version":"1.3.0"}',
        "app/node_modules/gone/package.json": '{"name":"gone","version":"1.0.0"}',
        "srv/node_modules/x/package.json": '{"name":"x","version":"1.0.0"}',
      }),
      gzipSync(
        await tarOf({
          "var/lib/dpkg/status": fixture("dpkg-status"),
          "app/node_modules/.wh.gone": "",
          "srv/.wh..wh..opq": "",
          "app/node_modules/express/package.json": '{"name":"express","version":"4.19.2","license":"MIT"}',
          "app/node_modules/express/lib/package.json": '{"name":"not-a-package","version":"9"}',
          "app/package-lock.json": fixture("package-lock-v3.json"),
        }),
      ),
    ]);
    const files = await readImageFiles(archive);
    expect(files.layers).toBe(2);
    const inv = inventory(files);
    const names = inv.packages.map((p) => `${p.name}@${p.version}`).sort();
    // the lockfile is not used: installed packages beside it are what runs
    expect(names).toEqual([
      "express@4.19.2",
      "left-pad@1.3.0",
      "libc6@2.36-9+deb12u7",
      "libssl3@3.0.15-1~deb12u1",
      "tzdata@2024b-0+deb12u1",
    ]);
    expect(inv.os).toMatchObject({ id: "debian", versionId: "12" });
    expect(inv.incomplete).toEqual([]);
    expect(inv.packages.find((p) => p.name === "libc6")!.licenses).toEqual(["LGPL-2.1+", "GPL-2+"]);

    const doc = buildCycloneDx(facts, inv);
    expect(validateCycloneDx(doc), JSON.stringify(validateCycloneDx.errors)).toBe(true);
    expect(doc.specVersion).toBe("1.6");
    const comps = doc.components as { name: string; version?: string; purl?: string }[];
    expect(comps.find((c) => c.name === "express")).toMatchObject({
      version: "4.19.2",
      purl: "pkg:npm/express@4.19.2",
    });
    expect(comps.find((c) => c.name === "hop3/nodejs")).toMatchObject({ version: "0.1.0" });
    expect(incompleteNotes(doc)).toEqual([]);
    // the build's facts: the release with its image digest, the buildpack and the base image (with its digest)
    // as components, the source revision and Hop3's version as properties
    const meta = doc.metadata as {
      component: { name: string; version: string; hashes: unknown[] };
      properties: { name: string; value: string }[];
      tools: { components: { name: string; version: string }[] };
    };
    expect(meta.component).toMatchObject({
      name: "shop",
      version: "v3",
      hashes: [{ alg: "SHA-256", content: "ab".repeat(32) }],
    });
    expect(meta.properties).toEqual(
      expect.arrayContaining([
        { name: "hop3:app", value: "shop" },
        { name: "hop3:release", value: "3" },
        { name: "hop3:image", value: "localhost/hop3/shop:r3" },
        { name: "hop3:image:id", value: facts.imageId },
        { name: "hop3:source:kind", value: "buildpacks" },
        { name: "hop3:source:revision", value: facts.revision },
        { name: "hop3:base-image", value: "localhost/hop3/cnb-run:bookworm" },
        { name: "hop3:base-image:digest", value: facts.baseImage.digest },
        { name: "hop3:version", value: "0.1.0" },
        { name: "hop3:os", value: "debian 12" },
      ]),
    );
    expect(meta.tools.components).toContainEqual(expect.objectContaining({ name: "hop3", version: "0.1.0" }));
    const roles = comps as {
      name: string;
      hashes?: unknown[];
      properties?: { name: string; value: string }[];
    }[];
    expect(roles.find((c) => c.name === "hop3/nodejs")!.properties).toContainEqual({
      name: "hop3:role",
      value: "buildpack",
    });
    expect(roles.find((c) => c.name === "localhost/hop3/cnb-run:bookworm")).toMatchObject({
      hashes: [{ alg: "SHA-256", content: "cd".repeat(32) }],
      properties: [{ name: "hop3:role", value: "base-image" }],
    });

    const spdx = toSpdx(doc);
    expect(validateSpdx(spdx), JSON.stringify(validateSpdx.errors)).toBe(true);
    expect(
      (spdx.packages as { name: string; versionInfo?: string }[]).find((p) => p.name === "libc6"),
    ).toMatchObject({ versionInfo: "2.36-9+deb12u7" });
  });

  it("an image without a package database gets an SBOM that says so; oversized files are skipped and named", async () => {
    const archive = await dockerArchive([
      await tarOf({
        "app/server": "binary",
        "app/node_modules/big/package.json": Buffer.alloc(2 * 1024 * 1024, 32),
      }),
    ]);
    const inv = inventory(await readImageFiles(archive));
    expect(inv.packages).toEqual([]);
    expect(inv.incomplete.join("\n")).toMatch(/no OS package database/);
    expect(inv.incomplete.join("\n")).toMatch(/app\/node_modules\/big\/package.json: 2097152 bytes/);
    const doc = buildCycloneDx(facts, inv);
    expect(validateCycloneDx(doc)).toBe(true);
    const props = (doc.metadata as { properties: { name: string }[] }).properties;
    expect(props.filter((p) => p.name === INCOMPLETE_PROPERTY).length).toBeGreaterThanOrEqual(2);
    const spdx = toSpdx(doc);
    expect(validateSpdx(spdx), JSON.stringify(validateSpdx.errors)).toBe(true);
    expect(spdx.comment).toMatch(/^Incomplete: .*no OS package database/);
  });

  it("an RPM image: rpmdb.sqlite's packages, the OS as a component with os-release's CPE, in both formats", async () => {
    const db = rpmdbSqlite([
      rpmBlob(ROCKY_OPENSSL),
      rpmBlob({
        name: "glibc",
        version: "2.34",
        release: "100.el9_4.2",
        arch: "x86_64",
        license: "LGPLv2+ and LGPLv2+ with exceptions and GPLv2+",
        sourceRpm: "glibc-2.34-100.el9_4.2.src.rpm",
      }),
      // Fedora's SPDX expressions (LicenseRef-* included) and older RPMs' upper-case non-SPDX ones
      rpmBlob({
        name: "systemd-libs",
        version: "255.4",
        release: "1.fc40",
        license: "LGPL-2.1-or-later AND MIT AND LicenseRef-Fedora-Public-Domain",
      }),
      rpmBlob({ name: "tzdata", version: "2024a", release: "5.el9", license: "Public Domain AND GPLv2+" }),
      rpmBlob({ name: "gpg-pubkey", version: "350d275d", release: "6395c06e" }),
    ]);
    const archive = await dockerArchive([
      await tarOf({
        "etc/os-release": { link: "../usr/lib/os-release" },
        "usr/lib/os-release":
          'NAME="Rocky Linux"\nVERSION_ID="9.4"\nID="rocky"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\nCPE_NAME="cpe:/o:rocky:rocky:9::baseos"\n',
        "var/lib/rpm/rpmdb.sqlite": db,
      }),
    ]);
    const inv = inventory(await readImageFiles(archive));
    expect(inv.incomplete).toEqual([]);
    expect(inv.packages.map((p) => p.purl)).toEqual([
      "pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&distro=rocky-9.4&epoch=1&upstream=openssl-3.0.7-27.el9.src.rpm",
      "pkg:rpm/rocky/glibc@2.34-100.el9_4.2?arch=x86_64&distro=rocky-9.4&upstream=glibc-2.34-100.el9_4.2.src.rpm",
      "pkg:rpm/rocky/systemd-libs@255.4-1.fc40?distro=rocky-9.4",
      "pkg:rpm/rocky/tzdata@2024a-5.el9?distro=rocky-9.4",
    ]);
    const doc = buildCycloneDx({ ...facts, sourceKind: "image" }, inv);
    expect(validateCycloneDx(doc), JSON.stringify(validateCycloneDx.errors)).toBe(true);
    type Comp = {
      type: string;
      name: string;
      version?: string;
      cpe?: string;
      supplier?: { name: string };
      licenses?: unknown[];
    };
    const comps = doc.components as Comp[];
    expect(comps.find((c) => c.type === "operating-system")).toMatchObject({
      name: "rocky",
      version: "9.4",
      cpe: "cpe:/o:rocky:rocky:9::baseos",
      description: "Rocky Linux 9.4 (Blue Onyx)",
    });
    const openssl = comps.find((c) => c.name === "openssl-libs")!;
    expect(openssl).toMatchObject({
      version: "1:3.0.7-27.el9",
      supplier: { name: "Rocky Enterprise Software Foundation" },
      licenses: [{ license: { id: "Apache-2.0" } }],
    });
    // no CPE is made up for packages
    expect(comps.filter((c) => c.cpe).map((c) => c.name)).toEqual(["rocky"]);
    expect(comps.find((c) => c.name === "glibc")!.licenses).toEqual([
      { license: { name: "LGPLv2+ and LGPLv2+ with exceptions and GPLv2+" } },
    ]);
    expect(comps.find((c) => c.name === "systemd-libs")!.licenses).toEqual([
      { expression: "LGPL-2.1-or-later AND MIT AND LicenseRef-Fedora-Public-Domain" },
    ]);
    expect(comps.find((c) => c.name === "tzdata")!.licenses).toEqual([
      { license: { name: "Public Domain AND GPLv2+" } },
    ]);

    const spdx = toSpdx(doc);
    expect(validateSpdx(spdx), JSON.stringify(validateSpdx.errors)).toBe(true);
    type Pkg = { name: string; primaryPackagePurpose: string; supplier?: string; externalRefs?: unknown[] };
    const pkgs = spdx.packages as Pkg[];
    expect(pkgs.find((p) => p.name === "rocky")).toMatchObject({
      primaryPackagePurpose: "OPERATING_SYSTEM",
      versionInfo: "9.4",
      externalRefs: [
        {
          referenceCategory: "SECURITY",
          referenceType: "cpe22Type",
          referenceLocator: "cpe:/o:rocky:rocky:9::baseos",
        },
      ],
    });
    expect(pkgs.find((p) => p.name === "openssl-libs")).toMatchObject({
      supplier: "Organization: Rocky Enterprise Software Foundation",
      licenseDeclared: "Apache-2.0",
    });
    // a LicenseRef needs its text in SPDX, which Hop3 does not have
    expect(pkgs.find((p) => p.name === "systemd-libs")).toMatchObject({ licenseDeclared: "NOASSERTION" });
  });

  it("an RPM image with a 2.3 CPE gets cpe23Type; BerkeleyDB and NDB databases are read as SQLite ones", async () => {
    const archive = await dockerArchive([
      await tarOf({
        "etc/os-release": 'ID="amzn"\nVERSION_ID="2"\nCPE_NAME="cpe:2.3:o:amazon:amazon_linux:2"\n',
        "var/lib/rpm/Packages": fixture("rpmdb/bdb-le-512/Packages"),
      }),
    ]);
    const inv = inventory(await readImageFiles(archive));
    expect(inv.incomplete).toEqual([]);
    expect(inv.packages.map((p) => p.purl).sort()).toEqual([
      "pkg:rpm/amzn/hop3-alpha@1.2.3-4.el8?arch=noarch&distro=amzn-2&upstream=hop3-alpha-1.2.3-4.el8.src.rpm",
      "pkg:rpm/amzn/hop3-beta@2.0-1.el8?arch=x86_64&distro=amzn-2&epoch=2&upstream=hop3-beta-2.0-1.el8.src.rpm",
      "pkg:rpm/amzn/hop3-gamma@0.9.1-7.el8?arch=noarch&distro=amzn-2&upstream=hop3-gamma-0.9.1-7.el8.src.rpm",
    ]);
    expect(inv.packages[0]!.foundIn).toBe("/var/lib/rpm/Packages");
    const doc = buildCycloneDx(facts, inv);
    expect(validateCycloneDx(doc), JSON.stringify(validateCycloneDx.errors)).toBe(true);
    const spdx = toSpdx(doc);
    expect(validateSpdx(spdx), JSON.stringify(validateSpdx.errors)).toBe(true);
    expect(
      (spdx.packages as { name: string; externalRefs?: unknown[] }[]).find((p) => p.name === "amzn"),
    ).toMatchObject({
      externalRefs: [
        {
          referenceCategory: "SECURITY",
          referenceType: "cpe23Type",
          referenceLocator: "cpe:2.3:o:amazon:amazon_linux:2:*:*:*:*:*:*:*",
        },
      ],
    });
    const ndb = inventory(
      await readImageFiles(
        await dockerArchive([
          await tarOf({
            "usr/lib/os-release": 'ID="opensuse-leap"\nVERSION_ID="15.6"\n',
            "usr/lib/sysimage/rpm/Packages.db": fixture("rpmdb/ndb/Packages.db"),
          }),
        ]),
      ),
    );
    expect(ndb.incomplete).toEqual([]);
    expect(ndb.packages.map((p) => p.purl).sort()[1]).toBe(
      "pkg:rpm/opensuse-leap/hop3-beta@2.0-1.el8?arch=x86_64&distro=opensuse-leap-15.6&epoch=2&upstream=hop3-beta-2.0-1.el8.src.rpm",
    );
    // an rpmdb.sqlite beside a BerkeleyDB file (left by a conversion) is the one rpm reads; a file that is
    // not a database is a note naming it
    const both = inventory(
      await readImageFiles(
        await dockerArchive([
          await tarOf({
            "var/lib/rpm/Packages": fixture("rpmdb/bdb-le-512/Packages"),
            "var/lib/rpm/rpmdb.sqlite": rpmdbSqlite([rpmBlob(ROCKY_OPENSSL)]),
          }),
        ]),
      ),
    );
    expect(both.packages.map((p) => p.name)).toEqual(["openssl-libs"]);
    const junk = inventory(
      await readImageFiles(
        await dockerArchive([await tarOf({ "usr/lib/sysimage/rpm/Packages.db": Buffer.alloc(64) })]),
      ),
    );
    expect(junk.incomplete.join("\n")).toMatch(
      /^\/usr\/lib\/sysimage\/rpm\/Packages\.db could not be read: not an NDB database/m,
    );
    // a corrupted rpmdb.sqlite: a note naming the file, the rest of the SBOM still made
    const bad = inventory(
      await readImageFiles(
        await dockerArchive([
          await tarOf({
            "usr/lib/sysimage/rpm/rpmdb.sqlite": rpmdbSqlite([
              rpmBlob({ name: "a", version: "1", release: "1" }),
            ]).subarray(0, 300),
            "app/node_modules/x/package.json": '{"name":"x","version":"1.0.0"}',
          }),
        ]),
      ),
    );
    expect(bad.packages.map((p) => p.name)).toEqual(["x"]);
    expect(bad.incomplete.join("\n")).toMatch(
      /^\/usr\/lib\/sysimage\/rpm\/rpmdb\.sqlite could not be read: /m,
    );
  });

  it("refuses an archive without a manifest", async () => {
    await expect(
      readImageFiles(Readable.from([await tarOf({ "x.tar": await tarOf({ a: "b" }) })])),
    ).rejects.toThrow(/manifest/);
  });
});

describe("the release's SBOM from its image (generateReleaseSbom, a Podman double)", () => {
  const layer = () =>
    tarOf({
      "etc/os-release": fixture("os-release"),
      "var/lib/dpkg/status": fixture("dpkg-status"),
      "workspace/node_modules/express/package.json": '{"name":"express","version":"4.19.2"}',
    });
  /** Podman answering for the release's image (its labels) and, when named, the run image it was built on. */
  function podman(labels: Record<string, string>, images: Record<string, string>): Docker {
    return {
      getImage: (ref: string) => ({
        inspect: async () => {
          if (ref === "sha256:release")
            return { Id: `sha256:${"ab".repeat(32)}`, Config: { Labels: labels } };
          if (images[ref]) return { Id: images[ref], Config: { Labels: {} } };
          throw Object.assign(new Error("no such image"), { statusCode: 404 });
        },
        get: async () => dockerArchive([await layer()]),
      }),
    } as unknown as Docker;
  }
  const release = {
    id: 1,
    app: "shop",
    number: 4,
    status: "active" as const,
    sourceKind: "buildpacks" as const,
    revision: "0123456789abcdef0123456789abcdef01234567",
    image: "localhost/hop3/shop:r4",
    imageId: "sha256:release",
    createdAt: "2026-12-06T05:00:00Z",
  };
  type Doc = {
    metadata: { properties: { name: string; value: string }[] };
    components: { name: string; version?: string; hashes?: unknown[] }[];
  };
  const prop = (doc: Doc, name: string) => doc.metadata.properties.find((p) => p.name === name)?.value;

  it("a buildpack image: its buildpacks (id, version) and its run image with the digest Podman gives it", async () => {
    const labels = {
      "io.buildpacks.build.metadata": JSON.stringify({
        buildpacks: [
          { id: "hop3/nodejs", version: "0.3.0" },
          { id: "hop3/procfile", version: "0.1.0" },
          { id: 42, version: "bad" },
        ],
      }),
      "io.buildpacks.lifecycle.metadata": JSON.stringify({
        runImage: { reference: "localhost/hop3/cnb-run" },
      }),
    };
    const docker = podman(labels, { "localhost/hop3/cnb-run": "ef".repeat(32) });
    const doc = (await generateReleaseSbom({ docker, version: "0.2.0" }, release)) as unknown as Doc;
    expect(validateCycloneDx(doc), JSON.stringify(validateCycloneDx.errors)).toBe(true);
    expect(
      doc.components.filter((c) => c.name.startsWith("hop3/")).map((c) => `${c.name}@${c.version}`),
    ).toEqual(["hop3/nodejs@0.3.0", "hop3/procfile@0.1.0"]);
    expect(prop(doc, "hop3:base-image")).toBe("localhost/hop3/cnb-run");
    expect(prop(doc, "hop3:base-image:digest")).toBe(`sha256:${"ef".repeat(32)}`);
    expect(prop(doc, "hop3:image:id")).toBe(`sha256:${"ab".repeat(32)}`);
    expect(prop(doc, "hop3:source:revision")).toBe(release.revision);
    expect(prop(doc, "hop3:version")).toBe("0.2.0");
    expect(doc.components.find((c) => c.name === "express")?.version).toBe("4.19.2");
    expect(doc.components.find((c) => c.name === "libc6")?.version).toBe("2.36-9+deb12u7");
  });

  it("a Containerfile or prebuilt image: the base image from the OCI base labels; none named, none listed", async () => {
    const oci = {
      "org.opencontainers.image.base.name": "docker.io/library/debian:bookworm-slim",
      "org.opencontainers.image.base.digest": `sha256:${"12".repeat(32)}`,
    };
    const image = { ...release, sourceKind: "image" as const };
    const doc = (await generateReleaseSbom(
      { docker: podman(oci, {}), version: "0.2.0" },
      image,
    )) as unknown as Doc;
    expect(validateCycloneDx(doc)).toBe(true);
    expect(prop(doc, "hop3:base-image")).toBe("docker.io/library/debian:bookworm-slim");
    expect(prop(doc, "hop3:base-image:digest")).toBe(`sha256:${"12".repeat(32)}`);
    expect(prop(doc, "hop3:source:kind")).toBe("image");
    const bare = (await generateReleaseSbom(
      { docker: podman({}, {}), version: "0.2.0" },
      image,
    )) as unknown as Doc;
    expect(prop(bare, "hop3:base-image")).toBeUndefined();
    expect(bare.components.some((c) => c.name.startsWith("hop3/"))).toBe(false);
  });
});
