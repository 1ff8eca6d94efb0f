/**
 * Extra CA certificates and proxies for build steps (corporate proxies; TLS-intercepting registries).
 * The operator's bundle is mounted read-only and appended to the image's own, so buildpacks trust both.
 */
export const EXTRA_CA_PATH = "/etc/ssl/certs/hop3-extra-ca.crt";
export const COMBINED_CA_PATH = "/etc/ssl/certs/hop3-ca-bundle.crt";
/** Where the image's own bundle is; the operator's is appended to it (HOP3_BUILD_CA_FILE, server settings). */
const SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

export interface BuildNetwork {
  /** Host file with extra CA certificates (PEM), or undefined for none. */
  caFile?: string;
  httpProxy?: string;
  httpsProxy?: string;
  noProxy?: string;
  /** The package index Python builds use unless the app sets PIP_INDEX_URL (its platform env is applied later). */
  pipIndexUrl?: string;
}

/** Binds and environment for a build container, and the shell line that builds the combined bundle. */
export function buildNetworkConfig(n: BuildNetwork): {
  binds: string[];
  env: Record<string, string>;
  setup?: string;
} {
  const env: Record<string, string> = {};
  if (n.httpProxy) Object.assign(env, { HTTP_PROXY: n.httpProxy, http_proxy: n.httpProxy });
  if (n.httpsProxy) Object.assign(env, { HTTPS_PROXY: n.httpsProxy, https_proxy: n.httpsProxy });
  if (n.noProxy) Object.assign(env, { NO_PROXY: n.noProxy, no_proxy: n.noProxy });
  if (n.pipIndexUrl) env.PIP_INDEX_URL = n.pipIndexUrl;
  if (!n.caFile) return { binds: [], env };
  Object.assign(env, {
    SSL_CERT_FILE: COMBINED_CA_PATH,
    NODE_EXTRA_CA_CERTS: EXTRA_CA_PATH,
    PIP_CERT: COMBINED_CA_PATH,
    REQUESTS_CA_BUNDLE: COMBINED_CA_PATH,
    CURL_CA_BUNDLE: COMBINED_CA_PATH,
    GIT_SSL_CAINFO: COMBINED_CA_PATH,
    npm_config_cafile: COMBINED_CA_PATH,
  });
  return {
    binds: [`${n.caFile}:${EXTRA_CA_PATH}:ro`],
    env,
    setup: `cat ${SYSTEM_BUNDLE} ${EXTRA_CA_PATH} > ${COMBINED_CA_PATH} 2>/dev/null || cp ${EXTRA_CA_PATH} ${COMBINED_CA_PATH}`,
  };
}
