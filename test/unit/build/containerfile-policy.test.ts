/**
 * What a Containerfile may ask of the builder (src/build/containerfile-policy.ts). The hostile forms below were
 * each tried on this project's builder (Podman 4.3 / Buildah 1.28, Debian 12) as the hop3 user: a bind mount
 * from a stage holding a link to `/` and a cache mount with `id=../..` both read /var/lib/hop3/secret.key.
 * The same Containerfiles through the real server: test/integration/deploy-containerfile.test.ts.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  containerfileRefusals,
  imageRefusal,
  instructions,
  leadingFlags,
} from "../../../src/build/containerfile-policy.js";

const base = "FROM localhost/hop3/base:bookworm\n";
const refused = (text: string, buildArgs: Record<string, string> = {}) =>
  containerfileRefusals(text, { app: "web", buildArgs });

describe("what a Containerfile may not ask", () => {
  it("a bind or cache mount from a stage or an image (CVE-2024-1753: a link to / in the stage mounts the host's root)", () => {
    const text = [
      "FROM localhost/hop3/base:bookworm AS links",
      "RUN ln -s / /rootdir",
      "FROM localhost/hop3/base:bookworm",
      "RUN --mount=type=bind,from=links,source=/rootdir,destination=/exploit cat /exploit/var/lib/hop3/secret.key",
      "RUN --mount=type=cache,from=links,source=/rootdir,target=/x ls /x",
      "RUN --mount=from=links,source=/rootdir,target=/y ls /y",
    ].join("\n");
    const r = refused(text);
    expect(r.map((x) => x.line)).toEqual([4, 5, 6]);
    expect(r[0]?.reason).toMatch(/type=bind,from=\.\.\. is refused: .*CVE-2024-1753/);
  });

  it("a cache id or source that is a path (CVE-2024-9675: id=../../.. joins a host directory)", () => {
    const r = refused(
      `${base}RUN --mount=type=cache,id=../../../../var/lib/hop3,target=/x ls /x\n` +
        "RUN --mount=type=cache,id=a/b,target=/x true\n" +
        "RUN --mount=type=cache,source=/var/lib/hop3,target=/x true\n",
    );
    expect(r.map((x) => [x.line, x.reason.slice(0, 40)])).toEqual([
      [2, "RUN --mount=type=cache,id=../../../../va"],
      [3, "RUN --mount=type=cache,id=a/b is refused"],
      [4, "RUN --mount option source is refused for"],
    ]);
  });

  it("a bind source out of the context, mount options passed to mount(2), other mount types and secrets", () => {
    const r = refused(
      [
        base.trim(),
        "RUN --mount=type=bind,source=../../etc,target=/x true",
        "RUN --mount=type=bind,source=a/../../b,target=/x true",
        "RUN --mount=type=bind,source=.,target=/x,bind-propagation=rshared true",
        "RUN --mount=type=bind,source=.,target=/x,relabel=shared true",
        "RUN --mount=type=ssh true",
        "RUN --mount=type=secret,id=secret.key true",
        "RUN --mount=type=secret,id=admin-token,target=/t true",
      ].join("\n"),
    );
    expect(r.map((x) => x.line)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(r[5]?.reason).toMatch(/the only build secret is hop3-ca/);
  });

  it("the host's network and insecure RUN steps", () => {
    const r = refused(
      `${base}RUN --network=host curl 127.0.0.1:2019/config/\nRUN --security=insecure true\n`,
    );
    expect(r.map((x) => x.reason)).toEqual([
      "RUN --network=host is refused: builds use their own network (default or none)",
      "RUN --security=insecure is refused",
    ]);
  });

  it("another app's image, by name, short name, a build argument, COPY --from or an image ID", () => {
    const text = [
      "ARG VICTIM=hop3/shop:r3",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Containerfile variable
      "FROM ${VICTIM} AS stolen",
      "FROM localhost/hop3/base:bookworm",
      "COPY --from=localhost/hop3/shop:r3 /app /x",
      "COPY --from=stolen /app /y",
      "COPY --from=3f2a9c1b77de /app /z",
      "FROM sha256:3f2a9c1b77de3f2a9c1b77de3f2a9c1b77de3f2a9c1b77de3f2a9c1b77de1234",
    ].join("\n");
    const r = refused(text);
    expect(r.map((x) => x.line)).toEqual([2, 4, 6, 7]);
    // the given build argument wins over the ARG's default, as in the build itself
    expect(
      refused(text.replace("COPY --from=3f2a9c1b77de /app /z\n", ""), { VICTIM: "debian:12" }).map(
        (x) => x.line,
      ),
    ).toEqual([4, 6]);
  });

  it("the same inside ONBUILD, across continuation lines and with another escape character", () => {
    const r = refused(
      [
        "# escape=`",
        base.trim(),
        "ONBUILD RUN --mount=type=cache,id=../x,target=/x true",
        "RUN `",
        "  # a comment inside the continuation",
        "  --mount=type=bind,from=0,source=/,target=/x `",
        "  true",
      ].join("\n"),
    );
    expect(r.map((x) => [x.line, x.reason.slice(0, 9)])).toEqual([
      [3, "ONBUILD: "],
      [4, "RUN --mou"],
    ]);
  });
});

describe("what a Containerfile may ask", () => {
  it("the build CA secret, cache mounts by name, tmpfs, binds of the context, stages and its own images", () => {
    const text = [
      "ARG BASE_IMAGE=localhost/hop3/base:bookworm",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a Containerfile variable
      "FROM ${BASE_IMAGE} AS build",
      "RUN --mount=type=secret,id=hop3-ca,mode=0444 npm ci",
      "RUN --mount=type=cache,target=/root/.npm --mount=type=cache,id=npm-2,target=/x,sharing=locked true",
      "RUN --mount=type=tmpfs,target=/tmp --mount=type=bind,source=package.json,target=/p/package.json true",
      "RUN --mount=type=bind,target=/src,rw --network=none true",
      "FROM localhost/hop3/web:r2",
      "COPY --from=build /app /app",
      "COPY --from=0 /app /app2",
      "COPY --from=docker.io/library/node:20 /usr/local/bin/node /usr/local/bin/node",
    ].join("\n");
    expect(refused(text)).toEqual([]);
  });

  it("every Containerfile this repository ships (catalog, samples, fixtures) passes", () => {
    const found: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name === "node_modules" || name.startsWith(".")) continue;
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (name === "Containerfile" || name === "Dockerfile") found.push(p);
      }
    };
    const repo = join(import.meta.dirname, "..", "..", "..");
    for (const d of ["catalog", "samples", "test/fixtures", "images"]) {
      try {
        walk(join(repo, d));
      } catch {
        // a directory this checkout does not have
      }
    }
    expect(found.length).toBeGreaterThan(5);
    for (const f of found) expect(refused(readFileSync(f, "utf8")), f).toEqual([]);
  });
});

describe("parsing", () => {
  it("joins continuations, skips comments, keeps the first line's number", () => {
    expect(instructions("# c\nFROM x\n\nRUN a \\\n  # skipped\n  b\nCMD c")).toEqual([
      { line: 2, keyword: "FROM", rest: "x" },
      { line: 4, keyword: "RUN", rest: "a    b" },
      { line: 7, keyword: "CMD", rest: "c" },
    ]);
  });

  it("reads leading flags with quotes, and stops at the command", () => {
    expect(leadingFlags(`--mount="type=cache,target=/x" --network=none echo --mount=not-a-flag`)).toEqual([
      { name: "mount", value: "type=cache,target=/x" },
      { name: "network", value: "none" },
    ]);
  });

  it("images: own app and base allowed, others and IDs refused", () => {
    expect(imageRefusal("localhost/hop3/web:r1", "web")).toBeUndefined();
    expect(imageRefusal("localhost/hop3/base:bookworm", "web")).toBeUndefined();
    expect(imageRefusal("debian:12", "web")).toBeUndefined();
    expect(imageRefusal("localhost/hop3/caddy:latest", "web")).toMatch(/platform's image/);
    expect(imageRefusal("HOP3/Shop", "web")).toMatch(/another app's/);
    expect(imageRefusal("deadbeef12", "web")).toMatch(/image ID/);
  });
});
