import { describe, expect, it } from "vitest";
import { appHostnames, appUrl, defaultHostname } from "../../../src/deploy/urls.js";

const plain = { httpPort: 80, httpsPort: 443, tls: "off" as const };
const tls = { httpPort: 80, httpsPort: 443, tls: "auto" as const };

describe("appUrl", () => {
  it("uses http for localhost names, with the port when it is not 80", () => {
    expect(appUrl("shop.localhost", plain)).toBe("http://shop.localhost/");
    expect(appUrl("shop.localhost", { ...plain, httpPort: 8080 })).toBe("http://shop.localhost:8080/");
    // even with tls auto: no certificate for localhost or bare IPs
    expect(appUrl("shop.localhost", { ...tls, httpPort: 8080 })).toBe("http://shop.localhost:8080/");
    expect(appUrl("localhost", tls)).toBe("http://localhost/");
    expect(appUrl("127.0.0.1", { ...tls, httpPort: 8000 })).toBe("http://127.0.0.1:8000/");
  });

  it("uses https for real domains with tls auto, 443 omitted, other ports kept", () => {
    expect(appUrl("shop.example.com", tls)).toBe("https://shop.example.com/");
    expect(appUrl("shop.example.com", { ...tls, httpsPort: 8443 })).toBe("https://shop.example.com:8443/");
  });

  it("uses http for real domains with tls off", () => {
    expect(appUrl("shop.example.com", plain)).toBe("http://shop.example.com/");
    expect(appUrl("shop.example.com", { ...plain, httpPort: 81 })).toBe("http://shop.example.com:81/");
  });

  it("never uses https for the catch-all name", () => {
    expect(appUrl("_", tls)).toBe("http://_/");
  });
});

describe("appHostnames", () => {
  it("puts the default name first, lowercases and dedupes, drops the catch-all of hop3.toml", () => {
    const s = { baseDomain: "apps.example.com" };
    expect(defaultHostname("shop", s)).toBe("shop.apps.example.com");
    expect(
      appHostnames(
        "shop",
        s,
        ["WWW.Shop.com", "shop.apps.example.com"],
        ["_", "www.shop.com", "Api.Shop.com"],
      ),
    ).toEqual(["shop.apps.example.com", "www.shop.com", "api.shop.com"]);
  });

  it("answers only the default name when nothing else is configured", () => {
    expect(appHostnames("a", { baseDomain: "localhost" }, [], [])).toEqual(["a.localhost"]);
  });
});
