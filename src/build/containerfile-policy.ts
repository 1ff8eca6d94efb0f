/**
 * What a Containerfile may ask of the builder, checked before Podman sees it. The build runs as the hop3 user,
 * who owns the state directory (secret.key, admin-token, provenance.key, backup.key, the database) and every
 * app's files, and the builder of Debian 12 (Buildah 1.28, Podman 4.3) has no fix for the RUN --mount escapes
 * found since: a bind or cache mount `from=` a stage holding a link to `/` mounts the HOST's root
 * (CVE-2024-1753), a cache `id`/`source` with `..` joins a host path (CVE-2024-9675), `bind-propagation` and
 * other options pass through to mount(2) (CVE-2024-9407). So only the mount forms that cannot name a host
 * path pass: `bind` from the build context (a relative path, no `..`), `cache` by a plain id, `tmpfs`, and
 * the `hop3-ca` secret (the build CA's certificates, build-ca.ts). Also refused: another app's release
 * image or an image ID as a FROM / COPY --from / mount source (other apps' files), `RUN --network=host`
 * (the host's loopback services) and `--security=insecure`.
 *
 * Pure: the text in, refusals out (line numbers of the Containerfile). A Containerfile with refusals is not
 * built; the deploy fails naming each line and why.
 */
import { posix } from "node:path";
import { CA_SECRET_ID } from "./containerfile-network.js";

export interface Refusal {
  /** 1-based line of the instruction's first line. */
  line: number;
  reason: string;
}

export interface PolicyContext {
  /** The app being built: its own release images may be built on. */
  app: string;
  /** The build arguments the build gets (platform's and app's): they resolve ${VAR} in image references. */
  buildArgs?: Record<string, string>;
}

interface Instruction {
  line: number;
  keyword: string;
  rest: string;
}

/** Logical instructions: continuation lines joined, comments and parser directives skipped. */
export function instructions(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  let escapeChar = "\\";
  // parser directives: only at the very top, before any instruction, comment-like lines of `# key=value`
  for (const l of lines) {
    const m = /^\s*#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(l);
    if (!m) break;
    if (m[1]!.toLowerCase() === "escape" && (m[2] === "`" || m[2] === "\\")) escapeChar = m[2]!;
  }
  const out: Instruction[] = [];
  let current: { line: number; parts: string[] } | undefined;
  lines.forEach((raw, i) => {
    if (current && /^\s*(#.*)?$/.test(raw)) return; // comments and empty lines inside a continuation
    if (!current && /^\s*(#.*)?$/.test(raw)) return;
    const trimmed = raw.replace(/\s+$/, "");
    const continues = trimmed.endsWith(escapeChar);
    const part = continues ? trimmed.slice(0, -1) : trimmed;
    if (!current) current = { line: i + 1, parts: [] };
    current.parts.push(part);
    if (!continues) {
      const joined = current.parts.join(" ").trim();
      const m = /^(\S+)\s*([\s\S]*)$/.exec(joined);
      if (m) out.push({ line: current.line, keyword: m[1]!.toUpperCase(), rest: m[2]! });
      current = undefined;
    }
  });
  if (current) {
    const joined = current.parts.join(" ").trim();
    const m = /^(\S+)\s*([\s\S]*)$/.exec(joined);
    if (m) out.push({ line: current.line, keyword: m[1]!.toUpperCase(), rest: m[2]! });
  }
  return out;
}

/** The leading `--flag=value` / `--flag` words of an instruction (quotes removed), and where they end. */
export function leadingFlags(rest: string): { name: string; value?: string }[] {
  const flags: { name: string; value?: string }[] = [];
  let i = 0;
  for (;;) {
    while (i < rest.length && /\s/.test(rest[i]!)) i++;
    if (!rest.startsWith("--", i)) return flags;
    let word = "";
    let quote = "";
    for (; i < rest.length; i++) {
      const c = rest[i]!;
      if (quote) {
        if (c === quote) quote = "";
        else word += c;
      } else if (c === '"' || c === "'") quote = c;
      else if (/\s/.test(c)) break;
      else word += c;
    }
    const eq = word.indexOf("=");
    flags.push(
      eq < 0
        ? { name: word.slice(2).toLowerCase() }
        : { name: word.slice(2, eq).toLowerCase(), value: word.slice(eq + 1) },
    );
  }
}

/** `${VAR}`, `$VAR`, `${VAR:-default}`, `${VAR:+alt}` with the values known; undefined names stay `$?`. */
function substitute(s: string, vars: Map<string, string>): string {
  return s.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, a, op, word, b) => {
      const name = (a ?? b) as string;
      const v = vars.get(name);
      if (op === "-") return v ? v : (word as string);
      if (op === "+") return v ? (word as string) : "";
      return v ?? "$?";
    },
  );
}

const PLATFORM_IMAGES_ALLOWED = new Set(["base"]);

/**
 * Why an image reference is refused, or undefined: another app's release image (`localhost/hop3/OTHER:rN`,
 * or the short `hop3/OTHER`, which Podman resolves to the local one), an image ID (which can name any image
 * in the hop3 user's storage), or a reference with a variable the build cannot resolve here.
 */
export function imageRefusal(ref: string, app: string): string | undefined {
  if (ref.includes("$?")) return `the image reference ${ref} uses a build argument with no value`;
  const r = ref.toLowerCase();
  if (/^(sha256:)?[0-9a-f]{6,64}$/.test(r))
    return `${ref} looks like an image ID: name the image (an ID can name any image on this server)`;
  const m = /^(?:localhost\/)?hop3\/([^:@/]+)(?:[:@].*)?$/.exec(r);
  if (m && m[1] !== app && !PLATFORM_IMAGES_ALLOWED.has(m[1]!))
    return `${ref} is another app's or the platform's image: a build may use only its own app's images`;
  return undefined;
}

function mountRefusal(spec: string): string | undefined {
  const fields = new Map<string, string>();
  for (const f of spec.split(",")) {
    if (!f) continue;
    const eq = f.indexOf("=");
    fields.set((eq < 0 ? f : f.slice(0, eq)).trim().toLowerCase(), eq < 0 ? "" : f.slice(eq + 1).trim());
  }
  const type = fields.get("type") ?? "bind";
  const allowed: Record<string, string[]> = {
    bind: ["type", "source", "src", "target", "dst", "destination", "ro", "readonly", "rw", "readwrite"],
    cache: [
      "type",
      "id",
      "target",
      "dst",
      "destination",
      "sharing",
      "mode",
      "uid",
      "gid",
      "ro",
      "readonly",
      "rw",
      "readwrite",
    ],
    tmpfs: ["type", "target", "dst", "destination", "size", "tmpfs-size", "tmpfs-mode"],
    secret: ["type", "id", "target", "dst", "destination", "required", "mode", "uid", "gid"],
  };
  const keys = allowed[type];
  if (!keys)
    return `RUN --mount=type=${type} is not available to builds (bind from the context, cache, tmpfs and the ${CA_SECRET_ID} secret are)`;
  for (const k of fields.keys()) {
    if (keys.includes(k)) continue;
    if (k === "from")
      return `RUN --mount=type=${type},from=... is refused: a mount from a stage or an image can reach the build host's files on this builder (CVE-2024-1753); COPY --from the stage instead`;
    return `RUN --mount option ${k} is refused for type=${type}`;
  }
  if (type === "bind") {
    const source = fields.get("source") ?? fields.get("src") ?? ".";
    const norm = posix.normalize(source.replace(/^\/+/, "") || ".");
    if (norm === ".." || norm.startsWith("../") || source.split("/").includes(".."))
      return `RUN --mount=type=bind,source=${source} leads out of the build context`;
  }
  if (type === "cache") {
    const id = fields.get("id");
    if (id !== undefined && (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id) || id.includes("..")))
      return `RUN --mount=type=cache,id=${id} is refused: a cache id is a plain name (letters, digits, . _ -), never a path (CVE-2024-9675)`;
  }
  if (type === "secret") {
    const id = fields.get("id") ?? "";
    if (id !== CA_SECRET_ID)
      return `RUN --mount=type=secret,id=${id} is refused: the only build secret is ${CA_SECRET_ID} (the build CA's certificates)`;
  }
  return undefined;
}

/** Every refusal of a Containerfile: empty when it may be built. */
export function containerfileRefusals(text: string, ctx: PolicyContext): Refusal[] {
  const refusals: Refusal[] = [];
  const vars = new Map<string, string>();
  const stages = new Set<string>();
  let inStage = false;
  const check = (list: Instruction[], onbuild: boolean) => {
    for (const ins of list) {
      const refuse = (reason: string) =>
        refusals.push({ line: ins.line, reason: onbuild ? `ONBUILD: ${reason}` : reason });
      if (ins.keyword === "ONBUILD") {
        check([{ line: ins.line, ...splitKeyword(ins.rest) }], true);
        continue;
      }
      if (ins.keyword === "ARG" && !onbuild) {
        // ARG NAME[=default]: a build argument given wins over the default
        for (const decl of ins.rest.split(/\s+/).filter(Boolean)) {
          const eq = decl.indexOf("=");
          const name = eq < 0 ? decl : decl.slice(0, eq);
          const given = ctx.buildArgs?.[name];
          const dflt = eq < 0 ? undefined : decl.slice(eq + 1).replace(/^"(.*)"$/, "$1");
          const value = given ?? (dflt !== undefined ? substitute(dflt, vars) : undefined);
          if (value !== undefined) vars.set(name, value);
          else if (!inStage) vars.delete(name);
        }
        continue;
      }
      if (ins.keyword === "FROM") {
        inStage = true;
        const words = ins.rest.split(/\s+/).filter((w) => w && !w.startsWith("--"));
        const ref = substitute(words[0] ?? "", vars);
        if (!stages.has(ref.toLowerCase())) {
          const why = imageRefusal(ref, ctx.app);
          if (why) refuse(why);
        }
        if (words[1]?.toUpperCase() === "AS" && words[2]) stages.add(words[2].toLowerCase());
        continue;
      }
      const flags = leadingFlags(ins.rest);
      if (ins.keyword === "COPY" || ins.keyword === "ADD") {
        for (const f of flags) {
          if (f.name !== "from" || f.value === undefined) continue;
          const ref = substitute(f.value, vars);
          if (stages.has(ref.toLowerCase()) || /^\d+$/.test(ref)) continue;
          const why = imageRefusal(ref, ctx.app);
          if (why) refuse(`${ins.keyword} --from=${f.value}: ${why}`);
        }
        continue;
      }
      if (ins.keyword === "RUN") {
        for (const f of flags) {
          if (f.name === "mount") {
            const why = mountRefusal(f.value ?? "");
            if (why) refuse(why);
          } else if (f.name === "network") {
            if (f.value !== "default" && f.value !== "none")
              refuse(
                `RUN --network=${f.value ?? ""} is refused: builds use their own network (default or none)`,
              );
          } else if (f.name === "security") {
            if (f.value !== "sandbox") refuse(`RUN --security=${f.value ?? ""} is refused`);
          } else {
            refuse(`RUN --${f.name} is not a flag builds may use`);
          }
        }
      }
    }
  };
  check(instructions(text), false);
  return refusals;
}

function splitKeyword(rest: string): { keyword: string; rest: string } {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(rest.trim());
  return m ? { keyword: m[1]!.toUpperCase(), rest: m[2]! } : { keyword: "", rest: "" };
}
