/**
 * The README's first command on a pristine Debian 12 host of the shape a new CI machine has (root, Node 20,
 * git and curl; no systemd as PID 1, no sudo, no iptables, no podman: images/testhost-bookworm). A checkout
 * without node_modules is copied in and `./install.sh` runs exactly as the README says; the URL it prints must
 * answer. Nothing install.sh installs is in the image, so a package missing from its list fails this test
 * (issue 8: Debian 12's netavark needs iptables, and nothing else pulls it in).
 *
 * Env: HOP3_E2E_KEEP=1 keeps the test host for inspection (scripts/testhost destroy NAME removes it).
 */
import { execSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRunTestHosts, REPO, TestHost, tail, testhost } from "./testhost.js";

const cannot = canRunTestHosts();
const NAME = `hop3-pristine-${process.pid}`;
const FLAVOR = ["--flavor", "bookworm"];
/** install.sh's base-image debootstrap, shared with the other test hosts: a cache of the image, not of packages. */
const CACHE = "/var/cache/hop3/testhost/hop3-cache";
const CHECKOUT = "/root/hop3";

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
  });

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
});
