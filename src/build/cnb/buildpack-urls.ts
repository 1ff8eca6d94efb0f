/**
 * Buildpacks named by URL (`.buildpacks`, project.toml `uri`) on hosts that cannot reach them: the operator maps
 * a URL to a buildpack of the server, a directory of buildpacks it allows, or a mirror; Hop3 ships mappings for
 * the well-known Heroku buildpacks. Pure: the store keeps the operator's table (src/store/buildpack-maps.ts), the
 * lifecycle applies the result (lifecycle.ts).
 *
 * One URL has many spellings (`.git` or not, `http`, `git@github.com:`, a trailing slash, `#ref`, Heroku's
 * registry tarballs and `heroku/nodejs` shorthands): every lookup goes through normaliseBuildpackUrl, so a
 * mapping made with one spelling answers for all of them.
 */
import { Hop3Error, usageError } from "../../util/errors.js";

/** Hosts whose repository paths are case-insensitive (and where `www.` is the same host). */
const CASE_INSENSITIVE_HOSTS = new Set(["github.com", "gitlab.com", "bitbucket.org", "codeberg.org"]);

/** Heroku's buildpack registry tarballs: `.../buildpacks/NAMESPACE/NAME.tgz` is the registry name `NAMESPACE/NAME`. */
const REGISTRY_TARBALL_HOSTS = new Set([
  "buildpack-registry.s3.amazonaws.com",
  "buildpack-registry.s3.us-east-1.amazonaws.com",
  "codon-buildpacks.s3.amazonaws.com",
]);

/** A registry name or GitHub shorthand: `heroku/nodejs`, `heroku-community/static`. */
const SHORTHAND = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

/**
 * The one spelling of a buildpack URL or registry name that mappings are keyed by: scheme https, host in lower
 * case without `www.` and credentials, no `.git`, no trailing slash, no `#ref` or query; `git@host:path`,
 * `ssh://`, `git://` and `git+https://` become https; a Heroku registry tarball or `urn:cnb:registry:` name
 * becomes `namespace/name`; repository paths on GitHub-like hosts are in lower case (those hosts ignore case).
 * Throws a usage error for what is neither a URL nor a `namespace/name`.
 */
export function normaliseBuildpackUrl(input: string): string {
  let s = input.trim().replace(/#.*$/, "");
  if (s === "") throw usageError("empty buildpack URL");
  const urn = /^urn:cnb:registry:([^@]+)(@.*)?$/i.exec(s);
  if (urn) s = urn[1]!;
  if (SHORTHAND.test(s) && !/^[\w.-]+\.(com|org|net|io)\//i.test(s)) {
    return s.replace(/\.git$/i, "").toLowerCase();
  }
  s = s
    .replace(/^git@([^:/]+):/i, "https://$1/")
    .replace(/^ssh:\/\/(?:[^@/]+@)?/i, "https://")
    .replace(/^git\+(https?):\/\//i, "$1://")
    .replace(/^(git|http):\/\//i, "https://");
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) {
    // `github.com/heroku/heroku-buildpack-nodejs`: a host name and a path, no scheme
    if (/^[\w-]+(\.[\w-]+)+\/\S+$/.test(s)) s = `https://${s}`;
    else throw usageError(`${JSON.stringify(input.trim())} is not a buildpack URL or namespace/name`);
  }
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw usageError(`${JSON.stringify(input.trim())} is not a valid URL`);
  }
  if (url.protocol !== "https:") {
    throw usageError(`${JSON.stringify(input.trim())}: only https, http, ssh and git URLs name buildpacks`);
  }
  const host = url.hostname.toLowerCase().replace(/^www\./, "");
  let path = decodeURIComponent(url.pathname)
    .replace(/\/+$/, "")
    .replace(/\.git$/i, "")
    .replace(/\/+$/, "");
  const tarball = /^\/buildpacks\/([^/]+)\/([^/]+)\.(tgz|tar\.gz)$/i.exec(path);
  if (REGISTRY_TARBALL_HOSTS.has(host) && tarball) return `${tarball[1]}/${tarball[2]}`.toLowerCase();
  if (CASE_INSENSITIVE_HOSTS.has(host)) path = path.toLowerCase();
  return `https://${host}${url.port ? `:${url.port}` : ""}${path}`;
}

/** Where a mapped URL leads: a buildpack of the server (`id` or `id@version`), a directory, or a mirror URL. */
export type MapTarget =
  | { kind: "id"; id: string; version?: string }
  | { kind: "path"; path: string }
  | { kind: "url"; url: string; ref?: string };

const BUILDPACK_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)*$/;
const GIT_REF = /^[\w./-]+$/;

/** Reads the right-hand side of `hop buildpacks:map URL TARGET`. */
export function parseMapTarget(target: string): MapTarget {
  const s = target.trim();
  if (s.startsWith("/")) {
    if (s.includes("\0") || s.split("/").includes(".."))
      throw usageError(`invalid buildpack path ${JSON.stringify(s)}`);
    return { kind: "path", path: s.replace(/\/+$/, "") || "/" };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s) || /^git@[\w.-]+:/.test(s)) {
    const [url, ref] = s.split("#", 2) as [string, string | undefined];
    if (ref !== undefined && !GIT_REF.test(ref)) throw usageError(`invalid git ref ${JSON.stringify(ref)}`);
    normaliseBuildpackUrl(url); // the same URLs a .buildpacks line may name
    return { kind: "url", url, ...(ref ? { ref } : {}) };
  }
  const at = s.lastIndexOf("@");
  const id = at > 0 ? s.slice(0, at) : s;
  const version = at > 0 ? s.slice(at + 1) : undefined;
  if (!BUILDPACK_ID.test(id) || (version !== undefined && !/^[\w.+-]+$/.test(version))) {
    throw usageError(
      `${JSON.stringify(s)} is not a buildpack id, an absolute directory or a URL`,
      "e.g. hop3/nodejs, hop3/python@0.1.0, /etc/hop3/buildpacks/mine or https://git.example.org/mirror/nodejs.git",
    );
  }
  return { kind: "id", id, ...(version ? { version } : {}) };
}

/** The Heroku buildpacks every Hop3 knows how to replace, under each of their common names. */
const HEROKU_LANGUAGES = ["nodejs", "python", "go", "php", "ruby"] as const;

export const BUILTIN_BUILDPACK_MAPS: Readonly<Record<string, string>> = Object.freeze({
  ...Object.fromEntries(
    HEROKU_LANGUAGES.flatMap((lang) => [
      [`https://github.com/heroku/heroku-buildpack-${lang}`, `hop3/${lang}`],
      [`heroku/heroku-buildpack-${lang}`, `hop3/${lang}`],
      [`heroku/${lang}`, `hop3/${lang}`],
    ]),
  ),
  "https://github.com/heroku/heroku-buildpack-static": "hop3/static",
  "heroku/heroku-buildpack-static": "hop3/static",
  "heroku-community/static": "hop3/static",
  // the null buildpack builds nothing: the Procfile alone says what runs
  "https://github.com/ryandotsmith/null-buildpack": "hop3/procfile",
  "ryandotsmith/null-buildpack": "hop3/procfile",
});

export interface ResolvedMapping {
  /** The canonical spelling the mapping is keyed by. */
  key: string;
  target: string;
  source: "operator" | "built-in";
}

/** The operator's mapping of `url` when there is one, else the built-in one; `undefined` when unmapped. */
export function findBuildpackMapping(
  url: string,
  operator: Readonly<Record<string, string>>,
): ResolvedMapping | undefined {
  let key: string;
  try {
    key = normaliseBuildpackUrl(url);
  } catch {
    return undefined;
  }
  if (Object.hasOwn(operator, key)) return { key, target: operator[key]!, source: "operator" };
  if (Object.hasOwn(BUILTIN_BUILDPACK_MAPS, key)) {
    return { key, target: BUILTIN_BUILDPACK_MAPS[key]!, source: "built-in" };
  }
  return undefined;
}

/** The build-log line of a mapping used: `.buildpacks: URL -> hop3/nodejs (built-in mapping)`. */
export function mappingLogLine(file: string, original: string, m: ResolvedMapping): string {
  return `-----> ${file}: ${original} -> ${m.target} (${m.source} mapping)`;
}

/** How to map `url`: the hint of every error about a buildpack URL that cannot be used as it is. */
export function mapHint(url: string, known: string[]): string {
  let key = url;
  try {
    key = normaliseBuildpackUrl(url);
  } catch {
    // shown as given
  }
  const ids = known.filter((id) => !id.endsWith("prebuild") && !id.endsWith("postbuild")).sort();
  const example = ids.includes("hop3/nodejs") ? "hop3/nodejs" : (ids[0] ?? "ID");
  return (
    `an operator can map it to a buildpack of this server, a directory or a mirror: \`hop buildpacks:map ${key} ${example}\`` +
    `${ids.length ? ` (this server has ${ids.join(", ")})` : ""}; \`hop buildpacks:maps\` lists the mappings (docs/buildpacks.md)`
  );
}

/** The error of a buildpack URL that could not be fetched and has no mapping: says how to map it. */
export function unreachableBuildpackError(url: string, why: string, known: string[]): Hop3Error {
  return new Hop3Error(
    `cannot fetch buildpack ${url} (${why}), and no mapping names it`,
    "deployFailed",
    mapHint(url, known),
  );
}
