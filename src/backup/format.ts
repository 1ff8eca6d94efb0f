/**
 * The backup format (docs/backups.md, compatible with Hop3's: ../shared/docs/UPSTREAM.md), as pure functions:
 * ids, file names, metadata and its checks, the entries an imported archive may hold, which backups a
 * retention policy keeps, and where a restore puts each addon. The service (service.ts) does the I/O.
 *
 * One directory per backup, HOP3_ROOT/backups/APP/ID:
 *   metadata.json        app, created_at, format_version, versions, release, sha256 + size of every other file
 *   image.tar.gz         the release's image (`podman save`): the build does not keep the source tree
 *   data.tar.gz          the app's persist volumes (volumes/N/) and bind directories (binds/)
 *   env.json             sealed: config vars, generated env, the release spec, addon credentials
 *   addons/TYPE_NAME.EXT pg_dump custom format (.dump), mariadb-dump (.sql), Redis RDB (.rdb)
 *   sbom.cdx.json        the release's CycloneDX SBOM, byte for byte, when it had one (docs/sbom.md)
 *   provenance.intoto.json  its signed provenance statement, byte for byte, when it had one
 * The last two are optional: backups made before them, or of a release without them, restore as before.
 */
import { isValidAppName } from "../app/name.js";
import { Hop3Error, usageError } from "../util/errors.js";

export const FORMAT_VERSION = 1;

const ID_PATTERN = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})_([a-z0-9]{6})$/;
const ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789";

/** `YYYYMMDD_HHMMSS_xxxxxx` (UTC); `random` gives the six characters (bytes, taken modulo the alphabet). */
export function backupId(at: Date, random: Uint8Array): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const date = `${p(at.getUTCFullYear(), 4)}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}`;
  const time = `${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())}`;
  if (random.length < 6) throw new Error("backupId needs 6 random bytes");
  const suffix = [...random.slice(0, 6)].map((b) => ID_CHARS[b % ID_CHARS.length]).join("");
  return `${date}_${time}_${suffix}`;
}

export const isBackupId = (id: string): boolean => ID_PATTERN.test(id);

export function validateBackupId(id: string): string {
  if (!isBackupId(id)) {
    throw usageError(
      `${JSON.stringify(id.slice(0, 80))} is not a backup id`,
      "ids look like 20260104_030000_k3x9q2: see hop backup:list",
    );
  }
  return id;
}

/** When the id says the backup was made (ids sort by time; the suffix only separates backups of one second). */
export function backupTime(id: string): Date {
  const m = ID_PATTERN.exec(id);
  if (!m) throw new Error(`not a backup id: ${id}`);
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
}

export type AddonFileExt = "dump" | "sql" | "rdb";

/** The dump format of each addon type: what pg_dump --format=custom, mariadb-dump and redis-cli --rdb write. */
export const ADDON_FILE_EXT: Record<string, AddonFileExt> = {
  postgres: "dump",
  mariadb: "sql",
  redis: "rdb",
};

export function addonFileName(type: string, name: string): string {
  const ext = ADDON_FILE_EXT[type];
  if (!ext) throw usageError(`addons of type ${type} cannot be backed up`);
  return `addons/${type}_${name}.${ext}`;
}

/** The release's SBOM and provenance statement in a backup (optional files). */
export const SBOM_FILE = "sbom.cdx.json";
export const PROVENANCE_FILE = "provenance.intoto.json";
/** As large as the server reads an SBOM (src/sbom/store.ts): an import carrying more is refused. */
export const SUPPLY_CHAIN_MAX_BYTES = 64 * 1024 * 1024;

/** Files a backup directory may hold, besides metadata.json: anything else is refused (imports are hostile). */
const FILE_PATTERN =
  /^(?:image\.tar\.gz|data\.tar\.gz|env\.json|sbom\.cdx\.json|provenance\.intoto\.json|addons\/(?:postgres|mariadb|redis)_[a-z][a-z0-9-]{0,62}\.(?:dump|sql|rdb))$/;

export const isBackupFileName = (name: string): boolean => FILE_PATTERN.test(name);

export interface FileDigest {
  sha256: string;
  size: number;
}

export interface BackupAddon {
  name: string;
  type: string;
  major: string;
  /** The variable prefix it had on the app ("" for the plain names). */
  prefix: string;
  file: string;
}

export interface BackupVolume {
  /** Directory in data.tar.gz: `volumes/0`... */
  dir: string;
  /** Mount point, which finds the volume again in the restored release's spec. */
  target: string;
}

export interface BackupMetadata {
  app: string;
  id: string;
  created_at: string;
  format_version: number;
  hop3_version: string;
  /** How it was made: `manual` or `scheduled`. */
  trigger: "manual" | "scheduled";
  release: { number: number; image: string; image_id: string; revision: string | null };
  addons: BackupAddon[];
  volumes: BackupVolume[];
  /** Whether data.tar.gz holds the app's bind directories (binds/). */
  binds: boolean;
  /** sha256 and size of every file of the backup but metadata.json itself. */
  files: Record<string, FileDigest>;
  /** How consistent the volume archive is (docs/backups.md). */
  consistency: string;
}

const SHA256 = /^[a-f0-9]{64}$/;

function bad(why: string): never {
  throw new Hop3Error(`the backup's metadata.json is not valid: ${why}`, "conflict");
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses and checks metadata.json: an imported backup is hostile until this and its checksums pass. */
export function parseMetadata(text: string, expectedId?: string): BackupMetadata {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    bad("not JSON");
  }
  if (!isObject(doc)) bad("not an object");
  const m = doc as Record<string, unknown>;
  if (m.format_version !== FORMAT_VERSION) {
    bad(`format_version ${JSON.stringify(m.format_version)} (this Hop3 reads ${FORMAT_VERSION})`);
  }
  if (typeof m.app !== "string" || !isValidAppName(m.app)) bad("app is not a valid app name");
  if (typeof m.id !== "string" || !isBackupId(m.id)) bad("id is not a backup id");
  if (expectedId !== undefined && m.id !== expectedId) bad(`it describes ${m.id}, not ${expectedId}`);
  if (typeof m.created_at !== "string" || Number.isNaN(Date.parse(m.created_at))) bad("created_at");
  if (!isObject(m.files)) bad("files");
  const files = m.files as Record<string, unknown>;
  for (const [name, d] of Object.entries(files)) {
    if (!isBackupFileName(name)) bad(`unexpected file ${JSON.stringify(name.slice(0, 100))}`);
    if (!isObject(d) || typeof d.sha256 !== "string" || !SHA256.test(d.sha256)) bad(`sha256 of ${name}`);
    if (!Number.isSafeInteger(d.size) || (d.size as number) < 0) bad(`size of ${name}`);
  }
  for (const required of ["image.tar.gz", "env.json"]) if (!files[required]) bad(`${required} is missing`);
  const release = m.release as Record<string, unknown>;
  if (!isObject(release) || !Number.isInteger(release.number) || typeof release.image !== "string") {
    bad("release");
  }
  if (!Array.isArray(m.addons)) bad("addons");
  for (const a of m.addons as unknown[]) {
    if (!isObject(a) || typeof a.name !== "string" || !isValidAppName(a.name)) bad("an addon's name");
    if (typeof a.type !== "string" || !ADDON_FILE_EXT[a.type]) bad(`addon ${a.name}: type`);
    if (a.file !== addonFileName(a.type as string, a.name as string)) bad(`addon ${a.name}: file`);
    if (!files[a.file as string]) bad(`addon ${a.name}: ${a.file} is not listed in files`);
    if (typeof a.prefix !== "string" || !/^(?:[A-Z][A-Z0-9_]*)?$/.test(a.prefix))
      bad(`addon ${a.name}: prefix`);
    if (typeof a.major !== "string") bad(`addon ${a.name}: major`);
  }
  if (!Array.isArray(m.volumes)) bad("volumes");
  for (const v of m.volumes as unknown[]) {
    if (!isObject(v) || typeof v.dir !== "string" || !/^volumes\/\d{1,3}$/.test(v.dir)) bad("a volume's dir");
    if (typeof v.target !== "string" || !v.target.startsWith("/")) bad("a volume's target");
  }
  if ((m.volumes as unknown[]).length > 0 || m.binds === true) {
    if (!files["data.tar.gz"]) bad("data.tar.gz is missing");
  }
  return doc as unknown as BackupMetadata;
}

/** The differences between what metadata.json lists and what is on disk: empty when the backup is intact. */
export function checksumProblems(
  expected: Record<string, FileDigest>,
  actual: Record<string, FileDigest | undefined>,
): string[] {
  const problems: string[] = [];
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name];
    if (!got) problems.push(`${name}: missing`);
    else if (got.size !== want.size) problems.push(`${name}: ${got.size} bytes, expected ${want.size}`);
    else if (got.sha256 !== want.sha256) problems.push(`${name}: sha256 differs`);
  }
  for (const name of Object.keys(actual)) {
    if (!Object.hasOwn(expected, name)) problems.push(`${name}: not listed in metadata.json`);
  }
  return problems;
}

/** Limits on an imported archive (a tar stream). */
export interface ImportLimits {
  maxEntryBytes: number;
  maxTotalBytes: number;
  maxEntries: number;
}

export interface ArchiveEntryHeader {
  name: string;
  type?: string | null;
  size?: number | null;
}

/**
 * One entry of an imported `backup:export` archive: `ID/metadata.json` or `ID/<a backup file>`, plain files
 * only (a link, a device or a directory with an odd name is refused), within the size limits. Returns the
 * backup id and the file's name inside the backup. Directories `ID/` and `ID/addons/` are allowed and skipped.
 */
export function checkArchiveEntry(
  h: ArchiveEntryHeader,
  limits: ImportLimits,
): { id: string; file: string } | { skip: true } {
  const name = h.name;
  const refuse = (why: string): never => {
    throw new Hop3Error(
      `the archive is not a Hop3 backup: ${JSON.stringify(name.slice(0, 120))} ${why}`,
      "usage",
      "import only archives made by hop backup:export",
    );
  };
  if (name.includes("\0") || name.includes("\\")) refuse("has a forbidden character");
  const parts = name.replace(/\/$/, "").split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) refuse("is not a plain relative path");
  if (!isBackupId(parts[0]!)) refuse("is not inside a backup id directory");
  const type = h.type ?? "file";
  if (type === "directory") {
    if (parts.length === 1 || (parts.length === 2 && parts[1] === "addons")) return { skip: true };
    refuse("is an unexpected directory");
  }
  if (type !== "file") refuse(`is a ${type}, not a plain file`);
  const file = parts.slice(1).join("/");
  if (file !== "metadata.json" && !isBackupFileName(file)) refuse("is not a file of a backup");
  const size = h.size ?? 0;
  const max =
    file === "metadata.json"
      ? 1024 * 1024
      : file === SBOM_FILE || file === PROVENANCE_FILE
        ? Math.min(SUPPLY_CHAIN_MAX_BYTES, limits.maxEntryBytes)
        : limits.maxEntryBytes;
  if (size > max) refuse(`is too large (${size} bytes)`);
  return { id: parts[0]!, file };
}

/**
 * The SBOM or provenance statement a backup holds, as the restore takes it: a JSON object of at most
 * SUPPLY_CHAIN_MAX_BYTES, and for the SBOM a CycloneDX document. Checksums only say the file is the one the
 * backup listed; an imported backup is still someone else's: anything else is a reason, and the restored
 * release gets its documents as any new release does (read from its image, signed by this server).
 */
export function parseSupplyChainDoc(
  file: typeof SBOM_FILE | typeof PROVENANCE_FILE,
  text: string,
): { doc: Record<string, unknown> } | { problem: string } {
  if (Buffer.byteLength(text) > SUPPLY_CHAIN_MAX_BYTES)
    return { problem: `${file} is larger than ${SUPPLY_CHAIN_MAX_BYTES} bytes` };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { problem: `${file} is not JSON` };
  }
  if (!isObject(doc)) return { problem: `${file} is not a JSON object` };
  if (file === SBOM_FILE) {
    if (doc.bomFormat !== "CycloneDX" || typeof doc.specVersion !== "string")
      return { problem: `${file} is not a CycloneDX document` };
    if (doc.components !== undefined && !Array.isArray(doc.components))
      return { problem: `${file}: components is not a list` };
    if (!isObject(doc.metadata)) return { problem: `${file} has no metadata` };
  } else if (typeof doc.payload !== "string" || !Array.isArray(doc.signatures)) {
    return { problem: `${file} is not a signed statement (DSSE envelope)` };
  }
  return { doc };
}

/** Retention: which backups to delete so that the `keep` newest remain (ids sort by time). */
export function expiredBackups(ids: readonly string[], keep: number): string[] {
  if (!Number.isInteger(keep) || keep < 1) throw usageError("--keep must be a whole number of at least 1");
  return [...ids].sort().reverse().slice(keep);
}

export interface RestoreTarget {
  app: string;
  /** What becomes of each backed-up addon. */
  addons: { from: BackupAddon; name: string; action: "create" | "reuse" }[];
}

/**
 * Where a restore goes: the app (the backup's, or --to), refused if it exists unless forced; each addon into an
 * addon of its name (renamed after the new app for the default `APP-TYPE` names), created when it does not
 * exist, refused when it does unless forced (its data would be replaced).
 */
export function planRestore(
  meta: Pick<BackupMetadata, "app" | "addons">,
  opts: { to?: string; force: boolean; appExists: boolean; addonExists: (name: string) => boolean },
): RestoreTarget {
  const app = opts.to ?? meta.app;
  if (!isValidAppName(app)) throw usageError(`invalid app name ${JSON.stringify(app)}`);
  if (opts.appExists && !opts.force) {
    throw new Hop3Error(
      `an app named ${app} already exists: restoring would replace its release, config and data`,
      "conflict",
      `restore into a new app with --to NEW_NAME, or pass --force to replace ${app}`,
    );
  }
  const addons = meta.addons.map((a) => {
    let name = a.name;
    if (app !== meta.app) {
      name =
        a.name === `${meta.app}-${a.type}`.slice(0, 63)
          ? `${app}-${a.type}`.slice(0, 63)
          : opts.addonExists(a.name)
            ? `${app}-${a.name}`.slice(0, 63).replace(/-+$/, "")
            : a.name;
    }
    const exists = opts.addonExists(name);
    if (exists && !opts.force) {
      throw new Hop3Error(
        `an addon named ${name} already exists: restoring would replace its data`,
        "conflict",
        "pass --force to replace it, or restore into another app with --to",
      );
    }
    return { from: a, name, action: exists ? ("reuse" as const) : ("create" as const) };
  });
  return { app, addons };
}
