/**
 * `.dockerignore` / `.containerignore` semantics (Docker's, not gitignore's): patterns are anchored at the
 * context root, `*` and `?` stay within one path segment, `**` crosses segments, `!` re-includes, the last
 * matching pattern wins, and a directory that is excluded excludes what is below it.
 */
export interface IgnoreRule {
  negate: boolean;
  regex: RegExp;
}

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  // Docker strips a UTF-8 byte order mark, and only a `#` in column 1 starts a comment
  for (const raw of text.replace(/^\uFEFF/, "").split(/\r?\n/)) {
    if (raw.startsWith("#")) continue;
    let line = raw.trim();
    if (!line) continue;
    const negate = line.startsWith("!");
    if (negate) line = line.slice(1).trim();
    line = cleanPattern(line);
    if (!line) continue;
    rules.push({ negate, regex: patternToRegex(line) });
  }
  return rules;
}

function cleanPattern(p: string): string {
  const parts: string[] = [];
  for (const seg of p.replace(/^\/+/, "").split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return parts.join("/");
}

function patternToRegex(p: string): RegExp {
  let re = "";
  for (let i = 0; i < p.length; i++) {
    const ch = p[i]!;
    if (ch === "*") {
      if (p[i + 1] === "*") {
        // `**/` matches zero or more directories; a trailing `**` matches everything below
        if (p[i + 2] === "/") {
          re += "(?:.*/)?";
          i += 2;
        } else {
          re += ".*";
          i += 1;
        }
      } else {
        re += "[^/]*";
      }
    } else if (ch === "?") {
      re += "[^/]";
    } else if (ch === "[") {
      const end = p.indexOf("]", i + 1);
      if (end < 0) {
        re += "\\[";
      } else {
        // Go's filepath.Match negates with `^` only: a leading `!` is a member of the class
        re += `[${p.slice(i + 1, end).replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else if (ch === "\\" && i + 1 < p.length) {
      re += escapeRe(p[++i]!);
    } else {
      re += escapeRe(ch);
    }
  }
  return new RegExp(`^${re}$`);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** True when `relPath` (posix, relative to the context root) is excluded by the rules. */
export function isIgnored(rules: IgnoreRule[], relPath: string): boolean {
  if (rules.length === 0) return false;
  const segments = relPath.split("/");
  let excluded = false;
  for (const rule of rules) {
    // a rule matching the path or one of its parent directories applies to it
    let matched = false;
    for (let n = 1; n <= segments.length && !matched; n++) {
      if (rule.regex.test(segments.slice(0, n).join("/"))) matched = true;
    }
    if (matched) excluded = !rule.negate;
  }
  return excluded;
}
