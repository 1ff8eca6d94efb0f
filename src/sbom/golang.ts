/** Go: the modules an app vendors (vendor/modules.txt) or requires (go.mod). */
import { type FoundPackage, purlOf } from "./package.js";

function goModule(path: string, version: string, foundIn: string): FoundPackage {
  const i = path.lastIndexOf("/");
  return {
    ecosystem: "golang",
    name: path,
    version,
    purl: purlOf("golang", i > 0 ? path.slice(0, i) : undefined, i > 0 ? path.slice(i + 1) : path, version),
    foundIn,
  };
}

/** `# example.com/mod v1.2.3` lines; replaced modules (`=>`) are listed at the version they resolve to. */
export function parseVendorModules(text: string, foundIn: string): FoundPackage[] {
  const out: FoundPackage[] = [];
  for (const line of text.split("\n")) {
    const m = /^# (\S+) (v\S+)(?: => (\S+) (v\S+))?\s*$/.exec(line);
    if (m) out.push(goModule(m[3] ?? m[1]!, m[4] ?? m[2]!, foundIn));
  }
  return out;
}

export function parseGoMod(text: string, foundIn: string): FoundPackage[] {
  const out: FoundPackage[] = [];
  let inRequire = false;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\/\/.*$/, "").trim();
    if (/^require\s*\($/.test(line)) {
      inRequire = true;
      continue;
    }
    if (inRequire && line === ")") {
      inRequire = false;
      continue;
    }
    const m = (inRequire ? /^(\S+)\s+(v\S+)$/ : /^require\s+(\S+)\s+(v\S+)$/).exec(line);
    if (m) out.push(goModule(m[1]!, m[2]!, foundIn));
  }
  return out;
}
