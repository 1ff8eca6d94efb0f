/**
 * A value made at its first use and kept, for the parts of the server an idle server never runs: their code
 * is loaded with `await import()` inside the factory instead of at start. The idle server's memory is mostly
 * Node itself, and each such part added 1–7 MiB of private memory when loaded at start (docs/benchmarks.md,
 * footprint). Where only a module's functions are needed, a plain `await import()` at the call does the same
 * (Node keeps the loaded module); this is for objects made from it, such as the catalog's source and
 * installer (src/server/main.ts). A factory that fails is tried again at the next use.
 */
export function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make().catch((err: unknown) => {
      made = undefined;
      throw err;
    });
    return made;
  };
}
