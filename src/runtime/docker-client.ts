/**
 * dockerode, without loading the code a unix-socket client never runs.
 *
 * dockerode is the client the project prefers, but it `require`s at its top level an SSH client (`ssh2`, for
 * `ssh://` hosts, through docker-modem) and gRPC with a protobuf loader (`@grpc/grpc-js`,
 * `@grpc/proto-loader`, for BuildKit sessions). Hop3 only talks to Podman's unix socket and never builds
 * through BuildKit, yet those modules were about 12 MiB of the server's resident memory
 * (bench/node-baseline.mjs). So, before dockerode is loaded, each of them is put in Node's CommonJS module
 * cache as a stand-in that loads the real module the first time anything of it is used: nothing changes for
 * a caller that does use SSH or sessions, and nothing of them is loaded for those that do not.
 */
import { createRequire, Module } from "node:module";

type Dockerode = typeof import("dockerode");

const require = createRequire(import.meta.url);

/** Loads the real module behind a stand-in, once (the stand-in leaves the cache, so require finds the file). */
function realLoader(path: string): () => Record<string, unknown> {
  let real: Record<string, unknown> | undefined;
  return () => {
    if (!real) {
      delete require.cache[path];
      real = require(path) as Record<string, unknown>;
    }
    return real;
  };
}

/** Puts `exports` in the module cache under `path`, as if that file had been loaded. */
function cacheStandIn(path: string, exports: unknown): void {
  if (require.cache[path]) return; // already loaded for real (or stood in for): leave it
  const mod = new Module(path);
  mod.filename = path;
  mod.loaded = true;
  mod.exports = exports;
  require.cache[path] = mod;
}

/** A stand-in whose every property is the real module's, loaded on first access. */
function lazyNamespace(path: string): void {
  const real = realLoader(path);
  cacheStandIn(
    path,
    new Proxy(
      {},
      {
        get: (_t, key) => real()[key as string],
        has: (_t, key) => key in real(),
        ownKeys: () => Reflect.ownKeys(real()),
        getOwnPropertyDescriptor: (_t, key) => {
          const d = Object.getOwnPropertyDescriptor(real(), key);
          return d ? { ...d, configurable: true } : undefined;
        },
      },
    ),
  );
}

/**
 * docker-modem reads `require('ssh2').Client` when it loads, so the stand-in has a `Client` of its own:
 * constructing it constructs the real one.
 */
function lazySsh2(path: string): void {
  const real = realLoader(path);
  class Client {
    constructor(...args: unknown[]) {
      const Real = real().Client as new (...a: unknown[]) => object;
      // biome-ignore lint/correctness/noConstructorReturn: the stand-in becomes the real client
      return new Real(...args);
    }
  }
  cacheStandIn(path, {
    Client,
    get Server() {
      return real().Server;
    },
    get utils() {
      return real().utils;
    },
  });
}

function loadDockerode(): Dockerode {
  const dockerodeMain = require.resolve("dockerode");
  const fromDockerode = createRequire(dockerodeMain);
  const fromModem = createRequire(fromDockerode.resolve("docker-modem"));
  try {
    lazySsh2(fromModem.resolve("ssh2"));
    lazyNamespace(fromDockerode.resolve("@grpc/grpc-js"));
    lazyNamespace(fromDockerode.resolve("@grpc/proto-loader"));
  } catch {
    // a layout we do not know (a dependency moved or went away): load dockerode as it is
  }
  return require(dockerodeMain) as Dockerode;
}

const Docker: Dockerode = loadDockerode();
export default Docker;
