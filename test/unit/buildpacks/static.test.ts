import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILDPACKS, build, makeApp, processes } from "./helpers.js";

// The server is plain JS shipped to run images; it is loaded as is.
const server = (await import(join(BUILDPACKS, "static/server/static-server.mjs"))) as {
  parseMappings(args: string[], cwd?: string): Array<{ prefix: string; root: string }>;
  resolvePath(m: Array<{ prefix: string; root: string }>, p: string): { file: string } | null;
  createStaticServer(
    m: Array<{ prefix: string; root: string }>,
    appRoot?: string,
  ): import("node:http").Server;
  isPrivate(relToApp: string): boolean;
};

describe("hop3/static build", () => {
  it("turns Piku mappings into server arguments", async () => {
    const app = makeApp({ Procfile: "static: /:public, /docs:site\n", "public/index.html": "x" });
    const r = await build("static", app);
    expect(r.exitCode).toBe(0);
    expect(processes(r).web).toEqual([
      "node",
      `${r.layers}/server/static-server.mjs`,
      "/=public",
      "/docs=site",
    ]);
    expect(r.stdout).toContain("-----> Static site detected");
    expect(r.stderr).toContain("static directory 'site' does not exist");
  });

  it("serves a Hop3 static: directory at /, and the root for index.html or .static", async () => {
    expect(processes(await build("static", makeApp({ Procfile: "static: public\n" }))).web?.slice(2)).toEqual(
      ["/=public"],
    );
    expect(processes(await build("static", makeApp({ "index.html": "x" }))).web?.slice(2)).toEqual(["/=."]);
    expect(
      processes(await build("static", makeApp({ ".static": "www\n", "www/a.txt": "" }))).web?.slice(2),
    ).toEqual(["/=www"]);
  });

  it("serves public/, dist/, _site/ or build/ when nothing is named, and says what it serves", async () => {
    for (const d of ["public", "dist", "_site", "build"]) {
      const r = await build("static", makeApp({ "index.html": "x", [`${d}/index.html`]: "y", ENV: "S=1" }));
      expect(processes(r).web?.slice(2), d).toEqual([`/=${d}`]);
      expect(r.stdout).toContain(`/ -> ${d}/ (1 files); dotfiles are not served`);
    }
    const both = await build("static", makeApp({ "dist/a": "", "public/b": "" }));
    expect(processes(both).web?.slice(2)).toEqual(["/=public"]);
  });

  it("lists the private files it will not serve from the root", async () => {
    const r = await build(
      "static",
      makeApp({ "index.html": "x", ENV: "S=1", "hop3.toml": "", ".git/config": "", "a/b.css": "" }),
    );
    expect(processes(r).web?.slice(2)).toEqual(["/=."]);
    expect(r.stdout).toContain("/ -> the app's root (2 files); not served: ENV hop3.toml .git");
  });

  it("refuses to serve a directory the platform reads or a hidden one", async () => {
    for (const spec of ["hop3", "./hop3/x", ".git", "a/.secret"]) {
      const r = await build("static", makeApp({ Procfile: `static: ${spec}\n` }));
      expect(r.exitCode, spec).toBe(1);
      expect(r.stderr, spec).toMatch(/never served/);
    }
  });

  it("refuses directories outside the app", async () => {
    const r = await build("static", makeApp({ Procfile: "static: /:../etc\n" }));
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("must be a directory inside the app");
  });
});

describe("static server", () => {
  const root = makeApp({
    "public/index.html": "<h1>home</h1>",
    "public/app.css": "body{}",
    "public/data.json": "{}",
    "public/font.woff2": "w",
    "public/404.html": "custom 404",
    "site/index.html": "docs home",
    "site/notes.txt": "0123456789",
    "secret.txt": "do not serve",
  });
  let base = "";
  let srv: import("node:http").Server;
  beforeAll(async () => {
    mkdirSync(join(root, "public/sub"));
    writeFileSync(join(root, "public/sub/index.html"), "sub");
    srv = server.createStaticServer(server.parseMappings(["/=public", "/docs=site"], root), root);
    await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
    base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => srv.close(() => ok())));

  it("serves files with their content types", async () => {
    const cases: Array<[string, string, string]> = [
      ["/", "text/html; charset=utf-8", "<h1>home</h1>"],
      ["/app.css", "text/css; charset=utf-8", "body{}"],
      ["/data.json", "application/json", "{}"],
      ["/font.woff2", "font/woff2", "w"],
      ["/docs/", "text/html; charset=utf-8", "docs home"],
      ["/docs/notes.txt", "text/plain; charset=utf-8", "0123456789"],
      ["/sub/", "text/html; charset=utf-8", "sub"],
    ];
    for (const [path, type, body] of cases) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toBe(type);
      expect(await res.text(), path).toBe(body);
    }
  });

  it("redirects directories to their slash form, answers 404 with 404.html, keeps to its roots", async () => {
    const r = await fetch(`${base}/docs`, { redirect: "manual" });
    expect(r.status).toBe(301);
    expect(r.headers.get("location")).toBe("/docs/");
    const nf = await fetch(`${base}/nope`);
    expect(nf.status).toBe(404);
    expect(await nf.text()).toBe("custom 404");
    expect(server.resolvePath(server.parseMappings(["/=public"], root), "/..%2fsecret.txt")).toBeNull();
    expect(server.resolvePath(server.parseMappings(["/docs=site"], root), "/docsx/notes.txt")).toBeNull();
  });

  it("never serves the platform's files, dotfiles or links leaving the mapping", async () => {
    const app = makeApp({
      "index.html": "home",
      ENV: "SECRET_KEY=s3cret",
      "hop3.toml": "[env]\nSECRET_KEY='s3cret'",
      "hop3/Procfile": "web: x",
      Procfile: "x",
      Dockerfile: "x",
      ".git/config": "s3cret",
      ".env.local": "s3cret",
      "sub/.htpasswd": "s3cret",
      "pub/ok.txt": "ok",
      ".well-known/security.txt": "contact",
    });
    symlinkSync("../ENV", join(app, "pub/env.txt"));
    symlinkSync("/etc/passwd", join(app, "pub/passwd.txt"));
    symlinkSync("ok.txt", join(app, "pub/alias.txt"));
    const s = server.createStaticServer(server.parseMappings(["/=.", "/pub=pub"], app), app);
    await new Promise<void>((ok) => s.listen(0, "127.0.0.1", ok));
    const b = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    try {
      for (const p of ["/ENV", "/hop3.toml", "/hop3/Procfile", "/Procfile", "/Dockerfile", "/.git/config"]) {
        const r = await fetch(b + p);
        expect(r.status, p).toBe(404);
        expect(await r.text(), p).not.toContain("s3cret");
      }
      for (const p of [
        "/.env.local",
        "/sub/.htpasswd",
        "/%2eenv.local",
        "/pub/env.txt",
        "/pub/passwd.txt",
        "//ENV",
      ]) {
        expect((await fetch(b + p)).status, p).toBe(404);
      }
      expect(await (await fetch(`${b}/`)).text()).toBe("home");
      expect(await (await fetch(`${b}/pub/alias.txt`)).text()).toBe("ok");
      expect(await (await fetch(`${b}/.well-known/security.txt`)).text()).toBe("contact");
    } finally {
      await new Promise<void>((ok) => s.close(() => ok()));
    }
    expect(server.isPrivate("a/.git/config")).toBe(true);
    expect(server.isPrivate("../x")).toBe(true);
    expect(server.isPrivate("public/ENV")).toBe(false);
  });

  it("revalidates with ETag, answers HEAD and ranges, refuses other methods", async () => {
    const first = await fetch(`${base}/app.css`);
    const etag = first.headers.get("etag") ?? "";
    expect(etag).not.toBe("");
    expect((await fetch(`${base}/app.css`, { headers: { "if-none-match": etag } })).status).toBe(304);
    const head = await fetch(`${base}/docs/notes.txt`, { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe("10");
    const part = await fetch(`${base}/docs/notes.txt`, { headers: { range: "bytes=2-4" } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe("234");
    expect((await fetch(`${base}/`, { method: "POST" })).status).toBe(405);
  });
});
