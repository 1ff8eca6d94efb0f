/** Hostnames and URLs of an app, as users and the router see them. */
import type { PlatformSettings } from "./platform.js";

export const defaultHostname = (app: string, s: Pick<PlatformSettings, "baseDomain">) =>
  `${app}.${s.baseDomain}`;

const isLocalName = (host: string) =>
  host === "localhost" || host.endsWith(".localhost") || /^[\d.]+$/.test(host);

export function appUrl(host: string, s: Pick<PlatformSettings, "httpPort" | "httpsPort" | "tls">): string {
  const https = s.tls === "auto" && !isLocalName(host) && host !== "_";
  const port = https ? s.httpsPort : s.httpPort;
  const defaultPort = https ? 443 : 80;
  return `${https ? "https" : "http"}://${host}${port === defaultPort ? "" : `:${port}`}/`;
}

/** Every hostname the app answers to: its default one first, then the store's and hop3.toml's. */
export function appHostnames(
  app: string,
  s: Pick<PlatformSettings, "baseDomain">,
  storeDomains: string[],
  specDomains: string[],
): string[] {
  const all = [defaultHostname(app, s), ...storeDomains, ...specDomains.filter((d) => d !== "_")];
  return [...new Set(all.map((h) => h.toLowerCase()))];
}

/**
 * The platform's part of every container's environment (process instances and one-offs): the app's name,
 * the bind address Piku apps expect, its hostnames and public URL.
 */
export function platformEnv(
  app: string,
  s: Pick<PlatformSettings, "baseDomain" | "httpPort" | "httpsPort" | "tls">,
  storeDomains: string[],
  specDomains: string[],
): Record<string, string> {
  const hosts = appHostnames(app, s, storeDomains, specDomains);
  return {
    APP: app,
    BIND_ADDRESS: "0.0.0.0",
    HOST_NAME: hosts.join(","),
    HOP3_PUBLIC_URL: appUrl(hosts[0]!, s).replace(/\/$/, ""),
  };
}
