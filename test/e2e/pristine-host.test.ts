/**
 * The README's first command on a pristine Debian 12 host of the shape a new CI machine has (root, Node 20,
 * git and curl; no systemd as PID 1, no sudo, no iptables, no podman: images/testhost-bookworm). A checkout
 * without node_modules is copied in and `./install.sh` runs exactly as the README says; the URL it prints must
 * answer. Nothing install.sh installs is in the image, so a package missing from its list fails this test
 * (issue 8: Debian 12's netavark needs iptables, and nothing else pulls it in).
 *
 * Last, on the same host (no second pristine install: CI time), the issue-14 headline: `./install.sh --catalog
 * wordpress --domain blog.example.test` with the ACME settings pointing at Pebble (Let's Encrypt's test CA, run
 * inside the host) gives the real WordPress over HTTPS with a certificate that verifies against Pebble's root,
 * and install.sh's timings of each step are printed here (docs/benchmarks.md has the figures).
 *
 * Env: HOP3_E2E_KEEP=1 keeps the test host for inspection (scripts/testhost destroy NAME removes it).
 */
import { execSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunTestHosts, REPO, TestHost, tail, testhost, waitFor } from "./testhost.js";

const cannot = canRunTestHosts();
const NAME = `hop3-pristine-${process.pid}`;
const FLAVOR = ["--flavor", "bookworm"];
/** install.sh's base-image debootstrap, shared with the other test hosts: a cache of the image, not of packages. */
const CACHE = "/var/cache/hop3/testhost/hop3-cache";
const CHECKOUT = "/root/hop3";

/**
 * The catalog case: what it installs and what proves the app really works over HTTPS. WordPress is the issue's
 * headline, but cold on a pristine host (its Apache, PHP and MariaDB images built from Debian's packages, where
 * each dpkg maintainer script costs seconds on a 2-core machine) its catalog install took 820 s here
 * (2026-12-05: image build 687 s, MariaDB 110 s), far over what CI can spend; so CI installs Radicale,
 * which exercises the same path (install.sh --catalog, the signed recipe built without a registry, a certificate
 * from the ACME CA, the chain verified, each step timed) minus the database, and bench/headline.mjs runs this file
 * with HOP3_E2E_CATALOG=wordpress for the headline's figures (docs/benchmarks.md).
 */
const HEADLINE: Record<
  string,
  {
    domain: string;
    sets: string[];
    path: string;
    contains: string[];
    absent?: RegExp;
    notes: RegExp;
    database: boolean;
  }
> = {
  wordpress: {
    domain: "blog.example.test",
    sets: ["SITE_TITLE=Hop3 headline blog"],
    path: "/",
    contains: ["Hop3 headline blog", "Hello world!", "https://blog.example.test/"],
    absent: /wp-admin\/install\.php/,
    notes: /Log in as admin at https:\/\/blog\.example\.test\/wp-admin\//,
    database: true,
  },
  radicale: {
    domain: "dav.example.test",
    sets: [],
    path: "/.web/",
    contains: ["Radicale Web Interface"],
    notes: /Log in as admin at https:\/\/dav\.example\.test\/\.web\//,
    database: false,
  },
};
const RECIPE = process.env.HOP3_E2E_CATALOG || "radicale";

describe.skipIf(cannot)("pristine Debian 12 host: ./install.sh as the README says", () => {
  const host = new TestHost(NAME);
  const timings: Record<string, number> = {};
  let firstRun = "";
  let url = "";

  /** The README's command, from the checkout, as root. */
  const install = async (timeout: number) => {
    const t = Date.now();
    const r = await host.exec(["sh", "-c", `cd ${CHECKOUT} && ./install.sh`], { timeout, allowFail: true });
    return { ...r, seconds: (Date.now() - t) / 1000 };
  };
  /** The sample answers at `url` (by its Host header on 127.0.0.1: names such as *.example.test need no DNS). */
  const answers = async () => {
    const u = new URL(url);
    const r = await host.exec(
      ["curl", "-sS", "--max-time", "5", "-H", `Host: ${u.hostname}`, `http://127.0.0.1:${u.port || 80}/`],
      { allowFail: true },
    );
    return r.code === 0 && r.out.includes("app=hello");
  };

  beforeAll(async () => {
    let t = Date.now();
    await testhost([...FLAVOR, "build"], { timeout: 900_000 });
    timings.image = (Date.now() - t) / 1000;
    execSync(`mkdir -p ${CACHE}`);
    t = Date.now();
    await testhost([...FLAVOR, "create", NAME, "-v", `${CACHE}:/var/cache/hop3`], { timeout: 120_000 });
    timings.boot = (Date.now() - t) / 1000;
    // what `git clone` gives: tracked and new files of the working tree, and no node_modules or dist
    const listed = execSync("git ls-files -z --cached --others --exclude-standard", { cwd: REPO })
      .toString()
      .split("\0")
      .filter(
        (f) => f && existsSync(join(REPO, f)) && !f.startsWith("dist/") && !f.startsWith("node_modules/"),
      );
    await host.copyIn(listed, CHECKOUT);
  }, 1_200_000);

  afterAll(async () => {
    if (process.env.HOP3_E2E_KEEP === "1") console.log(`kept test host ${NAME}`);
    else await testhost(["destroy", NAME]).catch((err) => console.error(String(err)));
    console.log(`pristine host timings (s): ${JSON.stringify(timings)}`);
  }, 120_000);

  it("is as pristine as a new CI machine", async () => {
    const r = await host.exec([
      "sh",
      "-c",
      "for c in sudo podman iptables nft; do command -v $c || [ -x /usr/sbin/$c ] && echo HAS $c; done; " +
        "id hop3 2>/dev/null && echo HAS hop3; [ -d /run/systemd/system ] && echo HAS systemd; node --version",
    ]);
    expect(r.out).not.toContain("HAS");
    expect(r.out).toMatch(/^v2\d\./m);
  });

  it("goes from a checkout to the sample's URL answering with one command", async () => {
    const r = await install(900_000);
    timings.install = r.seconds;
    firstRun = r.all;
    if (r.code !== 0) throw new Error(`./install.sh failed (exit ${r.code}):\n${tail(r.all, 80)}`);
    // the network stack was decided from what is there: Debian 12's netavark 1.4 drives iptables
    expect(firstRun).toMatch(
      /container networks: netavark 1\.4\.\d+ drives iptables, which is missing: installing iptables/,
    );
    // the deploy path was proven before the sample deploy
    expect(firstRun).toMatch(/Checking the deploy path[\s\S]*router: +ok/);
    url = /The sample app is at (http:\/\/\S+)/.exec(firstRun)?.[1] ?? "";
    expect(url).toBe("http://hello.hop3.localhost/");
    // *.localhost needs no DNS: curl on the host itself, as the README says
    expect((await host.exec(["curl", "-sS", "--max-time", "5", url])).out).toContain("app=hello");
    // as long as install() may take: on a loaded machine better-sqlite3's compile alone takes minutes
  }, 900_000);

  it("runs again harmlessly, without redoing the work", async () => {
    const r = await install(300_000);
    timings.again = r.seconds;
    if (r.code !== 0) throw new Error(`the second ./install.sh failed (exit ${r.code}):\n${tail(r.all, 60)}`);
    expect(r.all).toMatch(/packages: already done/);
    expect(r.all).toMatch(/hello is deployed and answers: already done/);
    expect(r.all).not.toMatch(/debootstrap --variant/);
    expect(await answers()).toBe(true);
  });

  it("takes settings from the environment, saves them and applies them (docs/install.md)", async () => {
    const t = Date.now();
    const r = await host.exec(["sh", "-c", `cd ${CHECKOUT} && ./install.sh`], {
      // plain HTTP: with TLS on, a name like this one is served over HTTPS (and its certificate needs an ACME CA)
      env: {
        HOP3_BASE_DOMAIN: "paas.example.test",
        HOP3_HTTP_PORT: "8080",
        HOP3_TLS: "off",
        HOP3_SSH_PORT: "2222",
      },
      timeout: 300_000,
      allowFail: true,
    });
    timings.settings = (Date.now() - t) / 1000;
    if (r.code !== 0)
      throw new Error(`./install.sh with settings failed (exit ${r.code}):\n${tail(r.all, 60)}`);
    const saved = (await host.exec(["cat", "/etc/hop3/hop3.env"])).out;
    expect(saved).toMatch(/^HOP3_BASE_DOMAIN=paas\.example\.test$/m);
    expect(saved).toMatch(/^HOP3_HTTP_PORT=8080$/m);
    expect(saved).toMatch(/^HOP3_TLS=off$/m);
    // the sample answers at its new name, through the router on its new port
    url = "http://hello.paas.example.test:8080/";
    expect(r.all).toContain(`The sample app is at ${url}`);
    expect(await answers()).toBe(true);
    // sshd (git push) listens where HOP3_SSH_PORT says
    expect(
      (await host.exec(["sh", "-c", "ss -ltn | grep -c ':2222 '"], { allowFail: true })).out.trim(),
    ).not.toBe("0");
  });

  it("hop doctor names the missing piece when a package the deploy path needs is removed, and install.sh mends it", async () => {
    // as if an operator removed it: netavark 1.4 cannot set up any network without it
    await host.exec(["sh", "-c", "DEBIAN_FRONTEND=noninteractive apt-get remove -y -q iptables >/dev/null"]);
    const doctor = await host.exec(["hop", "doctor"], { allowFail: true, timeout: 120_000 });
    expect(doctor.code).toBe(1);
    expect(doctor.all).toMatch(
      /netavark 1\.4\.\d+ needs iptables, which is not installed: apt-get install iptables/,
    );
    const r = await install(300_000);
    if (r.code !== 0)
      throw new Error(`./install.sh did not mend the host (exit ${r.code}):\n${tail(r.all, 60)}`);
    expect(r.all).toMatch(/installing iptables/);
    expect((await host.exec(["hop", "doctor"], { timeout: 120_000 })).code).toBe(0);
    expect(await answers()).toBe(true);
  });

  /**
   * The recipe: HOP3_E2E_CATALOG, RECIPE_DEFAULT (below) unless set. Pebble is a test dependency, installed here
   * and not by install.sh; its HTTP-01 validations reach the router on 127.0.0.1:80 because pebble-challtestsrv
   * resolves every name to 127.0.0.1. The operator's steps are the ones docs/install.md gives for a private ACME
   * CA: the settings in install.sh's environment, the CA's root among the host's trusted roots (so install.sh's
   * own wait for the first HTTPS 200 verifies the chain); the check below verifies it against Pebble's root alone.
   */
  // In every run, with Radicale unless HOP3_E2E_CATALOG names another recipe of HEADLINE
  it(`installs ${RECIPE} from the catalog over HTTPS with a certificate from the ACME CA (Pebble), timed`, async () => {
    const c = HEADLINE[RECIPE];
    if (!c) throw new Error(`HOP3_E2E_CATALOG=${RECIPE}: one of ${Object.keys(HEADLINE).join(", ")}`);
    const pebble = "/etc/hop3-pebble";
    await host.exec(
      [
        "sh",
        "-c",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends pebble openssl >/dev/null",
      ],
      { timeout: 300_000 },
    );
    // Pebble's own HTTPS listener needs a certificate (Debian ships none); the server (as hop3) reads it
    await host.exec([
      "sh",
      "-c",
      `install -d -m 0755 ${pebble} && cd ${pebble} && ` +
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost " +
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null && " +
        "chmod 0644 cert.pem && " +
        `printf '%s' '${JSON.stringify({
          pebble: {
            listenAddress: "127.0.0.1:14000",
            managementListenAddress: "127.0.0.1:15000",
            certificate: `${pebble}/cert.pem`,
            privateKey: `${pebble}/key.pem`,
            httpPort: 80,
            tlsPort: 443,
            ocspResponderURL: "",
            externalAccountBindingRequired: false,
          },
        })}' > pebble.json`,
    ]);
    // every name resolves to 127.0.0.1 (this host's router); both run on after this exec, detached
    await host.exec([
      "sh",
      "-c",
      "setsid nohup pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 '' -dns01 127.0.0.1:8053 " +
        "-http01 '' -https01 '' -tlsalpn01 '' -management 127.0.0.1:8055 >/var/log/challtestsrv.log 2>&1 </dev/null & " +
        `PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 setsid nohup pebble -config ${pebble}/pebble.json ` +
        "-dnsserver 127.0.0.1:8053 >/var/log/pebble.log 2>&1 </dev/null &",
    ]);
    // Pebble makes a new root at each start: fetched from its management API once it answers
    await waitFor(
      "Pebble's management API did not answer",
      async () =>
        (
          await host.exec(
            [
              "sh",
              "-c",
              `curl -sf --cacert ${pebble}/cert.pem https://127.0.0.1:15000/roots/0 -o ${pebble}/root.pem`,
            ],
            { allowFail: true },
          )
        ).code === 0,
      60_000,
    );
    // the private CA's root among the host's trusted roots (the CA bundle file itself: update-ca-certificates
    // would rebuild it without the proxy CA scripts/testhost copied in)
    await host.exec(["sh", "-c", `cat ${pebble}/root.pem >> /etc/ssl/certs/ca-certificates.crt`]);

    const t = Date.now();
    const sets = c.sets.map((kv) => ` --set '${kv}'`).join("");
    const r = await host.exec(
      ["sh", "-c", `cd ${CHECKOUT} && ./install.sh --catalog ${RECIPE} --domain ${c.domain}${sets}`],
      {
        env: {
          // back to the defaults the third case changed, with TLS on and Pebble as the ACME CA
          HOP3_BASE_DOMAIN: "hop3.localhost",
          HOP3_HTTP_PORT: "80",
          HOP3_HTTPS_PORT: "443",
          HOP3_TLS: "auto",
          HOP3_ACME_EMAIL: "ops@example.test",
          HOP3_ACME_CA: "https://127.0.0.1:14000/dir",
          HOP3_ACME_CA_ROOT: `${pebble}/cert.pem`,
        },
        timeout: 1_500_000,
        allowFail: true,
      },
    );
    timings[RECIPE] = (Date.now() - t) / 1000;
    const block = /\nTimings \(s\):\n((?: {2}.*\n?)+)/.exec(r.all)?.[1] ?? "";
    // bench/headline.mjs reads these lines
    console.log(
      `headline ${RECIPE} pristine-install ${timings.install ?? "?"} s\nheadline ${RECIPE} timings:\n${block}`,
    );
    if (r.code !== 0)
      throw new Error(`./install.sh --catalog ${RECIPE} failed (exit ${r.code}):\n${tail(r.all, 80)}`);
    const url = `https://${c.domain}/`;
    expect(r.all).toContain(`${RECIPE} is at ${url}`);
    expect(r.all).toMatch(c.notes); // the post-install notes, with the real URL
    // each step timed: Hop3 itself, the image build, the database, the first HTTPS 200 (verified by install.sh)
    const rows = [
      /Hop3 \(host, build, server\) +\d+\.\d/,
      /image build +\d+\.\d/,
      /first 200 over HTTPS +\d+\.\d/,
    ];
    if (c.database) {
      rows.push(
        /addons \(database\) +\d+\.\d/,
        /release phase +\d+\.\d/,
        /addon images \(during build\) +\d+\.\d/,
      );
      // the database's image was started alongside the app's build, not after it
      const preparing = r.all.indexOf(
        "mariadb image | preparing the MariaDB 10.11 image alongside the build",
      );
      expect(preparing).toBeGreaterThanOrEqual(0);
      expect(preparing).toBeLessThan(r.all.indexOf("Building the image"));
    }
    for (const row of [...rows, /total +\d+\.\d/]) expect(block).toMatch(row);

    // the certificate chain verifies against Pebble's root, and nothing else (--cacert replaces the bundle)
    const page = await host.exec([
      "sh",
      "-c",
      `curl -sS -v --max-time 20 --cacert ${pebble}/root.pem --resolve ${c.domain}:443:127.0.0.1 ` +
        `-w '\nHTTP %{http_code}\n' https://${c.domain}${c.path} 2>/tmp/curl-v.txt; rc=$?; ` +
        "grep -E '^\\*  (issuer|subjectAltName):' /tmp/curl-v.txt; exit $rc",
    ]);
    expect(page.out).toMatch(/\nHTTP 200\n/);
    expect(page.out).toMatch(/issuer: .*Pebble/i);
    expect(page.out).toContain(`subjectAltName: host "${c.domain}" matched`);
    // the real, installed app (for WordPress: its title, its first post, links on its HTTPS name; not the installer)
    for (const text of c.contains) expect(page.out).toContain(text);
    if (c.absent) expect(page.out).not.toMatch(c.absent);
  }, 1_800_000);
});
