import { describe, expect, it } from "vitest";
import { formatError, formatEvent } from "../../../src/git/push-output.js";
import { Hop3Error } from "../../../src/util/errors.js";

describe("formatEvent", () => {
  it("shows steps, indented logs and the deployed URL", () => {
    expect(formatEvent({ event: "step", message: "Building image" }, "app")).toBe("-----> Building image\n");
    expect(formatEvent({ event: "log", line: "npm install\r\ndone\n" }, "app")).toBe(
      "       npm install\n       done\n",
    );
    expect(formatEvent({ event: "done", ok: true, result: { url: "https://app.example.com" } }, "app")).toBe(
      "=====> Application deployed: https://app.example.com\n",
    );
    expect(formatEvent({ event: "done", ok: true, result: {} }, "app")).toBe(
      "=====> Application deployed: app\n",
    );
  });

  it("shows a failure with its hint", () => {
    expect(
      formatEvent(
        {
          event: "done",
          ok: false,
          error: { kind: "deployFailed", message: "build failed", hint: "see the log" },
        },
        "app",
      ),
    ).toBe("!      build failed\n!      see the log\n");
    expect(formatError(new Hop3Error("cannot reach"))).toBe("!      cannot reach\n");
  });
});
