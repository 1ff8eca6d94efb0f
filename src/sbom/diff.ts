/**
 * What changed between two releases' SBOMs: components are matched by identity (the purl without its
 * version and qualifiers, or the name), so an upgrade shows as one change, not a removal and an addition.
 * A package installed at several versions (npm nests them) compares as its set of versions.
 */
import { packageComponents } from "./document.js";

export interface SbomDiff {
  added: { name: string; version: string; purl?: string }[];
  removed: { name: string; version: string; purl?: string }[];
  changed: { name: string; from: string; to: string; purl?: string }[];
}

function identity(c: { name: string; purl?: string }): string {
  if (!c.purl) return `name:${c.name}`;
  return c.purl.replace(/[?#].*$/, "").replace(/@[^/@]*$/, "");
}

function index(doc: Record<string, unknown>) {
  const m = new Map<string, { name: string; purl?: string; versions: Set<string> }>();
  for (const c of packageComponents(doc)) {
    const k = identity(c);
    const e = m.get(k) ?? { name: c.name, ...(c.purl ? { purl: c.purl } : {}), versions: new Set<string>() };
    e.versions.add(c.version ?? "");
    m.set(k, e);
  }
  return m;
}

const joined = (s: Set<string>) => [...s].sort().join(", ");

export function diffSboms(from: Record<string, unknown>, to: Record<string, unknown>): SbomDiff {
  const a = index(from);
  const b = index(to);
  const out: SbomDiff = { added: [], removed: [], changed: [] };
  for (const [k, e] of b) {
    const before = a.get(k);
    if (!before)
      out.added.push({ name: e.name, version: joined(e.versions), ...(e.purl ? { purl: e.purl } : {}) });
    else if (joined(before.versions) !== joined(e.versions))
      out.changed.push({
        name: e.name,
        from: joined(before.versions),
        to: joined(e.versions),
        ...(e.purl ? { purl: e.purl } : {}),
      });
  }
  for (const [k, e] of a) {
    if (!b.has(k))
      out.removed.push({ name: e.name, version: joined(e.versions), ...(e.purl ? { purl: e.purl } : {}) });
  }
  const byName = (x: { name: string }, y: { name: string }) => x.name.localeCompare(y.name);
  out.added.sort(byName);
  out.removed.sort(byName);
  out.changed.sort(byName);
  return out;
}
