import { describe, expect, it } from "vitest";
import {
  hostConfigMounts,
  planMounts,
  releaseMounts,
  sizeBytes,
  volumeName,
} from "../../../src/deploy/volumes.js";
import { Hop3Error } from "../../../src/util/errors.js";

const root = "/var/lib/hop3";

describe("planMounts", () => {
  it("plans persist, tmpfs and bind volumes", () => {
    expect(
      planMounts(
        "shop",
        [
          { name: "data", target: "/data", type: "persist" },
          { target: "/var/cache/app/", type: "persist" },
          { target: "/scratch", type: "tmpfs", size: "16M", mode: "1777" },
          { target: "/uploads", type: "bind", source: "uploads" },
        ],
        root,
      ),
    ).toEqual([
      { kind: "volume", volume: "hop3-shop-data", target: "/data" },
      { kind: "volume", volume: "hop3-shop-var-cache-app", target: "/var/cache/app" },
      { kind: "tmpfs", target: "/scratch", size: String(16 * 1024 * 1024), mode: "1777" },
      {
        kind: "bind",
        source: "/var/lib/hop3/data/shop/uploads",
        target: "/uploads",
        base: "/var/lib/hop3/data/shop",
      },
    ]);
  });

  it("never mounts a host path outside the app's data directory", () => {
    for (const source of [
      "../other/uploads",
      "/etc",
      "/var/lib/hop3/data/other",
      "/var/lib/hop3/data/shop",
      ".",
    ]) {
      expect(() => planMounts("shop", [{ target: "/x", type: "bind", source }], root), source).toThrow(
        /outside the app's data directory/,
      );
    }
    expect(
      planMounts("shop", [{ target: "/x", type: "bind", source: "/var/lib/hop3/data/shop/a/../b" }], root),
    ).toEqual([
      { kind: "bind", source: "/var/lib/hop3/data/shop/b", target: "/x", base: "/var/lib/hop3/data/shop" },
    ]);
  });

  it("refuses nested bind sources, naming both entries, whatever their order", () => {
    const nested = (a: string, b: string) => () =>
      planMounts(
        "shop",
        [
          { target: "/media", type: "bind", source: a },
          { target: "/thumbs", type: "bind", source: b },
        ],
        root,
      );
    expect(nested("media", "media/thumbs")).toThrow(
      'hop3.toml [[volumes]] #1 (/media, source "media") holds #2 (/thumbs, source "media/thumbs"): bind sources must not nest',
    );
    expect(nested("a/b/c", "./a")).toThrow(
      /#2 \(\/thumbs, source "a"\) holds #1 \(\/media, source "a\/b\/c"\)/,
    );
    // siblings and names that only share a prefix do not nest
    expect(nested("media", "media-thumbs")()).toHaveLength(2);
  });

  it("takes a bind source only as one directory directly in the app's data directory", () => {
    for (const source of ["files/uploads", "/var/lib/hop3/data/shop/a/b", "a/./b/"]) {
      expect(() => planMounts("shop", [{ target: "/x", type: "bind", source }], root), source).toThrow(
        /must be one directory directly in the app's data directory/,
      );
    }
    let hint = "";
    try {
      planMounts("shop", [{ target: "/x", type: "bind", source: "files/uploads" }], root);
    } catch (err) {
      hint = (err as { hint?: string }).hint ?? "";
    }
    expect(hint).toMatch(/"files-uploads"/);
  });

  it("refuses a target mounted twice, the root, and size/mode on a persist volume", () => {
    expect(() =>
      planMounts(
        "shop",
        [
          { target: "/data", type: "persist" },
          { target: "/data/", type: "tmpfs" },
        ],
        root,
      ),
    ).toThrow(/mounted twice/);
    expect(() => planMounts("shop", [{ target: "/", type: "tmpfs" }], root)).toThrow(/other than \//);
    expect(() => planMounts("shop", [{ target: "/data", type: "persist", size: "1G" }], root)).toThrow(
      Hop3Error,
    );
    expect(() => planMounts("shop", [{ target: "/t", type: "tmpfs", mode: "rwx" }], root)).toThrow(/octal/);
  });

  it("names volumes after the app, so two apps never share one", () => {
    expect(volumeName("a", { target: "/data" })).toBe("hop3-a-data");
    expect(volumeName("b", { target: "/data" })).toBe("hop3-b-data");
    expect(volumeName("a", { name: "db", target: "/var/lib/db" })).toBe("hop3-a-db");
  });

  it("treats releases recorded before volumes as having none", () => {
    expect(releaseMounts("shop", undefined, root)).toEqual([]);
    expect(releaseMounts("shop", {}, root)).toEqual([]);
  });
});

describe("sizeBytes", () => {
  it("reads binary units", () => {
    expect(sizeBytes("512M")).toBe(512 * 1024 ** 2);
    expect(sizeBytes("2G")).toBe(2 * 1024 ** 3);
    expect(sizeBytes("64KiB")).toBe(64 * 1024);
    expect(sizeBytes("1.5G")).toBe(1.5 * 1024 ** 3);
    expect(() => sizeBytes("lots")).toThrow(Hop3Error);
  });
});

describe("hostConfigMounts", () => {
  it("gives Podman's API binds for volumes and directories, and tmpfs options", () => {
    expect(
      hostConfigMounts([
        { kind: "volume", volume: "hop3-shop-data", target: "/data" },
        {
          kind: "bind",
          source: "/var/lib/hop3/data/shop/up",
          target: "/up",
          base: "/var/lib/hop3/data/shop",
        },
        { kind: "tmpfs", target: "/scratch", size: "1024", mode: "1777" },
        { kind: "tmpfs", target: "/t" },
      ]),
    ).toEqual({
      Binds: ["hop3-shop-data:/data:U", "/var/lib/hop3/data/shop/up:/up:U"],
      Tmpfs: { "/scratch": "size=1024,mode=1777", "/t": "" },
    });
    expect(hostConfigMounts([])).toEqual({});
  });
});
