import { describe, expect, it } from "vitest";
import { volumeReport } from "../../../src/deploy/volume-report.js";

const root = "/var/lib/hop3";

describe("volumeReport", () => {
  it("joins the declared volumes with what Podman has, in declaration order", () => {
    const rows = volumeReport(
      "shop",
      [
        { type: "persist", target: "/data" },
        { target: "/tmp/cache", type: "tmpfs", size: "64M" },
        { target: "/srv/uploads", type: "bind", source: "uploads" },
      ],
      root,
      [
        {
          name: "hop3-shop-data",
          size: 4096,
          usedBy: ["hop3-shop-web-1"],
          createdAt: "2026-12-05T08:00:00Z",
        },
      ],
    );
    expect(rows).toEqual([
      {
        name: "hop3-shop-data",
        type: "persist",
        target: "/data",
        size: 4096,
        state: "in use",
        usedBy: ["hop3-shop-web-1"],
        createdAt: "2026-12-05T08:00:00Z",
      },
      {
        name: "tmpfs",
        type: "tmpfs",
        target: "/tmp/cache",
        limit: 64 * 1024 * 1024,
        state: "declared",
        usedBy: [],
      },
      {
        name: "/var/lib/hop3/data/shop/uploads",
        type: "bind",
        target: "/srv/uploads",
        state: "declared",
        usedBy: [],
      },
    ]);
  });

  it("a declared volume that no container mounts yet is 'declared', without a size", () => {
    const rows = volumeReport("shop", [{ type: "persist", target: "/data" }], root, []);
    expect(rows).toEqual([
      { name: "hop3-shop-data", type: "persist", target: "/data", state: "declared", usedBy: [] },
    ]);
  });

  it("a volume the active release no longer declares is orphaned (its data stays until volumes:destroy)", () => {
    const rows = volumeReport("shop", [{ type: "persist", target: "/data" }], root, [
      { name: "hop3-shop-data", usedBy: [] },
      { name: "hop3-shop-old", size: 10, usedBy: [] },
      { name: "hop3-shop-a-still-mounted", usedBy: ["hop3-shop-web-1"] },
    ]);
    expect(rows.map((r) => [r.name, r.state, r.target])).toEqual([
      ["hop3-shop-data", "declared", "/data"],
      ["hop3-shop-a-still-mounted", "in use", undefined],
      ["hop3-shop-old", "orphaned", undefined],
    ]);
  });

  it("an app with no release and no volume has nothing to list", () => {
    expect(volumeReport("shop", [], root, [])).toEqual([]);
  });
});
