import { describe, expect, it } from "vitest";
import { parseExposePort } from "../../../src/addons/service.js";
import { Hop3Error } from "../../../src/util/errors.js";

describe("addons:expose port", () => {
  it("takes an unprivileged port, as a number or the CLI's string", () => {
    expect(parseExposePort(15432)).toBe(15432);
    expect(parseExposePort("15432")).toBe(15432);
    expect(parseExposePort(1024)).toBe(1024);
    expect(parseExposePort(65535)).toBe(65535);
  });

  it.each([80, 1023, 65536, 0, -1, 1.5, "15432x", " 15432", "0x3c28", "", null, undefined, [15432]])(
    "refuses %j with a usage error",
    (bad) => {
      let err: unknown;
      try {
        parseExposePort(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Hop3Error);
      expect((err as Hop3Error).message).toMatch(/1024 to 65535/);
    },
  );
});
