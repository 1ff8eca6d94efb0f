import { describe, expect, it } from "vitest";
import { ndjsonOperation, operationContext } from "../../../src/server/ndjson.js";
import { Hop3Error } from "../../../src/util/errors.js";

async function drain(res: Response): Promise<unknown[]> {
  const text = await res.text();
  return text
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

describe("failures inside streamed operations", () => {
  it("are logged server-side with the request, the app and the last step", async () => {
    const lines: string[] = [];
    const res = operationContext.run(
      { log: (l) => lines.push(l), what: "POST /api/v1/apps/shop/deploy", app: "shop" },
      () =>
        ndjsonOperation(async (progress) => {
          progress.step("Building the image (containerfile)");
          progress.step("Switching traffic to the new instances");
          throw new TypeError("cannot read properties of undefined");
        }),
    );
    const events = await drain(res);
    expect(events.at(-1)).toMatchObject({ event: "done", ok: false });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("POST /api/v1/apps/shop/deploy (app shop) failed at step");
    expect(lines[0]).toContain('"Switching traffic to the new instances"');
    // internal errors come with their stack
    expect(lines[0]).toMatch(/TypeError: cannot read properties of undefined\n\s+at /);
  });

  it("logs an expected failure in one line, and a failure before any step", async () => {
    const lines: string[] = [];
    const res = operationContext.run({ log: (l) => lines.push(l), what: "POST /x" }, () =>
      ndjsonOperation(async () => {
        throw new Hop3Error("health check failed for web.1", "deployFailed");
      }),
    );
    await drain(res);
    expect(lines).toEqual([
      'POST /x failed at step "(before the first step)": health check failed for web.1',
    ]);
  });
});
