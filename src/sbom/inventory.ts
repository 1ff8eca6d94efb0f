/**
 * The image's files (image-files.ts) to its packages, per ecosystem, and to what could not be known: an
 * image without an OS package database (scratch, distroless without status.d) says so, so that an SBOM is
 * never an empty success.
 */
import { parseApkInstalled } from "./apk.js";
import { parseComposerLock } from "./composer.js";
import { debPackages, parseDebianCopyright, parseDpkgStatus } from "./dpkg.js";
import { goBinaryPackages, parseGoBuildInfo, parseGoMod, parseVendorModules } from "./golang.js";
import type { ImageFile, ImageFiles } from "./image-files.js";
import { parseInstalledPackageJson, parsePackageLock } from "./npm.js";
import { distroQualifier, type OsRelease, parseOsRelease } from "./os-release.js";
import { type FoundPackage, uniqueByPurl } from "./package.js";
import { parseDistInfoMetadata } from "./python.js";
import { rpmDbPackages } from "./rpm.js";
import { parseGemfileLock } from "./ruby.js";

export interface Inventory {
  os?: OsRelease;
  packages: FoundPackage[];
  /** What could not be read or was not read: non-empty means the SBOM is incomplete. */
  incomplete: string[];
}

const text = (f: ImageFile) => f.content?.toString("utf8") ?? "";
const dirOf = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");

function osReleaseOf(files: ImageFile[]): OsRelease | undefined {
  const byPath = new Map(files.filter((f) => f.kind === "os-release").map((f) => [f.path, f]));
  for (const path of ["etc/os-release", "usr/lib/os-release"]) {
    let f = byPath.get(path);
    // /etc/os-release is usually a link to ../usr/lib/os-release
    if (f?.link)
      f = byPath.get(
        f.link.startsWith("/") ? f.link.slice(1) : `${dirOf(path)}/${f.link}`.replace(/[^/]+\/\.\.\//g, ""),
      );
    const os = f?.content ? parseOsRelease(text(f)) : undefined;
    if (os) return os;
  }
  return undefined;
}

/** Calls `parse` on each file, turning a parse failure into a note instead of losing the whole SBOM. */
function each<T>(files: ImageFile[], notes: string[], parse: (f: ImageFile) => T[]): T[] {
  return files.flatMap((f) => {
    try {
      return parse(f);
    } catch (err) {
      notes.push(`/${f.path} could not be read: ${(err as Error).message.slice(0, 200)}`);
      return [];
    }
  });
}

export function inventory(image: ImageFiles): Inventory {
  const notes = [...image.skipped];
  const of = (kind: ImageFile["kind"]) => image.files.filter((f) => f.kind === kind);
  const os = osReleaseOf(image.files);
  const distro = os ? { id: os.id, qualifier: distroQualifier(os) } : undefined;
  const packages: FoundPackage[] = [];

  // OS packages
  const licenses = new Map<string, string[]>();
  for (const f of of("deb-copyright")) {
    const names = parseDebianCopyright(text(f));
    if (names.length) licenses.set(f.path.split("/")[3]!, names);
  }
  const dpkg = [...of("dpkg-status"), ...of("dpkg-status-d")];
  for (const f of dpkg) {
    packages.push(...debPackages(parseDpkgStatus(text(f)), distro, (n) => licenses.get(n), `/${f.path}`));
  }
  const apk = of("apk-installed");
  packages.push(...each(apk, notes, (f) => parseApkInstalled(text(f), distroQualifier(os), `/${f.path}`)));
  // rpm reads its SQLite database when there is one (a BerkeleyDB one left beside it after a conversion is
  // stale); the BerkeleyDB (`Packages`) and NDB (`Packages.db`) forms otherwise
  const rpmSqlite = of("rpm-sqlite");
  const rpm = rpmSqlite.length ? rpmSqlite : of("rpm-db");
  packages.push(...each(rpm, notes, (f) => rpmDbPackages(f, distro, notes)));
  if (!dpkg.length && !apk.length && !rpm.length) {
    notes.push(
      "no OS package database (dpkg status, status.d, apk, rpm) was found in the image (scratch or distroless?): its OS packages are not listed",
    );
  }
  if (!os) notes.push("no /etc/os-release: the image's distribution is unknown");

  // npm: installed packages; a lockfile only where nothing is installed beside it
  const installed = each(of("npm-package"), notes, (f) => {
    const p = parseInstalledPackageJson(text(f), `/${f.path}`);
    return p ? [p] : [];
  });
  packages.push(...installed);
  for (const f of of("npm-lock")) {
    const nm = `/${dirOf(f.path) ? `${dirOf(f.path)}/` : ""}node_modules/`;
    if (installed.some((p) => p.foundIn?.startsWith(nm))) continue;
    packages.push(...each([f], notes, (x) => parsePackageLock(text(x), `/${x.path}`)));
  }
  packages.push(
    ...each(of("python-metadata"), notes, (f) => {
      const p = parseDistInfoMetadata(text(f), `/${f.path}`);
      return p ? [p] : [];
    }),
  );
  packages.push(...each(of("gemfile-lock"), notes, (f) => parseGemfileLock(text(f), `/${f.path}`)));
  packages.push(...each(of("composer"), notes, (f) => parseComposerLock(text(f), `/${f.path}`)));
  const vendored = of("go-vendor");
  packages.push(...each(vendored, notes, (f) => parseVendorModules(text(f), `/${f.path}`)));
  for (const f of of("go-mod")) {
    if (vendored.some((v) => dirOf(dirOf(v.path)) === dirOf(f.path))) continue;
    packages.push(...each([f], notes, (x) => parseGoMod(text(x), `/${x.path}`)));
  }
  // Go binaries' build information: modules and standard library as linked, not as declared
  packages.push(
    ...each(of("go-binary"), notes, (f) => {
      const found = goBinaryPackages(parseGoBuildInfo(f.content ?? Buffer.alloc(0)), `/${f.path}`);
      notes.push(...found.notes);
      return found.packages;
    }),
  );
  return { ...(os ? { os } : {}), packages: uniqueByPurl(packages), incomplete: notes };
}
