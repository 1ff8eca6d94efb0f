import { describe, expect, it } from "vitest";
import {
  addonFileName,
  backupId,
  backupTime,
  checkArchiveEntry,
  checksumProblems,
  expiredBackups,
  isBackupId,
  PROVENANCE_FILE,
  parseMetadata,
  parseSupplyChainDoc,
  planRestore,
  SBOM_FILE,
  SUPPLY_CHAIN_MAX_BYTES,
} from "../../../src/backup/format.js";
import { keyFromBase64, openEnv, sealEnv } from "../../../src/backup/secrets.js";

const limits = { maxEntryBytes: 1000, maxTotalBytes: 5000, maxEntries: 10 };
const ID = "20260104_030000_k3x9q2";
const digest = (n: number) => ({ sha256: "a".repeat(64), size: n });

const meta = (over: Record<string, unknown> = {}) => ({
  app: "shop",
  id: ID,
  created_at: "2026-01-04T03:00:00.000Z",
  format_version: 1,
  hop3_version: "0.1.0",
  trigger: "manual",
  release: { number: 3, image: "localhost/hop3/shop:r3", image_id: "sha256:x", revision: null },
  addons: [
    {
      name: "shop-postgres",
      type: "postgres",
      major: "15",
      prefix: "",
      file: "addons/postgres_shop-postgres.dump",
    },
  ],
  volumes: [{ dir: "volumes/0", target: "/data" }],
  binds: false,
  files: {
    "image.tar.gz": digest(10),
    "env.json": digest(1),
    "data.tar.gz": digest(2),
    "addons/postgres_shop-postgres.dump": digest(3),
  },
  consistency: "",
  ...over,
});

describe("backup ids", () => {
  it("are YYYYMMDD_HHMMSS_ and six characters, in UTC, and sort by time", () => {
    const id = backupId(new Date(Date.UTC(2026, 0, 4, 3, 0, 7)), new Uint8Array([0, 1, 25, 26, 35, 36]));
    expect(id).toBe("20260104_030007_abz09a");
    expect(isBackupId(id)).toBe(true);
    expect(backupTime(id).toISOString()).toBe("2026-01-04T03:00:07.000Z");
    for (const bad of ["20260104_030007", "../20260104_030007_abcdef", "20260104_030007_ABCDEF", "x"]) {
      expect(isBackupId(bad)).toBe(false);
    }
  });
});

describe("metadata", () => {
  it("accepts a well-formed metadata.json and names every file of the format", () => {
    expect(parseMetadata(JSON.stringify(meta()), ID).app).toBe("shop");
    expect(addonFileName("redis", "cache")).toBe("addons/redis_cache.rdb");
    expect(addonFileName("mariadb", "db")).toBe("addons/mariadb_db.sql");
  });

  it.each([
    ["another version", { format_version: 2 }, /format_version/],
    ["a bad app", { app: "../etc" }, /app/],
    ["a file outside the format", { files: { ...meta().files, "../../x": digest(1) } }, /unexpected file/],
    [
      "a bad digest",
      { files: { ...meta().files, "env.json": { sha256: "zz", size: 1 } } },
      /sha256 of env.json/,
    ],
    ["no image", { files: { "env.json": digest(1) } }, /image.tar.gz is missing/],
    [
      "an addon file not listed",
      {
        addons: [{ name: "db", type: "postgres", major: "15", prefix: "", file: "addons/postgres_db.dump" }],
      },
      /not listed/,
    ],
    ["a volume dir that is a path", { volumes: [{ dir: "../x", target: "/data" }] }, /volume's dir/],
  ])("refuses %s", (_label, over, message) => {
    expect(() => parseMetadata(JSON.stringify(meta(over)), ID)).toThrow(message);
  });

  it("takes the release's SBOM and provenance as optional files; older backups without them still parse", () => {
    const files = { ...meta().files, [SBOM_FILE]: digest(5), [PROVENANCE_FILE]: digest(6) };
    expect(Object.keys(parseMetadata(JSON.stringify(meta({ files })), ID).files)).toContain(SBOM_FILE);
    expect(parseMetadata(JSON.stringify(meta()), ID).files).not.toHaveProperty(SBOM_FILE);
    const other = { ...meta().files, "sbom.spdx.json": digest(5) };
    expect(() => parseMetadata(JSON.stringify(meta({ files: other })), ID)).toThrow(/unexpected file/);
  });

  it("refuses metadata describing another backup, and text that is not JSON", () => {
    expect(() => parseMetadata(JSON.stringify(meta()), "20260104_030000_zzzzzz")).toThrow(/not 20260104/);
    expect(() => parseMetadata("{", ID)).toThrow(/not JSON/);
  });
});

describe("checksums", () => {
  it("lists every missing, resized, altered or unlisted file", () => {
    const expected = { a: digest(1), b: digest(2), c: digest(3) };
    expect(checksumProblems(expected, { a: digest(1), b: digest(2), c: digest(3) })).toEqual([]);
    expect(
      checksumProblems(expected, {
        a: { sha256: "b".repeat(64), size: 1 },
        b: digest(5),
        d: digest(1),
      }),
    ).toEqual([
      "a: sha256 differs",
      "b: 5 bytes, expected 2",
      "c: missing",
      "d: not listed in metadata.json",
    ]);
  });
});

describe("archive entries (imports are hostile)", () => {
  it("accepts the files of one backup and its directories", () => {
    expect(checkArchiveEntry({ name: `${ID}/metadata.json`, size: 10 }, limits)).toEqual({
      id: ID,
      file: "metadata.json",
    });
    expect(checkArchiveEntry({ name: `${ID}/addons/redis_cache.rdb`, size: 10 }, limits)).toEqual({
      id: ID,
      file: "addons/redis_cache.rdb",
    });
    expect(checkArchiveEntry({ name: `${ID}/`, type: "directory" }, limits)).toEqual({ skip: true });
    expect(checkArchiveEntry({ name: `${ID}/addons/`, type: "directory" }, limits)).toEqual({ skip: true });
  });

  it.each([
    [`${ID}/../../etc/passwd`, "file", /plain relative path/],
    ["/etc/passwd", "file", /plain relative path/],
    [`${ID}/./env.json`, "file", /plain relative path/],
    [`other/env.json`, "file", /not inside a backup id/],
    [`${ID}/env.json`, "symlink", /symlink, not a plain file/],
    [`${ID}/env.json`, "link", /link, not a plain file/],
    [`${ID}/env.json`, "character-device", /not a plain file/],
    [`${ID}/addons/../env.json`, "file", /plain relative path/],
    [`${ID}/run.sh`, "file", /not a file of a backup/],
    [`${ID}/addons/postgres_x.sh`, "file", /not a file of a backup/],
    [`${ID}/data`, "directory", /unexpected directory/],
    [`${ID}/env.json\\x`, "file", /forbidden character/],
  ])("refuses %s (%s)", (name, type, message) => {
    expect(() => checkArchiveEntry({ name, type, size: 1 }, limits)).toThrow(message);
  });

  it("refuses entries over the size limit", () => {
    expect(() => checkArchiveEntry({ name: `${ID}/data.tar.gz`, size: 1001 }, limits)).toThrow(/too large/);
  });

  it("takes an SBOM and a provenance statement, each within the size the server reads", () => {
    const roomy = { ...limits, maxEntryBytes: 1024 ** 4 };
    expect(checkArchiveEntry({ name: `${ID}/${SBOM_FILE}`, size: 10 }, roomy)).toEqual({
      id: ID,
      file: SBOM_FILE,
    });
    expect(checkArchiveEntry({ name: `${ID}/${PROVENANCE_FILE}`, size: 10 }, roomy)).toEqual({
      id: ID,
      file: PROVENANCE_FILE,
    });
    expect(() =>
      checkArchiveEntry({ name: `${ID}/${SBOM_FILE}`, size: SUPPLY_CHAIN_MAX_BYTES + 1 }, roomy),
    ).toThrow(/too large/);
    expect(() => checkArchiveEntry({ name: `${ID}/${PROVENANCE_FILE}`, size: 1001 }, limits)).toThrow(
      /too large/,
    );
    expect(() => checkArchiveEntry({ name: `${ID}/sbom/${SBOM_FILE}`, size: 1 }, roomy)).toThrow(
      /not a file of a backup/,
    );
  });
});

describe("the SBOM and statement a restore takes", () => {
  const cdx = { bomFormat: "CycloneDX", specVersion: "1.6", metadata: {}, components: [] };
  const dsse = { payloadType: "application/vnd.in-toto+json", payload: "e30=", signatures: [] };

  it("takes a CycloneDX document and a DSSE envelope", () => {
    expect(parseSupplyChainDoc(SBOM_FILE, JSON.stringify(cdx))).toEqual({ doc: cdx });
    expect(parseSupplyChainDoc(PROVENANCE_FILE, JSON.stringify(dsse))).toEqual({ doc: dsse });
  });

  it.each([
    [SBOM_FILE, "{", /not JSON/],
    [SBOM_FILE, "[1]", /not a JSON object/],
    [SBOM_FILE, JSON.stringify({ ...cdx, bomFormat: "SPDX" }), /not a CycloneDX document/],
    [SBOM_FILE, JSON.stringify({ ...cdx, components: {} }), /components is not a list/],
    [SBOM_FILE, JSON.stringify({ ...cdx, metadata: "x" }), /no metadata/],
    [PROVENANCE_FILE, JSON.stringify(cdx), /not a signed statement/],
  ] as const)("gives the reason for a bad %s: %s", (file, text, problem) => {
    const r = parseSupplyChainDoc(file, text);
    expect("problem" in r && r.problem).toMatch(problem);
  });
});

describe("retention", () => {
  it("keeps the N newest", () => {
    const ids = [
      "20260103_030000_aaaaaa",
      "20260105_030000_aaaaaa",
      "20260104_030000_aaaaaa",
      "20260101_030000_aaaaaa",
    ];
    expect(expiredBackups(ids, 2)).toEqual(["20260103_030000_aaaaaa", "20260101_030000_aaaaaa"]);
    expect(expiredBackups(ids, 7)).toEqual([]);
    expect(() => expiredBackups(ids, 0)).toThrow(/at least 1/);
  });
});

describe("restore plan", () => {
  const m = {
    app: "shop",
    addons: [
      { name: "shop-postgres", type: "postgres", major: "15", prefix: "", file: "" },
      { name: "cache", type: "redis", major: "7", prefix: "CACHE", file: "" },
    ],
  };
  it("refuses an existing app without --force", () => {
    expect(() => planRestore(m, { force: false, appExists: true, addonExists: () => false })).toThrow(
      /already exists/,
    );
  });
  it("renames default addons after the new app; keeps other names when free, prefixes them when taken", () => {
    const free = planRestore(m, { to: "copy", force: false, appExists: false, addonExists: () => false });
    expect(free.app).toBe("copy");
    expect(free.addons.map((a) => [a.name, a.action])).toEqual([
      ["copy-postgres", "create"],
      ["cache", "create"],
    ]);
    const taken = planRestore(m, {
      to: "copy",
      force: false,
      appExists: false,
      addonExists: (n) => n === "cache",
    });
    expect(taken.addons.map((a) => a.name)).toEqual(["copy-postgres", "copy-cache"]);
  });
  it("refuses to overwrite an existing addon's data without --force; reuses it with --force", () => {
    const exists = (n: string) => n === "shop-postgres";
    expect(() => planRestore(m, { force: false, appExists: false, addonExists: exists })).toThrow(
      /addon named shop-postgres/,
    );
    const forced = planRestore(m, { force: true, appExists: true, addonExists: exists });
    expect(forced.addons[0]).toMatchObject({ name: "shop-postgres", action: "reuse" });
  });
});

describe("sealed env.json", () => {
  it("opens with its key and backup id only", () => {
    const key = Buffer.alloc(32, 7);
    const text = sealEnv(key, ID, { config: { SECRET: "hunter2" } });
    expect(text).not.toContain("hunter2");
    expect(openEnv<{ config: Record<string, string> }>(key, ID, text).config.SECRET).toBe("hunter2");
    expect(() => openEnv(Buffer.alloc(32, 8), ID, text)).toThrow(/does not open/);
    expect(() => openEnv(key, "20260104_030000_zzzzzz", text)).toThrow(/does not open/);
    expect(keyFromBase64(key.toString("base64"))).toEqual(key);
    expect(() => keyFromBase64("c2hvcnQ=")).toThrow(/32 bytes/);
  });
});
