import { describe, expect, it } from "vitest";
import { parseResizeRequest, parseRunRequest } from "../../../src/runtime/run-session.js";
import { Hop3Error } from "../../../src/util/errors.js";

const usage = (fn: () => unknown): Hop3Error => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Hop3Error);
    expect((err as Hop3Error).kind).toBe("usage");
    return err as Hop3Error;
  }
  throw new Error("expected a usage error");
};

describe("parseRunRequest", () => {
  it("keeps the argument vector as given and defaults to an interactive, attached run", () => {
    expect(parseRunRequest({ command: ["sh", "-c", "echo $HOME; exit 3"] })).toEqual({
      command: ["sh", "-c", "echo $HOME; exit 3"],
      tty: false,
      interactive: true,
      detach: false,
    });
  });

  it("carries a terminal size", () => {
    expect(parseRunRequest({ command: ["bash"], tty: true, cols: 120, rows: 40 })).toMatchObject({
      tty: true,
      cols: 120,
      rows: 40,
    });
  });

  it("a detached run takes no stdin", () => {
    expect(parseRunRequest({ command: ["sleep", "5"], detach: true })).toMatchObject({
      detach: true,
      interactive: false,
    });
  });

  it("refuses anything that is not a non-empty list of strings", () => {
    for (const body of [
      null,
      [],
      "ls",
      {},
      { command: "ls -l" },
      { command: [] },
      { command: ["ls", 3] },
      { command: [""] },
      { command: ["ls", "a\0b"] },
      { command: Array.from({ length: 1001 }, () => "x") },
    ]) {
      usage(() => parseRunRequest(body));
    }
  });

  it("refuses flags that are not booleans, bad sizes, and a detached terminal", () => {
    expect(usage(() => parseRunRequest({ command: ["ls"], tty: "yes" })).message).toMatch(/tty/);
    expect(usage(() => parseRunRequest({ command: ["ls"], cols: 0 })).message).toMatch(/cols/);
    expect(usage(() => parseRunRequest({ command: ["ls"], rows: 2.5 })).message).toMatch(/rows/);
    expect(usage(() => parseRunRequest({ command: ["bash"], tty: true, detach: true })).message).toMatch(
      /detached/,
    );
  });
});

describe("parseResizeRequest", () => {
  it("wants both dimensions", () => {
    expect(parseResizeRequest({ cols: 80, rows: 24 })).toEqual({ cols: 80, rows: 24 });
    usage(() => parseResizeRequest({ cols: 80 }));
    usage(() => parseResizeRequest({ cols: -1, rows: 24 }));
  });
});
