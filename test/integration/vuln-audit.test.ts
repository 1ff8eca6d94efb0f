/**
 * `hop audit` on a real deploy, with real advisories (test/fixtures/vulndb, README says where each comes from):
 * a Containerfile app FROM the Debian base image (the greeter fixture, whose layers other tests build too) with a
 * real npm lockfile copied in. The base image installs from bookworm main only, so its zlib1g is
 * 1:1.2.13.dfsg-1, below bookworm-security's fix of CVE-2026-27171 (1:1.2.13.dfsg-1+deb12u1): the audit finds
 * it through the source package `zlib` that the SBOM records (the tracker knows no `zlib1g`), as it finds
 * express 4.19.2's GHSA-qw6h-vgh9-j6wx (fixed 4.20.0, MODERATE) in the lockfile, and does not report glibc's
 * CVE-2023-4911, fixed (2.36-9+deb12u3) long before the image's libc6.
 *
 * Before any import `hop audit` says no database was imported; a malformed database file is refused and the
 * imported database stays as it was. The vulnerability database is the server's own: cleared first and at the end.
 */
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliOutput, destroyQuietly, fixture, hop, podmanAsHop3, repoRoot, uniqueApp } from "./helpers.js";

const app = uniqueApp("it-vaudit");
const vulndb = (f: string) => join(repoRoot, "test", "fixtures", "vulndb", f);
const work = mkdtempSync(join(tmpdir(), "hop3-it-vaudit-"));

interface AuditJson {
  database: { imports: { file: string; sha256: string }[]; records: Record<string, number> };
  apps: {
    app: string;
    release?: number;
    status: string;
    note?: string;
    findings: {
      package: string;
      installed: string;
      fixed?: string;
      severity?: string;
      advisory: string;
      aliases: string[];
      source?: string;
      purl: string;
    }[];
  }[];
}

async function auditJson(): Promise<{ exitCode: number; report: AuditJson }> {
  const r = await hop(["audit", "-a", app, "--json"]);
  expect([0, 1], cliOutput(r)).toContain(r.exitCode);
  expect(r.stdout.trim(), cliOutput(r)).not.toBe("");
  return { exitCode: r.exitCode, report: JSON.parse(r.stdout) as AuditJson };
}

/** What dpkg in the app's image says of a package: version, source package, source version. */
async function dpkgOf(pkg: string): Promise<string> {
  const out = await podmanAsHop3([
    "run",
    "--rm",
    "--entrypoint",
    "dpkg-query",
    `localhost/hop3/${app}:r1`,
    "-W",
    "-f",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not a template
    "${Version} ${source:Package} ${source:Version}",
    pkg,
  ]);
  return out.trim();
}

beforeAll(async () => {
  // the greeter app with a real npm lockfile (express 4.19.2 ...) in /app: the SBOM lists its packages
  const dir = join(work, "app");
  cpSync(fixture("greeter"), dir, { recursive: true });
  copyFileSync(
    join(repoRoot, "test", "fixtures", "sbom", "package-lock-v3.json"),
    join(dir, "package-lock.json"),
  );
  const cf = readFileSync(join(dir, "Containerfile"), "utf8");
  writeFileSync(
    join(dir, "Containerfile"),
    cf.replace("EXPOSE 5000", "COPY package-lock.json ./\nEXPOSE 5000"),
  );
  const r = await hop(["deploy", dir, "--app", app]);
  expect(r.exitCode, cliOutput(r)).toBe(0);
}, 600_000);

afterAll(async () => {
  await hop(["audit:clear"]);
  await destroyQuietly(app);
  rmSync(work, { recursive: true, force: true });
});

describe("hop audit on a deployed app", () => {
  it("before any import says that no database was imported, never '0 vulnerabilities'", async () => {
    expect((await hop(["audit:clear"])).exitCode).toBe(0);
    for (const args of [["audit", "-a", app], ["audit"], ["audit", "-a", app, "--json"]]) {
      const r = await hop(args);
      expect(r.exitCode, cliOutput(r)).toBe(3);
      expect(cliOutput(r)).toContain("no vulnerability database imported");
      if (!args.includes("--json")) expect(cliOutput(r)).toContain("hop audit:import FILE");
      expect(cliOutput(r)).not.toMatch(/\b0 (known )?vulnerabilit/);
    }
  });

  it("reports the image's real vulnerable packages, Debian ones through their source package", async () => {
    for (const f of ["debian-tracker.json", "osv-array.json"]) {
      const r = await hop(["audit:import", vulndb(f)]);
      expect(r.exitCode, cliOutput(r)).toBe(0);
      expect(r.stdout).toContain(`Imported ${f}`);
    }
    // the SBOM is written after the switch, in the background: poll until the audit can read it
    let last = await auditJson();
    for (let i = 0; i < 120 && last.report.apps[0]?.status !== "ok"; i++) {
      await new Promise((res) => setTimeout(res, 1000));
      last = await auditJson();
    }
    const a = last.report.apps[0]!;
    expect(a.status, JSON.stringify(a)).toBe("ok");
    expect(last.exitCode).toBe(1);

    // what dpkg in the image itself says
    const [zlibVersion, zlibSource, zlibSourceVersion] = (await dpkgOf("zlib1g")).split(" ");
    expect(zlibSource).toBe("zlib");
    const libc6 = (await dpkgOf("libc6")).split(" ")[0]!;

    const zlib = a.findings.find((f) => f.advisory === "CVE-2026-27171");
    expect(
      zlib,
      `the image's zlib1g is ${zlibVersion}: this test needs it below bookworm-security's 1:1.2.13.dfsg-1+deb12u1`,
    ).toMatchObject({
      package: "zlib1g",
      installed: zlibVersion,
      fixed: "1:1.2.13.dfsg-1+deb12u1",
      source: `zlib ${zlibSourceVersion}`,
    });
    expect(zlib!.purl).toContain("upstream=zlib");
    expect(a.findings.find((f) => f.package === "express")).toMatchObject({
      installed: "4.19.2",
      fixed: "4.20.0",
      severity: "MODERATE",
      advisory: "GHSA-qw6h-vgh9-j6wx",
      aliases: ["CVE-2024-43796"],
    });
    // glibc: an open issue with no fix yet is reported; the one fixed long before the image's libc6 is not
    const glibc = a.findings.filter((f) => f.advisory === "CVE-2026-4438");
    // every binary package built from glibc: libc6, libc-bin
    expect(glibc.map((f) => f.package).sort()).toEqual(["libc-bin", "libc6"]);
    expect(glibc.find((f) => f.package === "libc6")).toMatchObject({
      installed: libc6,
      source: `glibc ${libc6}`,
    });
    expect(glibc.every((f) => f.fixed === undefined)).toBe(true);
    expect(a.findings.map((f) => f.advisory)).not.toContain("CVE-2023-4911");

    const table = await hop(["audit", "-a", app]);
    expect(table.exitCode).toBe(1);
    expect(table.stdout).toContain("Vulnerability database:");
    expect(table.stdout).toMatch(new RegExp(`${app} v1: \\d+ known vulnerabilities in \\d+ components`));
    expect(table.stdout).toMatch(/PACKAGE +INSTALLED +FIXED +SEVERITY +ADVISORY/);
    expect(table.stdout).toMatch(
      /zlib1g \(zlib\) +1:1\.2\.13\.dfsg-1 +1:1\.2\.13\.dfsg-1\+deb12u1 +- +CVE-2026-27171/,
    );
    expect(table.stdout).toMatch(/express +4\.19\.2 +4\.20\.0 +MODERATE +GHSA-qw6h-vgh9-j6wx CVE-2024-43796/);
    expect(table.stdout).toMatch(/libc6 \(glibc\) +\S+ +\(no fix yet\) +- +CVE-2026-4438/);
  }, 300_000);

  it("refuses a malformed database file with the reason, and keeps the imported database as it was", async () => {
    const before = await auditJson();
    expect(before.report.database.imports.length).toBe(2);
    const truncated = join(work, "debian-tracker.json");
    writeFileSync(truncated, readFileSync(vulndb("debian-tracker.json")).subarray(0, 300));
    let r = await hop(["audit:import", truncated]);
    expect(r.exitCode, cliOutput(r)).toBe(2);
    expect(r.stderr).toMatch(/debian-tracker\.json is not JSON/);
    // JSON, but no vulnerability database: an npm lockfile
    r = await hop(["audit:import", join(repoRoot, "package-lock.json")]);
    expect(r.exitCode, cliOutput(r)).toBe(2);
    expect(r.stderr).toContain("not a vulnerability database this server can import");

    const after = await auditJson();
    expect(after.report.database).toEqual(before.report.database);
    expect(after.report.apps[0]!.findings).toEqual(before.report.apps[0]!.findings);
  });
});
