/**
 * Backups on real Podman (issue 10, docs/backups.md): an app with a Postgres, a MariaDB and a Redis addon and a
 * persist volume writes rows, keys and files; backup:create; the app and its addons are destroyed; the backup
 * restores into a new app with every row, key and file identical (compared by checksum) and the app answers
 * through the router. Bad input: a flipped byte, a truncated import, archives with `../` or a symlink, a wrong
 * key, a restore onto an existing app without --force: each refused, nothing changed. The backup holds the
 * release's SBOM and provenance byte for byte; the restored release has that SBOM and a statement that verifies.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import tar from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import {
  cliPath,
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop,
  uniqueApp,
} from "./helpers.js";

const ROOT = process.env.HOP3_ROOT ?? "/var/lib/hop3";
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** A tar made by hand, for the hostile archives. */
async function makeTar(
  entries: { name: string; body?: string; type?: "file" | "symlink"; linkname?: string }[],
) {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === "symlink")
      pack.entry({ name: e.name, type: "symlink", linkname: e.linkname ?? "/etc/passwd" });
    else pack.entry({ name: e.name }, e.body ?? "");
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const importFile = async (path: string) =>
  execa("sh", ["-c", `"${process.execPath}" "${cliPath}" backup:import < "${path}"`], {
    reject: false,
    env: { NO_COLOR: "1" },
  });

describe("backups", () => {
  const app = uniqueApp("it-bk");
  const copy = uniqueApp("it-bk-copy");
  const addons = (a: string) => [`${a}-postgres`, `${a}-mariadb`, `${a}-redis`];
  const tmp = mkdtempSync(join(tmpdir(), "hop3-it-backups-"));
  let id = "";
  let url = "";
  const fileBody = `${randomBytes(40000).toString("base64")}\n`;
  let before: { pg: string; maria: string; redis: string } = { pg: "", maria: "", redis: "" };

  afterAll(async () => {
    for (const a of [app, copy]) {
      await destroyQuietly(a);
      for (const n of addons(a)) await hop(["addons:destroy", n, "--confirm", n]);
    }
    if (id) await hop(["backup:destroy", id, "--confirm", id]);
    rmSync(tmp, { recursive: true, force: true });
  });

  /** What the app's databases and volume hold, as checksums of deterministic dumps. */
  const state = async (a: string) => {
    const pg = await hop(["pg:psql", `${a}-postgres`], {
      input: "\\pset format unaligned\nSELECT id, body FROM notes ORDER BY id;\n",
    });
    const maria = await hop(["mariadb:cli", `${a}-mariadb`], {
      input: "SELECT id, body FROM items ORDER BY id;\n",
    });
    const redis = await hop(["redis:cli", `${a}-redis`], { input: "MGET k1 k2 k3\nLRANGE list 0 -1\n" });
    for (const r of [pg, maria, redis]) expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    return { pg: pg.stdout, maria: maria.stdout, redis: redis.stdout };
  };

  it("backs up an app with Postgres, MariaDB, Redis and a persist volume", async () => {
    const r = await hop(["deploy", fixture("backup-app"), "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    url = deployedUrl(r.stdout);
    const [pg, maria, redis] = addons(app);
    const w1 = await hop(["pg:psql", pg!], {
      input:
        "CREATE TABLE notes (id serial PRIMARY KEY, body text);\n" +
        "INSERT INTO notes (body) SELECT md5(g::text) FROM generate_series(1, 2000) g;\n",
    });
    expect(w1.exitCode, w1.stderr).toBe(0);
    const w2 = await hop(["mariadb:cli", maria!], {
      input:
        "CREATE TABLE items (id INT PRIMARY KEY, body TEXT);\n" +
        "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'ünïcode');\n",
    });
    expect(w2.exitCode, w2.stderr).toBe(0);
    const w3 = await hop(["redis:cli", redis!], {
      input: "SET k1 v1\nSET k2 v2\nSET k3 v3\nRPUSH list a b c\n",
    });
    expect(w3.exitCode, w3.stderr).toBe(0);
    const w4 = await hop(
      [
        "run",
        "--app",
        app,
        "sh",
        "-c",
        "cat > /data/file.txt && mkdir -p /data/sub && echo nested > /data/sub/n.txt",
      ],
      {
        input: fileBody,
      },
    );
    expect(w4.exitCode, w4.stderr).toBe(0);
    expect((await getThroughRouter(url, "/file.txt")).body).toBe(fileBody);
    before = await state(app);
    expect(before.pg).toContain("2000|");
    expect(before.redis).toContain("v3");

    const b = await hop(["backup:create", "-a", app, "--json"]);
    expect(b.exitCode, b.stdout + b.stderr).toBe(0);
    id = (JSON.parse(b.stdout) as { id: string }).id;
    expect(id).toMatch(/^\d{8}_\d{6}_[a-z0-9]{6}$/);
    const dir = join(ROOT, "backups", app, id);
    const meta = JSON.parse(readFileSync(join(dir, "metadata.json"), "utf8"));
    expect(Object.keys(meta.files).sort()).toEqual(
      [
        `addons/mariadb_${maria}.sql`,
        `addons/postgres_${pg}.dump`,
        `addons/redis_${redis}.rdb`,
        "data.tar.gz",
        "env.json",
        "image.tar.gz",
        "provenance.intoto.json",
        "sbom.cdx.json",
      ].sort(),
    );
    // the release's SBOM and signed statement, byte for byte (the backup waits for an SBOM still being made)
    for (const [file, kept] of [
      ["sbom.cdx.json", "v1.cdx.json"],
      ["provenance.intoto.json", "v1.intoto.json"],
    ]) {
      expect(sha(readFileSync(join(dir, file!), "utf8")), file).toBe(
        sha(readFileSync(join(ROOT, "sbom", app, kept!), "utf8")),
      );
    }
    // the secrets are sealed: no password of an addon in clear anywhere in env.json
    const env = readFileSync(join(dir, "env.json"), "utf8");
    expect(env).not.toContain("PGPASSWORD");
    expect(env).not.toContain("postgres://");

    const list = await hop(["backup:list", "-a", app]);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+APP\s+RELEASE/m);
    expect(list.stdout).toContain(id);
    const show = await hop(["backup:show", id]);
    expect(show.exitCode, show.stdout + show.stderr).toBe(0);
    expect(show.stdout).toContain("all verified");
  });

  it("refuses a restore onto the existing app without --force, and a wrong key, changing nothing", async () => {
    const onto = await hop(["backup:restore", id]);
    expect(onto.exitCode).not.toBe(0);
    expect(onto.stderr + onto.stdout).toContain("already exists");
    const keyFile = join(tmp, "wrong.key");
    writeFileSync(keyFile, randomBytes(32));
    const wrong = await hop(["backup:restore", id, "--to", copy, "--key-file", keyFile]);
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stderr + wrong.stdout).toContain("does not open");
    const apps = await hop(["apps", "--json"]);
    expect(apps.stdout).not.toContain(copy);
  });

  it("refuses a corrupted backup (one flipped byte) and changes nothing", async () => {
    const exported = join(tmp, "good.tar");
    const e = await execa(
      "sh",
      ["-c", `"${process.execPath}" "${cliPath}" backup:export ${id} > "${exported}"`],
      {
        reject: false,
      },
    );
    expect(e.exitCode, e.stderr).toBe(0);
    expect(statSync(exported).size).toBeGreaterThan(1000);
    // a copy of the backup under a new id with a flipped byte in its data, imported as a backup of its own
    // would fail its checksums at import: so the byte is flipped in place, and put back afterwards
    const file = join(ROOT, "backups", app, id, "data.tar.gz");
    const original = readFileSync(file);
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)]! ^= 0xff;
    writeFileSync(file, damaged);
    try {
      const show = await hop(["backup:show", id]);
      expect(show.exitCode).not.toBe(0);
      expect(show.stdout).toContain("data.tar.gz: sha256 differs");
      const r = await hop(["backup:restore", id, "--to", copy]);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr + r.stdout).toContain("damaged, nothing was restored");
      expect((await hop(["apps", "--json"])).stdout).not.toContain(copy);
    } finally {
      writeFileSync(file, original);
    }

    // import: the export itself is refused as already present; truncated, it is refused as truncated
    const dup = await importFile(exported);
    expect(dup.exitCode).not.toBe(0);
    expect(dup.stderr).toContain("already on this server");
    const truncated = join(tmp, "truncated.tar");
    writeFileSync(truncated, readFileSync(exported).subarray(0, Math.floor(statSync(exported).size / 2)));
    const t = await importFile(truncated);
    expect(t.exitCode).not.toBe(0);
    expect(t.stderr).toMatch(/truncated|missing|damaged/);
  });

  it("refuses hostile archives: ../ entries, symlinks, files that are not a backup's", async () => {
    const bid = "20200101_000000_abcdef";
    const cases: [string, Parameters<typeof makeTar>[0], RegExp][] = [
      ["dotdot", [{ name: `${bid}/../../../tmp/evil`, body: "x" }], /not a plain relative path/],
      ["abs", [{ name: "/etc/cron.d/evil", body: "x" }], /not a plain relative path|not inside/],
      ["symlink", [{ name: `${bid}/metadata.json`, type: "symlink" }], /symlink, not a plain file/],
      [
        "other",
        [
          { name: `${bid}/metadata.json`, body: "{}" },
          { name: `${bid}/run.sh`, body: "x" },
        ],
        /not a file of a backup/,
      ],
    ];
    for (const [label, entries, message] of cases) {
      const path = join(tmp, `${label}.tar`);
      writeFileSync(path, await makeTar(entries));
      const r = await importFile(path);
      expect(r.exitCode, label).not.toBe(0);
      expect(r.stderr, label).toMatch(message);
    }
    expect((await hop(["backup:list", "--json"])).stdout).not.toContain(bid);
  });

  it("restores into a new app after the original and its addons are gone: every row, key and file identical", async () => {
    expect((await hop(["destroy", app, "--confirm", app])).exitCode).toBe(0);
    for (const n of addons(app)) {
      const d = await hop(["addons:destroy", n, "--confirm", n]);
      expect(d.exitCode, d.stderr).toBe(0);
    }
    const r = await hop(["backup:restore", id, "--to", copy, "--timings"]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    // --timings: the table of where the restore's time went, each addon's start and load among the rows
    for (const row of ["verify checksums", `addon ${copy}-postgres: load data`, "volumes", "health check"])
      expect(r.stdout).toContain(row);
    const { apps } = JSON.parse((await hop(["apps", "--json"])).stdout) as {
      apps: { name: string; url: string }[];
    };
    const copyUrl = apps.find((a) => a.name === copy)!.url;
    const after = await state(copy);
    expect(sha(after.pg)).toBe(sha(before.pg));
    expect(sha(after.maria)).toBe(sha(before.maria));
    expect(sha(after.redis)).toBe(sha(before.redis));
    const served = await getThroughRouter(copyUrl, "/file.txt");
    expect(served.status).toBe(200);
    expect(sha(served.body)).toBe(sha(fileBody));
    expect((await getThroughRouter(copyUrl, "/sub/n.txt")).body).toBe("nested\n");

    // the backed-up SBOM is the restored release's (re-labelled), with a statement signed for it; the one
    // signed for the original release is kept beside it
    const backedUp = JSON.parse(readFileSync(join(ROOT, "backups", app, id, "sbom.cdx.json"), "utf8")) as {
      components: unknown[];
    };
    const sbom = await hop(["sbom", "-a", copy, "--release", "v1"]);
    expect(sbom.exitCode, sbom.stderr).toBe(0);
    const restored = JSON.parse(sbom.stdout) as {
      components: unknown[];
      metadata: { component: { name: string }; properties: { name: string; value: string }[] };
    };
    expect(restored.metadata.component.name).toBe(copy);
    expect(restored.metadata.properties).toContainEqual({
      name: "hop3:sbom:restored-from",
      value: `backup ${id} (${app} v1)`,
    });
    expect(restored.components).toEqual(backedUp.components);
    expect(JSON.parse(readFileSync(join(ROOT, "sbom", copy, "v1.backup-intoto.json"), "utf8"))).toEqual(
      JSON.parse(readFileSync(join(ROOT, "backups", app, id, "provenance.intoto.json"), "utf8")),
    );
    let verify = await hop(["sbom:verify", "-a", copy]);
    for (let i = 0; i < 60 && verify.exitCode === 3; i++) {
      // the statement is signed after the switch, in the background
      await new Promise((res) => setTimeout(res, 1000));
      verify = await hop(["sbom:verify", "-a", copy]);
    }
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`OK: provenance of ${copy} v1 verified`);
  });

  it("runs scheduled backups with retention; a failed run shows in backup:list, hop apps and the server log", async () => {
    const empty = uniqueApp("it-bk-empty");
    expect((await hop(["create", empty])).exitCode).toBe(0);
    try {
      for (const [a, keep] of [
        [copy, "1"],
        [empty, "3"],
      ] as const) {
        const s = await hop(["backup:schedule", "-a", a, "* * * * *", "--keep", keep]);
        expect(s.exitCode, s.stderr).toBe(0);
      }
      const bad = await hop(["backup:schedule", "-a", copy, "61 * * * *"]);
      expect(bad.exitCode).not.toBe(0);
      // two scheduled runs of the copy: with --keep 1 only the second remains
      const seen = new Set<string>();
      let listed: { id: string; trigger: string }[] = [];
      for (let i = 0; i < 200 && seen.size < 2; i++) {
        const l = await hop(["backup:list", "-a", copy, "--json"]);
        listed = (JSON.parse(l.stdout) as { backups: { id: string; trigger: string }[] }).backups;
        for (const b of listed) seen.add(b.id);
        if (seen.size < 2) await new Promise((r) => setTimeout(r, 1000));
      }
      expect(seen.size).toBeGreaterThanOrEqual(2);
      expect(listed.length).toBe(1);
      expect(listed[0]!.trigger).toBe("scheduled");

      const list = await hop(["backup:list"]);
      expect(list.exitCode).toBe(1);
      expect(list.stderr).toContain(`scheduled backup of ${empty} FAILED`);
      expect(list.stderr).toContain("nothing to back up");
      const apps = await hop(["apps"]);
      expect(apps.stderr).toContain(`${empty}: scheduled backup FAILED`);
      expect(readFileSync(join(ROOT, "log", "server.log"), "utf8")).toContain(
        `scheduled backup of ${empty} FAILED`,
      );
    } finally {
      await hop(["backup:unschedule", "-a", copy]);
      await hop(["backup:unschedule", "-a", empty]);
      await destroyQuietly(empty);
    }
    for (const b of (
      JSON.parse((await hop(["backup:list", "-a", copy, "--json"])).stdout) as { backups: { id: string }[] }
    ).backups) {
      await hop(["backup:destroy", b.id, "--confirm", b.id]);
    }
  });
});
