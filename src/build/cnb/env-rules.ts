/**
 * Environment rules of the Buildpack API: `<layer>/env*` files (.override, .default, .append, .prepend,
 * .delim; no suffix = override) and the well-known layer directories (bin/, lib/, include/, pkgconfig/).
 * The launcher script applies the same rules at run time (launcher.ts).
 */

export interface EnvFile {
  /** File name, e.g. `PATH.prepend`. */
  name: string;
  value: string;
}

export type Env = Record<string, string>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ACTIONS = new Set(["", "override", "default", "append", "prepend"]);

/** File contents lose their trailing newlines, as `$(cat FILE)` does in the launcher. */
export function envFileValue(content: string): string {
  return content.replace(/\n+$/, "");
}

export function applyEnvFiles(env: Env, files: EnvFile[]): Env {
  const out = { ...env };
  const delims = new Map<string, string>();
  for (const f of files)
    if (f.name.endsWith(".delim")) delims.set(f.name.slice(0, -6), envFileValue(f.value));
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const dot = f.name.indexOf(".");
    const name = dot < 0 ? f.name : f.name.slice(0, dot);
    const action = dot < 0 ? "" : f.name.slice(dot + 1);
    if (!NAME.test(name) || !ACTIONS.has(action)) continue;
    const value = envFileValue(f.value);
    const delim = delims.get(name) ?? "";
    const current = out[name];
    switch (action) {
      case "":
      case "override":
        out[name] = value;
        break;
      case "default":
        if (current === undefined) out[name] = value;
        break;
      case "append":
        out[name] = current ? `${current}${delim}${value}` : value;
        break;
      case "prepend":
        out[name] = current ? `${value}${delim}${current}` : value;
        break;
    }
  }
  return out;
}

export function prependPath(env: Env, name: string, dir: string): Env {
  const cur = env[name];
  return { ...env, [name]: cur ? `${dir}:${cur}` : dir };
}

/** What a layer holds that changes the environment, as seen from inside the build container. */
export interface LayerEnvSnapshot {
  /** The layer's path in the container, e.g. /layers/hop3_nodejs/node. */
  path: string;
  dirs: { bin: boolean; lib: boolean; include: boolean; pkgconfig: boolean };
  env: EnvFile[];
  envBuild: EnvFile[];
}

/** The environment subsequent buildpacks see from a `build = true` layer. */
export function applyBuildLayer(env: Env, layer: LayerEnvSnapshot): Env {
  let out = env;
  if (layer.dirs.bin) out = prependPath(out, "PATH", `${layer.path}/bin`);
  if (layer.dirs.lib) {
    out = prependPath(out, "LD_LIBRARY_PATH", `${layer.path}/lib`);
    out = prependPath(out, "LIBRARY_PATH", `${layer.path}/lib`);
  }
  if (layer.dirs.include) {
    out = prependPath(out, "CPATH", `${layer.path}/include`);
  }
  if (layer.dirs.pkgconfig) out = prependPath(out, "PKG_CONFIG_PATH", `${layer.path}/pkgconfig`);
  out = applyEnvFiles(out, layer.env);
  return applyEnvFiles(out, layer.envBuild);
}

/** Platform env files (`<platform>/env/NAME`): only valid names, so a config var cannot escape the dir. */
export function platformEnvFiles(vars: Env): EnvFile[] {
  return Object.entries(vars)
    .filter(([k]) => NAME.test(k))
    .map(([name, value]) => ({ name, value }));
}

export function envList(env: Env): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

export function envFromList(list: string[] | undefined | null): Env {
  const out: Env = {};
  for (const kv of list ?? []) {
    const i = kv.indexOf("=");
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}
