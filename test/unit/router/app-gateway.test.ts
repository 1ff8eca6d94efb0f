import { describe, expect, it } from "vitest";
import { GATEWAY_NETWORK, whyReplace } from "../../../src/router/app-gateway.js";

describe("whyReplace (when the gateway is replaced under Podman 4.3 instead of connected)", () => {
  const want = { image: "img1", spec: "abc", networks: ["hop3-a", "hop3-b"] };
  const live = {
    status: "running",
    image: "img1",
    spec: "abc",
    networks: [GATEWAY_NETWORK, "hop3-b", "hop3-a"],
  };

  it("keeps a running gateway from the wanted image and spec, on exactly the wanted app networks", () => {
    expect(whyReplace(live, want)).toBeUndefined();
    // its own network is not an app network; the order is not a difference
    expect(whyReplace({ ...live, networks: ["hop3-a", "hop3-b"] }, want)).toBeUndefined();
    expect(whyReplace({ ...live, networks: [GATEWAY_NETWORK] }, { ...want, networks: [] })).toBeUndefined();
  });

  it("replaces one that is gone, stopped, or from another image or spec", () => {
    expect(whyReplace(undefined, want)).toBe("none");
    expect(whyReplace({ ...live, status: "exited" }, want)).toBe("exited");
    expect(whyReplace({ ...live, image: "img0" }, want)).toBe("another image");
    expect(whyReplace({ ...live, spec: undefined }, want)).toBe("another spec");
  });

  it("replaces one on a network too few (a new app) or too many (an app being destroyed)", () => {
    expect(whyReplace(live, { ...want, networks: ["hop3-a", "hop3-b", "hop3-c"] })).toBe(
      "on 2 app network(s), 1 missing, 0 to leave",
    );
    expect(whyReplace(live, { ...want, networks: ["hop3-a"] })).toBe(
      "on 2 app network(s), 0 missing, 1 to leave",
    );
    // the same count is not the same set
    expect(whyReplace(live, { ...want, networks: ["hop3-a", "hop3-c"] })).toMatch(/1 missing, 1 to leave/);
  });

  it("`connect` (no networks wanted): only the image, the spec and running count, its networks are joined later", () => {
    const connect = { image: "img1", spec: "abc" };
    expect(whyReplace({ ...live, networks: [GATEWAY_NETWORK] }, connect)).toBeUndefined();
    expect(whyReplace({ ...live, spec: "old" }, connect)).toBe("another spec");
    expect(whyReplace({ ...live, status: "exited" }, connect)).toBe("exited");
  });
});
