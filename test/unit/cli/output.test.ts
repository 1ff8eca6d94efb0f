import { describe, expect, it } from "vitest";
import {
  formatKeyValues,
  formatMiB,
  formatTable,
  painter,
  relativeTime,
  useColor,
  visibleWidth,
} from "../../../src/cli/output.js";

describe("formatTable", () => {
  it("aligns columns under their headers without trailing blanks", () => {
    const table = formatTable(
      ["NAME", "STATE", "URL"],
      [
        ["web", "running", "https://web.example.com"],
        ["a-long-name", "stopped", ""],
      ],
    );
    expect(table.split("\n")).toEqual([
      "NAME         STATE    URL",
      "web          running  https://web.example.com",
      "a-long-name  stopped",
    ]);
  });

  it("ignores ANSI colour codes when measuring", () => {
    const p = painter(true);
    const table = formatTable(["K", "V"], [[p.green("abc"), "1"]]);
    expect(table.split("\n")[0]).toBe("K    V");
    expect(visibleWidth(table.split("\n")[1]!)).toBe("abc  1".length);
  });
});

describe("formatKeyValues", () => {
  it("aligns values after the keys", () => {
    expect(
      formatKeyValues([
        ["A", "1"],
        ["LONG_KEY", "x=y"],
        ["EMPTY", ""],
      ]).split("\n"),
    ).toEqual(["A:        1", "LONG_KEY: x=y", "EMPTY:"]);
  });
});

describe("relativeTime", () => {
  const now = new Date("2025-01-10T12:00:00Z");
  it("says how long ago", () => {
    expect(relativeTime("2025-01-10T11:57:00Z", now)).toBe("3 minutes ago");
    expect(relativeTime("2025-01-10T11:00:00Z", now)).toBe("1 hour ago");
    expect(relativeTime("2025-01-08T12:00:00Z", now)).toBe("2 days ago");
    expect(relativeTime("2025-01-10T11:59:58Z", now)).toBe("just now");
    expect(relativeTime("2025-01-10T12:00:30Z", now)).toBe("in 30 seconds");
  });
  it("keeps what it cannot parse", () => {
    expect(relativeTime("yesterday-ish", now)).toBe("yesterday-ish");
    expect(relativeTime(undefined, now)).toBe("");
  });
});

describe("colour", () => {
  it("is off without a TTY, with NO_COLOR or TERM=dumb", () => {
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(useColor({ isTTY: true }, { TERM: "dumb" })).toBe(false);
    expect(painter(false).red("x")).toBe("x");
    expect(painter(true).red("x")).toBe("\x1b[31mx\x1b[39m");
  });
});

it("formats sizes in MiB", () => {
  expect(formatMiB(3 * 1024 * 1024)).toBe("3.00 MiB");
  expect(formatMiB(10 * 1024)).toBe("0.01 MiB");
});
