import { describe, expect, it } from "vitest";
import {
  type ContainerPlan,
  effectiveScale,
  planRelease,
  type ReleasePlanInput,
} from "../../../src/deploy/plan.js";

const base: ReleasePlanInput = {
  app: "shop",
  release: 7,
  image: "localhost/hop3/shop:r7",
  processes: { web: undefined },
  scale: {},
  env: {},
  webPort: 8080,
  hostNames: ["shop.example.com", "www.shop.com"],
  publicUrl: "https://shop.example.com/",
  generation: "g1",
};

const byName = (plans: ContainerPlan[]) => plans.map((p) => p.name);

describe("effectiveScale", () => {
  it("defaults every declared type to one instance, sorted by type", () => {
    expect(effectiveScale({ worker: "w", web: undefined, clock: "c" }, {})).toEqual({
      clock: 1,
      web: 1,
      worker: 1,
    });
    expect(Object.keys(effectiveScale({ worker: "w", web: undefined, clock: "c" }, {}))).toEqual([
      "clock",
      "web",
      "worker",
    ]);
  });

  it("takes explicit counts, zero included, and ignores scale entries for undeclared types", () => {
    expect(effectiveScale({ web: "x", worker: "y" }, { web: 3, worker: 0, ghost: 5 })).toEqual({
      web: 3,
      worker: 0,
    });
  });
});

describe("planRelease", () => {
  it("starts every instance after the app's addons, in a stable order; none when it has none", () => {
    const plans = planRelease({
      ...base,
      processes: { web: undefined, worker: "python3 worker.py" },
      startsAfter: ["hop3-addon-shop-redis", "hop3-addon-shop-db"],
    });
    expect(plans.map((p) => p.startsAfter)).toEqual([
      ["hop3-addon-shop-db", "hop3-addon-shop-redis"],
      ["hop3-addon-shop-db", "hop3-addon-shop-redis"],
    ]);
    expect(planRelease({ ...base, startsAfter: [] })[0]).not.toHaveProperty("startsAfter");
    expect(planRelease(base)[0]).not.toHaveProperty("startsAfter");
  });

  it("plans a single web container exactly (golden)", () => {
    expect(planRelease({ ...base, env: { GREETING: "hi" } })).toEqual([
      {
        name: "hop3-shop-web.1-r7-g1",
        app: "shop",
        release: 7,
        process: "web",
        instance: 1,
        image: "localhost/hop3/shop:r7",
        env: {
          GREETING: "hi",
          APP: "shop",
          PROC_TYPE: "web",
          DYNO: "web.1",
          BIND_ADDRESS: "0.0.0.0",
          HOST_NAME: "shop.example.com,www.shop.com",
          HOP3_PUBLIC_URL: "https://shop.example.com/",
          PORT: "8080",
        },
        labels: {
          "io.hop3.managed": "true",
          "io.hop3.app": "shop",
          "io.hop3.release": "7",
          "io.hop3.process": "web",
          "io.hop3.instance": "1",
          "io.hop3.port": "8080",
        },
        network: "hop3-shop",
        publishPort: 8080,
      },
    ]);
  });

  it("keeps the image CMD (no cmd key) for undefined, wraps Procfile lines in sh -c", () => {
    const plans = planRelease({
      ...base,
      processes: { web: undefined, worker: "python worker.py --queue 'a b'" },
    });
    const web = plans.find((p) => p.process === "web")!;
    const worker = plans.find((p) => p.process === "worker")!;
    expect("cmd" in web).toBe(false);
    expect(worker.cmd).toEqual(["/bin/sh", "-c", "python worker.py --queue 'a b'"]);
    const procWeb = planRelease({ ...base, processes: { web: "gunicorn app:app" } })[0]!;
    expect(procWeb.cmd).toEqual(["/bin/sh", "-c", "gunicorn app:app"]);
  });

  it("gives PORT, the port label and a published port to web only", () => {
    const plans = planRelease({ ...base, processes: { web: "serve", worker: "work" } });
    const worker = plans.find((p) => p.process === "worker")!;
    expect(worker.env.PORT).toBeUndefined();
    expect(worker.labels["io.hop3.port"]).toBeUndefined();
    expect("publishPort" in worker).toBe(false);
    expect(worker.env).toMatchObject({
      APP: "shop",
      PROC_TYPE: "worker",
      DYNO: "worker.1",
      BIND_ADDRESS: "0.0.0.0",
      HOST_NAME: "shop.example.com,www.shop.com",
      HOP3_PUBLIC_URL: "https://shop.example.com/",
    });
    expect(worker.network).toBe("hop3-shop");
  });

  it("lets platform variables override user variables of the same name", () => {
    const [web] = planRelease({
      ...base,
      env: {
        PORT: "1234",
        BIND_ADDRESS: "127.0.0.1",
        DYNO: "mine",
        PROC_TYPE: "x",
        APP: "other",
        HOST_NAME: "evil.com",
        HOP3_PUBLIC_URL: "http://evil.com/",
        KEEP: "me",
      },
    });
    expect(web!.env).toEqual({
      KEEP: "me",
      APP: "shop",
      PROC_TYPE: "web",
      DYNO: "web.1",
      BIND_ADDRESS: "0.0.0.0",
      HOST_NAME: "shop.example.com,www.shop.com",
      HOP3_PUBLIC_URL: "https://shop.example.com/",
      PORT: "8080",
    });
  });

  it("omits HOP3_PUBLIC_URL without a public URL and leaves a user value alone then", () => {
    const { publicUrl: _drop, ...noUrl } = base;
    expect(planRelease(noUrl)[0]!.env.HOP3_PUBLIC_URL).toBeUndefined();
    expect(planRelease({ ...noUrl, env: { HOP3_PUBLIC_URL: "x" } })[0]!.env.HOP3_PUBLIC_URL).toBe("x");
  });

  it("numbers several instances from 1, in type order, each with its own DYNO and name", () => {
    const plans = planRelease({
      ...base,
      processes: { worker: "work", web: undefined },
      scale: { web: 3, worker: 2 },
      generation: "abc",
    });
    expect(byName(plans)).toEqual([
      "hop3-shop-web.1-r7-abc",
      "hop3-shop-web.2-r7-abc",
      "hop3-shop-web.3-r7-abc",
      "hop3-shop-worker.1-r7-abc",
      "hop3-shop-worker.2-r7-abc",
    ]);
    expect(plans.map((p) => p.env.DYNO)).toEqual(["web.1", "web.2", "web.3", "worker.1", "worker.2"]);
    expect(plans.map((p) => p.labels["io.hop3.instance"])).toEqual(["1", "2", "3", "1", "2"]);
    expect(plans.map((p) => p.instance)).toEqual([1, 2, 3, 1, 2]);
    // all web instances publish the same container port: the runtime picks distinct host ports
    expect(plans.filter((p) => p.process === "web").map((p) => p.publishPort)).toEqual([8080, 8080, 8080]);
  });

  it("plans nothing for a type scaled to zero", () => {
    const plans = planRelease({ ...base, processes: { web: undefined, worker: "w" }, scale: { web: 0 } });
    expect(byName(plans)).toEqual(["hop3-shop-worker.1-r7-g1"]);
    expect(planRelease({ ...base, scale: { web: 0 } })).toEqual([]);
  });

  it("does not share env objects between instances", () => {
    const plans = planRelease({ ...base, scale: { web: 2 } });
    plans[0]!.env.X = "1";
    expect(plans[1]!.env.X).toBeUndefined();
  });

  it("joins an empty host list to an empty HOST_NAME", () => {
    expect(planRelease({ ...base, hostNames: [] })[0]!.env.HOST_NAME).toBe("");
  });
});
