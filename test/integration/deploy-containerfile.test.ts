/**
 * A Containerfile app through the whole platform: `hop deploy` -> build -> release -> router, config
 * changes, failed deploys that leave the previous release serving, and a destroy that leaves nothing.
 */
import { createHash, X509Certificate } from "node:crypto";
import {
  appendFileSync,
  cpSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  deployedUrl,
  destroyQuietly,
  fixture,
  getThroughRouter,
  hop,
  leftovers,
  podmanAsHop3,
  uniqueApp,
} from "./helpers.js";

describe("deploying a Containerfile app with hop deploy", () => {
  const app = uniqueApp("it-greeter");
  let url = "";
  const scratch = mkdtempSync(join(tmpdir(), "hop3-it-"));

  afterAll(async () => {
    await destroyQuietly(app);
    rmSync(scratch, { recursive: true, force: true });
  });

  it("builds, starts and routes the app on APP.BASE_DOMAIN", async () => {
    const r = await hop(["deploy", fixture("greeter"), "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("-----> Building the image");
    url = deployedUrl(r.stdout);
    expect(new URL(url).hostname).toBe(`${app}.hop3.localhost`);
    const res = await getThroughRouter(url);
    expect(res.status).toBe(200);
    // GREETING comes from the repository's ENV file, the version from [docker.build-args]
    expect(res.body).toBe(`hello from ${app} (v1)`);
  });

  it("gives the app the runtime contract: PORT, BIND_ADDRESS, APP, DYNO, HOST_NAME, ENV file values", async () => {
    const env = JSON.parse((await getThroughRouter(url, "/env")).body) as Record<string, string>;
    expect(env).toMatchObject({
      APP: app,
      PORT: "5000",
      BIND_ADDRESS: "0.0.0.0",
      PROC_TYPE: "web",
      DYNO: "web.1",
      FROM_ENV_FILE: "from-the-env-file",
    });
    expect(env.HOST_NAME?.split(",")).toContain(`${app}.hop3.localhost`);
    expect(env.HOP3_PUBLIC_URL).toMatch(new RegExp(`^http://${app}\\.hop3\\.localhost`));
  });

  it("config:set starts a new release whose config the app sees", async () => {
    const r = await hop(["config:set", "GREETING=bonjour", "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect((await getThroughRouter(url)).body).toBe(`bonjour from ${app} (v1)`);
    const got = await hop(["config:get", "GREETING", "--app", app]);
    expect(got.stdout.trim()).toBe("bonjour");
    const rel = await hop(["releases", "--app", app, "--json"]);
    const { releases } = JSON.parse(rel.stdout) as {
      releases: { number: number; status: string; source: string }[];
    };
    expect(releases[0]).toMatchObject({ number: 2, status: "active", source: "config" });
    expect(releases[1]).toMatchObject({ number: 1, status: "superseded" });
  });

  it("a failing build fails the deploy with exit 8 and the previous release keeps serving", async () => {
    const r = await hop(["deploy", fixture("broken-build"), "--app", app]);
    expect(r.exitCode).toBe(8);
    expect(r.stdout + r.stderr).toContain("fails on purpose");
    expect(r.stderr).toMatch(/build of Containerfile failed/);
    expect((await getThroughRouter(url)).body).toBe(`bonjour from ${app} (v1)`);
  });

  it("an app that crashes at start fails its health check and the previous release keeps serving", async () => {
    const r = await hop(["deploy", fixture("crash-on-start"), "--app", app]);
    expect(r.exitCode).toBe(8);
    expect(r.stderr).toMatch(/health check failed for web\.1/);
    expect(r.stdout).toContain("crash-on-start: giving up at once");
    expect((await getThroughRouter(url)).body).toBe(`bonjour from ${app} (v1)`);
    const { processes } = JSON.parse((await hop(["ps", "--app", app, "--json"])).stdout) as {
      processes: { release: number }[];
    };
    expect(processes.map((p) => p.release)).toEqual([2]);
  });

  it("an app that runs but never answers HTTP fails its check (an open forwarded port is not enough)", async () => {
    const dir = join(scratch, "never-ready");
    cpSync(fixture("never-ready"), dir, { recursive: true });
    writeFileSync(join(dir, "hop3.toml"), "[run]\nstart-timeout = 5\n");
    const r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode).toBe(8);
    expect(r.stderr).toMatch(/health check failed for web\.1: nothing answered HTTP/);
    expect((await getThroughRouter(url)).body).toBe(`bonjour from ${app} (v1)`);
  });

  it("a malformed hop3.toml is refused with its line and changes nothing", async () => {
    const dir = join(scratch, "bad-toml");
    cpSync(fixture("greeter"), dir, { recursive: true });
    writeFileSync(join(dir, "hop3.toml"), '[metadata]\nid = "greeter"\n\n[healthchek]\npath = "/health"\n');
    const r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/healthchek/);
    expect(r.stderr).toMatch(/line 4|:4/);
    expect((await getThroughRouter(url)).body).toBe(`bonjour from ${app} (v1)`);
  });

  it("ps and logs show the running process and its output", async () => {
    const ps = await hop(["ps", "--app", app]);
    expect(ps.exitCode).toBe(0);
    expect(ps.stdout).toMatch(/web\.1\s+running/);
    const logs = await hop(["logs", "--app", app]);
    expect(logs.exitCode).toBe(0);
    expect(logs.stdout).toMatch(/web\.1 \| greeter listening on 5000/);
  });

  it("domains:add routes another hostname to the app, domains:remove stops it", async () => {
    // a *.localhost name: no DNS and no certificate needed, so plain HTTP reaches it through the router
    const host = `www.${app}.localhost`;
    const added = await hop(["domains:add", host, "--app", app]);
    expect(added.exitCode, added.stdout + added.stderr).toBe(0);
    const other = url.replace(`${app}.hop3.localhost`, host);
    expect((await getThroughRouter(other)).body).toBe(`bonjour from ${app} (v1)`);
    const other2 = uniqueApp("it-other");
    await hop(["create", other2]);
    const taken = await hop(["domains:add", host, "--app", other2]);
    await destroyQuietly(other2);
    expect(taken.exitCode).toBe(6);
    const removed = await hop(["domains:remove", host, "--app", app]);
    expect(removed.exitCode).toBe(0);
    expect((await getThroughRouter(other)).status).toBe(404);
  });

  it("destroy refuses without confirmation, then removes containers, images, network and route", async () => {
    const refused = await hop(["destroy", "--app", app]);
    expect(refused.exitCode).toBe(2);
    expect((await getThroughRouter(url)).status).toBe(200);

    const r = await hop(["destroy", "--app", app, "--confirm", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(await leftovers(app)).toEqual([]);
    expect((await getThroughRouter(url)).status).toBe(404);
    const { apps } = JSON.parse((await hop(["apps", "--json"])).stdout) as { apps: { name: string }[] };
    expect(apps.map((a) => a.name)).not.toContain(app);
  });
});

describe("a Containerfile build and the operator's build CA (docs/deploying.md)", () => {
  const app = uniqueApp("it-buildca");
  const scratch = mkdtempSync(join(tmpdir(), "hop3-it-"));
  afterAll(async () => {
    await destroyQuietly(app);
    rmSync(scratch, { recursive: true, force: true });
  });

  it("mounts the CA only in the RUN step that asks, never in a layer, the context or a later step", async () => {
    const dir = join(scratch, "buildca");
    cpSync(fixture("greeter"), dir, { recursive: true });
    // the greeter's layers stay cached; these steps record what the build saw
    appendFileSync(
      join(dir, "Containerfile"),
      [
        "COPY . /ctx",
        "ARG NODE_EXTRA_CA_CERTS",
        "ARG HOP3_BUILD_CA",
        'RUN --mount=type=secret,id=hop3-ca,mode=0444 { echo "node=$NODE_EXTRA_CA_CERTS ca=$HOP3_BUILD_CA"; ' +
          "sha256sum < /run/secrets/hop3-ca | cut -c1-64; } > /app/ca-facts",
        "RUN { test -e /run/secrets/hop3-ca && echo later=present || echo later=absent; " +
          "ls -A /ctx | grep -c hop3-secret || true; } >> /app/ca-facts",
        "",
      ].join("\n"),
    );
    const r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const facts = await hop(["run", "--app", app, "cat", "/app/ca-facts"]);
    // the server's default CA is the host's bundle (HOP3_BUILD_CA_FILE unset)
    const hostBundle = createHash("sha256")
      .update(readFileSync("/etc/ssl/certs/ca-certificates.crt"))
      .digest("hex");
    expect(facts.stdout.trim().split("\n")).toEqual([
      "node=/run/secrets/hop3-ca ca=/run/secrets/hop3-ca",
      hostBundle,
      "later=absent",
      "0",
    ]);
    const atRun = await hop(["run", "--app", app, "ls", "/run/secrets/hop3-ca"]);
    expect(atRun.exitCode).not.toBe(0);
    const history = await podmanAsHop3(["image", "history", "--no-trunc", `localhost/hop3/${app}:r1`]);
    expect(history).not.toContain("BEGIN CERTIFICATE");
    expect(history).not.toContain("hop3-secret-");
  });
});

describe("a hostile Containerfile and the platform's secrets (docs/security.md)", () => {
  const app = uniqueApp("it-cfatk");
  const victim = uniqueApp("it-cfvic");
  const scratch = mkdtempSync(join(tmpdir(), "hop3-it-atk-"));
  const root = process.env.HOP3_ROOT ?? "/var/lib/hop3";
  afterAll(async () => {
    await destroyQuietly(app);
    await destroyQuietly(victim);
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Every form of every platform secret a leak could take: raw text, hex, base64, and PEM bodies' lines. */
  function secretForms(): string[] {
    const forms: string[] = [];
    for (const name of ["secret.key", "admin-token", "provenance.key", "backup.key"]) {
      let raw: Buffer;
      try {
        raw = readFileSync(join(root, name));
      } catch {
        continue; // backup.key exists once a backup was made
      }
      forms.push(raw.toString("hex"), raw.toString("base64"));
      const text = raw.toString("utf8").trim();
      for (const l of text.split("\n")) if (l.length >= 16 && !l.startsWith("-----")) forms.push(l);
    }
    expect(forms.length).toBeGreaterThan(4);
    return forms;
  }

  function expectNoSecret(text: string, what: string): void {
    for (const f of secretForms()) expect(text.includes(f), `${what} holds a platform secret`).toBe(false);
    expect(text, what).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
  }

  /** A greeter tree whose Containerfile gets `steps` appended (its first layers stay cached). */
  function tree(name: string, steps: string[]): string {
    const dir = join(scratch, name);
    cpSync(fixture("greeter"), dir, { recursive: true });
    appendFileSync(join(dir, "Containerfile"), `${steps.join("\n")}\n`);
    return dir;
  }

  it("can copy the build CA out of its secret: what it gets is the public certificates, nothing else", async () => {
    const dir = tree("allowed", [
      "RUN mkdir -p /leak",
      "RUN --mount=type=secret,id=hop3-ca cp /run/secrets/hop3-ca /leak/ca",
      // what else a build can see of the platform: its environment, its arguments, /proc, /run/secrets
      "ARG HOP3_BUILD_CA_FILE",
      "ARG HOP3_ROOT",
      "ARG HOP3_ADMIN_TOKEN",
      'RUN { env; echo "args=$HOP3_BUILD_CA_FILE|$HOP3_ROOT|$HOP3_ADMIN_TOKEN"; ls -A /run/secrets 2>&1; ' +
        "ls /proc | grep -c '^[0-9]'; tr '\\0' ' ' < /proc/1/cmdline; } > /leak/seen 2>&1",
      "RUN cat /leak/seen",
    ]);
    const r = await hop(["deploy", dir, "--app", app]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const log = r.stdout + r.stderr;
    expectNoSecret(log, "the build log");
    const image = `localhost/hop3/${app}:r1`;
    const ca = await podmanAsHop3(["run", "--rm", "--entrypoint", "cat", image, "/leak/ca"]);
    // certificates only, each a valid X.509 certificate: the host's bundle (HOP3_BUILD_CA_FILE unset)
    const blocks = [...ca.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]);
    const hostCount = (
      readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8").match(/BEGIN CERTIFICATE/g) ?? []
    ).length;
    expect(blocks.length).toBe(hostCount);
    expect(new Set(blocks)).toEqual(new Set(["CERTIFICATE"]));
    for (const b of ca.split("-----END CERTIFICATE-----").slice(0, -1))
      expect(() => new X509Certificate(`${b.trim()}\n-----END CERTIFICATE-----`)).not.toThrow();
    expectNoSecret(ca, "the copied secret");
    const seen = await podmanAsHop3(["run", "--rm", "--entrypoint", "cat", image, "/leak/seen"]);
    expectNoSecret(seen, "what the build saw");
    // arguments the platform does not give are empty; the secret was mounted only in its own step
    expect(seen).toContain("args=||");
    expect(seen).not.toContain("hop3-ca");
    // its environment (the lines before args=; /proc/1/cmdline after it is this step's own command)
    expect(seen.split("args=")[0]).not.toMatch(/HOP3_|\/var\/lib\/hop3/);
    // the build has its own PID namespace: it sees its own processes, not the server's
    expect(seen).not.toMatch(/hop3-server|server\/main\.js|podman system service/);
  });

  it("gets no platform file by a mount from a stage, a cache id, another secret, a path out, or another app's image", async () => {
    const v = await hop(["deploy", fixture("greeter"), "--app", victim]);
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    const linkStage = [
      "FROM localhost/hop3/base:bookworm AS links",
      "RUN ln -s / /rootdir && ln -s /var/lib/hop3 /h3",
    ];
    const cases: { name: string; steps: string[]; refused: RegExp; head?: string[] }[] = [
      {
        name: "bind-from-stage",
        head: linkStage,
        steps: [
          "RUN --mount=type=bind,from=links,source=/rootdir,target=/x cat /x/var/lib/hop3/secret.key /x/var/lib/hop3/admin-token",
        ],
        refused: /from=\.\.\. is refused.*CVE-2024-1753/,
      },
      {
        name: "cache-from-stage",
        head: linkStage,
        steps: ["RUN --mount=type=cache,from=links,source=/h3,target=/x cp /x/admin-token /leak"],
        refused: /from=\.\.\. is refused/,
      },
      {
        name: "cache-id-path",
        steps: [
          "RUN --mount=type=cache,id=../../../../../../../var/lib/hop3,target=/x cp /x/secret.key /leak",
        ],
        refused: /cache id is a plain name/,
      },
      {
        name: "bind-out-of-context",
        steps: [
          "RUN --mount=type=bind,source=../../../../../../var/lib/hop3,target=/x cp /x/secret.key /leak",
        ],
        refused: /leads out of the build context/,
      },
      {
        name: "bind-propagation",
        steps: ["RUN --mount=type=bind,source=.,target=/x,bind-propagation=rshared ls /x"],
        refused: /option bind-propagation is refused/,
      },
      {
        name: "other-secret",
        steps: ["RUN --mount=type=secret,id=secret.key,target=/k cp /k /leak"],
        refused: /the only build secret is hop3-ca/,
      },
      {
        name: "host-network",
        steps: ["RUN --network=host true"],
        refused: /--network=host is refused/,
      },
      {
        name: "other-app-image",
        steps: [`COPY --from=localhost/hop3/${victim}:r1 /app /stolen`],
        refused: /another app's or the platform's image/,
      },
      {
        name: "other-app-image-by-arg",
        // a global ARG naming the victim's image, its short name: Podman resolves it to the local one
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a Containerfile variable, not a template
        head: [`ARG VICTIM=hop3/${victim}:r1`, "FROM ${VICTIM} AS stolen"],
        steps: ["COPY --from=stolen /app /stolen"],
        refused: /another app's or the platform's image/,
      },
    ];
    for (const c of cases) {
      const dir = tree(c.name, c.steps);
      if (c.head) {
        const cf = readFileSync(join(dir, "Containerfile"), "utf8");
        writeFileSync(join(dir, "Containerfile"), `${c.head.join("\n")}\n${cf}`);
      }
      const r = await hop(["deploy", dir, "--app", app]);
      const out = r.stdout + r.stderr;
      expect(r.exitCode, `${c.name}: ${out}`).not.toBe(0);
      expect(out, c.name).toMatch(c.refused);
      expectNoSecret(out, `${c.name}'s deploy output`);
    }
    // none of them made a release: the app still runs r1, the allowed build above
    const { releases } = JSON.parse((await hop(["releases", "--app", app, "--json"])).stdout) as {
      releases: { number: number; status: string }[];
    };
    expect(releases.filter((x) => x.status !== "failed").map((x) => x.number)).toEqual([1]);
  });

  it("cannot send a link to a platform file in its tree (refused at the upload)", async () => {
    const dir = tree("link", ["COPY keylink /stolen"]);
    symlinkSync(join(root, "secret.key"), join(dir, "keylink"));
    const r = await hop(["deploy", dir, "--app", app]);
    const out = r.stdout + r.stderr;
    expect(r.exitCode, out).not.toBe(0);
    expect(out).toMatch(/symlink pointing outside the tree/);
    expectNoSecret(out, "the deploy output");
  });
});

describe("bad input", () => {
  it("refuses app names that could escape a path or a shell", async () => {
    for (const name of ["../etc", "a;rm -rf", "UPPER", "x"]) {
      const r = await hop(["create", name]);
      expect(r.exitCode, name).toBe(2);
    }
  });

  it("says clearly when no builder recognises the source (no Containerfile, nothing a buildpack knows)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hop3-empty-"));
    writeFileSync(join(dir, "README"), "nothing to build\n");
    const app = uniqueApp("it-empty");
    try {
      const r = await hop(["deploy", dir, "--app", app]);
      expect(r.exitCode).toBe(8);
      expect(r.stderr).toMatch(/no buildpack recognised this app/);
    } finally {
      await destroyQuietly(app);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
