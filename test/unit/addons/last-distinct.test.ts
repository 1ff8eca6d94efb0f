import { describe, expect, it } from "vitest";
import { lastDistinct } from "../../../src/addons/containers.js";

describe("lastDistinct", () => {
  it("reads a repeated failure once, each line where it was last seen", () => {
    const attempt = [
      "could not find the database system",
      "Expected to find it in /data",
      "could not open pg_control",
    ];
    expect(lastDistinct([...attempt, ...attempt, ...attempt], 15)).toEqual(attempt);
  });
  it("keeps the newest lines when there are more than asked for", () => {
    expect(lastDistinct(["a", "b", "c", "d"], 2)).toEqual(["c", "d"]);
    expect(lastDistinct(["a", "b", "a", "c"], 2)).toEqual(["a", "c"]);
  });
  it("nothing in, nothing out", () => {
    expect(lastDistinct([], 5)).toEqual([]);
  });
});
