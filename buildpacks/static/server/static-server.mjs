// A small static file server for hop3/static: serves one or more "URL-prefix=directory" mappings on $PORT.
// Node's own streams and sendfile-free piping are fast enough for a site's assets; what matters here is
// correctness: content types, index.html, ETag/Last-Modified revalidation, HEAD, ranges, and no path escapes.
// It never serves what the platform reads (ENV, hop3.toml, Procfile, ...) nor dotfiles (.git, .env): a site
// served from the app's root would otherwise hand its secrets to anyone (docs/security.md).
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, relative, resolve, sep } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json", ".map": "application/json", ".txt": "text/plain; charset=utf-8",
  ".md": "text/markdown; charset=utf-8", ".xml": "application/xml", ".csv": "text/csv; charset=utf-8",
  ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
  ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/x-icon", ".bmp": "image/bmp",
  ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf", ".eot": "application/vnd.ms-fontobject",
  ".pdf": "application/pdf", ".wasm": "application/wasm", ".zip": "application/zip", ".gz": "application/gzip",
  ".mp4": "video/mp4", ".webm": "video/webm", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".wav": "audio/wav",
  ".webmanifest": "application/manifest+json", ".rss": "application/rss+xml", ".atom": "application/atom+xml",
  ".yaml": "text/yaml; charset=utf-8", ".yml": "text/yaml; charset=utf-8", ".toml": "text/plain; charset=utf-8",
};

/**
 * Names at the app's root that Hop3, Piku, Heroku, buildpacks or container builds read: never served, even
 * when a mapping covers the root. Dotfiles and dot-directories (.git, .env*, .buildpacks, .static) are refused
 * everywhere, except .well-known (security.txt, verification files).
 */
export const PRIVATE_ROOT_NAMES = new Set([
  "ENV", "hop3.toml", "hop3", "Procfile", "app.json", "project.toml", "plan.toml", "Containerfile",
  "Dockerfile",
]);

/** Whether a path relative to the app's root is private to the platform (or outside the app). */
export function isPrivate(relToApp) {
  const parts = relToApp.split(sep).filter((p) => p !== "");
  if (parts[0] === "..") return true; // outside the app: never
  if (parts.length > 0 && PRIVATE_ROOT_NAMES.has(parts[0])) return true;
  return parts.some((p) => p.startsWith(".") && p !== ".well-known");
}

/** "/docs=site" -> { prefix: "/docs", root: "/abs/site" }, longest prefix first. */
export function parseMappings(args, cwd = process.cwd()) {
  return args
    .map((arg) => {
      const at = arg.indexOf("=");
      const prefix = at < 0 ? "/" : arg.slice(0, at) || "/";
      const dir = at < 0 ? arg : arg.slice(at + 1);
      return { prefix: prefix === "/" ? "/" : prefix.replace(/\/+$/, ""), root: resolve(cwd, dir) };
    })
    .sort((a, b) => b.prefix.length - a.prefix.length);
}

/** The file a URL path maps to, or null when no mapping applies or the path escapes its root. */
export function resolvePath(mappings, urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (path.includes("\0")) return null;
  for (const m of mappings) {
    if (m.prefix !== "/" && path !== m.prefix && !path.startsWith(`${m.prefix}/`)) continue;
    const rest = m.prefix === "/" ? path : path.slice(m.prefix.length);
    const file = join(m.root, rest);
    if (file !== m.root && !file.startsWith(m.root + sep)) return null;
    return { file, mapping: m, dirRequest: rest.endsWith("/") };
  }
  return null;
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), ...headers });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

/**
 * stat() of a file the server may serve, or null: its real path (symlinks resolved) must stay inside its
 * mapping's root and must not be private to the platform, relative to the app's root.
 */
async function fileStat(file, root, appRoot) {
  try {
    const real = await realpath(file);
    const realRoot = await realpath(root);
    if (real !== realRoot && !real.startsWith(realRoot + sep)) return null;
    if (isPrivate(relative(await realpath(appRoot), real)) || isPrivate(relative(appRoot, file))) return null;
    return await stat(real);
  } catch {
    return null;
  }
}

async function serveFile(req, res, file, s, status = 200) {
  const etag = `W/"${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}"`;
  const headers = {
    "content-type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
    "last-modified": s.mtime.toUTCString(),
    etag,
    "accept-ranges": "bytes",
    "x-content-type-options": "nosniff",
  };
  if (status === 200) {
    const inm = req.headers["if-none-match"];
    const ims = req.headers["if-modified-since"];
    if (inm ? inm === etag : ims && Math.floor(s.mtimeMs / 1000) <= Math.floor(Date.parse(ims) / 1000)) {
      res.writeHead(304, headers);
      return res.end();
    }
  }
  let start = 0;
  let end = s.size - 1;
  const range = status === 200 && req.headers.range ? /^bytes=(\d*)-(\d*)$/.exec(req.headers.range) : null;
  if (range && (range[1] || range[2])) {
    start = range[1] ? Number(range[1]) : Math.max(0, s.size - Number(range[2]));
    end = range[1] && range[2] ? Math.min(Number(range[2]), s.size - 1) : s.size - 1;
    if (start > end || start >= s.size) return send(res, 416, "Range Not Satisfiable\n", { "content-range": `bytes */${s.size}` });
    status = 206;
    headers["content-range"] = `bytes ${start}-${end}/${s.size}`;
  }
  headers["content-length"] = s.size === 0 ? 0 : end - start + 1;
  res.writeHead(status, headers);
  if (req.method === "HEAD" || s.size === 0) return res.end();
  createReadStream(file, { start, end }).on("error", () => res.destroy()).pipe(res);
}

export function createStaticServer(mappings, appRoot = process.cwd()) {
  return createServer(async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "Method Not Allowed\n", { allow: "GET, HEAD" });
    // "//ENV" is a path here, not a protocol-relative URL naming host "ENV" (which would serve "/" instead)
    const url = new URL(`http://localhost/${(req.url ?? "/").replace(/^\/+/, "")}`);
    const target = resolvePath(mappings, url.pathname);
    if (target) {
      let file = target.file;
      const root = target.mapping.root;
      let s = await fileStat(file, root, appRoot);
      if (s?.isDirectory()) {
        if (!target.dirRequest) return send(res, 301, "Moved Permanently\n", { location: `${url.pathname}/${url.search}` });
        file = join(file, "index.html");
        s = await fileStat(file, root, appRoot);
      }
      if (s?.isFile()) return serveFile(req, res, file, s);
    }
    const root = mappings.find((m) => m.prefix === "/") ?? mappings[0];
    const notFound = root ? join(root.root, "404.html") : null;
    const ns = notFound ? await fileStat(notFound, root.root, appRoot) : null;
    if (ns?.isFile()) return serveFile(req, res, notFound, ns, 404);
    return send(res, 404, "Not Found\n");
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const mappings = parseMappings(process.argv.slice(2).length ? process.argv.slice(2) : ["/=."]);
  const port = Number(process.env.PORT || 5000);
  const host = process.env.BIND_ADDRESS || "0.0.0.0";
  const server = createStaticServer(mappings);
  server.keepAliveTimeout = 65_000;
  server.listen(port, host, () => {
    for (const m of mappings) console.log(`static: ${m.prefix} -> ${m.root}`);
    console.log(`static: listening on ${host}:${port}`);
  });
  for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
}
