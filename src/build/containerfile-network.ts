/**
 * What a Containerfile build gets of the operator's build network settings (HOP3_BUILD_CA_FILE, proxies, the
 * Python index): the same package sources as a buildpack build, without writing anything into the image.
 *
 * - The CA bundle is a build secret (`podman build --secret id=hop3-ca`): a RUN step that asks for it
 *   (`RUN --mount=type=secret,id=hop3-ca ...`) sees it at /run/secrets/hop3-ca for that step only; it is in no
 *   layer, and a Containerfile that does not ask never sees it. Podman's API takes a secret as a file of the
 *   build context that it moves out of the context before the build starts (so `COPY . .` cannot copy it).
 * - Standard variables pointing at it are build arguments, seen only by Containerfiles that declare them
 *   (`ARG NODE_EXTRA_CA_CERTS`): the value is a path, not the certificate.
 * - Proxies are the builder's predefined arguments (HTTP_PROXY ...): every RUN step sees them without an ARG,
 *   and buildah, like Docker, keeps their values out of the image's history (they may hold credentials).
 * The app's own build arguments ([build.args] in hop3.toml) win over these.
 */
import { randomBytes } from "node:crypto";
import type { BuildNetwork } from "./cnb/build-network.js";

/** The secret's id, so its path in a RUN step is /run/secrets/hop3-ca. */
export const CA_SECRET_ID = "hop3-ca";
export const CA_SECRET_PATH = `/run/secrets/${CA_SECRET_ID}`;

export interface ContainerfileBuildOptions {
  /** Build arguments: the platform's, then the app's over them. */
  buildargs: Record<string, string>;
  /** Podman's `secrets` build parameter: `id=...,src=NAME`, NAME a file added to the context's root. */
  secrets: string[];
  /** Files to add to the context tar (the secrets' sources): name in the context -> host file to read. */
  contextFiles: Record<string, string>;
}

/**
 * The build parameters for a Containerfile build. `token` names the secret's file in the context (random per
 * build, so it cannot collide with, or be guessed by, a file of the app's tree).
 */
export function containerfileBuildOptions(
  network: BuildNetwork,
  appArgs: Record<string, string>,
  token: string = randomBytes(12).toString("hex"),
): ContainerfileBuildOptions {
  const platform: Record<string, string> = {};
  if (network.httpProxy)
    Object.assign(platform, { HTTP_PROXY: network.httpProxy, http_proxy: network.httpProxy });
  if (network.httpsProxy) {
    Object.assign(platform, { HTTPS_PROXY: network.httpsProxy, https_proxy: network.httpsProxy });
  }
  if (network.noProxy) Object.assign(platform, { NO_PROXY: network.noProxy, no_proxy: network.noProxy });
  if (network.pipIndexUrl) platform.PIP_INDEX_URL = network.pipIndexUrl;
  const secrets: string[] = [];
  const contextFiles: Record<string, string> = {};
  if (network.caFile) {
    const name = `.hop3-secret-${token}`;
    secrets.push(`id=${CA_SECRET_ID},src=${name}`);
    contextFiles[name] = network.caFile;
    // Node adds these to its own roots (npm, yarn, pnpm included); HOP3_BUILD_CA for anything else
    // (curl --cacert, pip --cert after appending it to the system bundle in the same RUN step)
    Object.assign(platform, { HOP3_BUILD_CA: CA_SECRET_PATH, NODE_EXTRA_CA_CERTS: CA_SECRET_PATH });
  }
  return { buildargs: { ...platform, ...appArgs }, secrets, contextFiles };
}
