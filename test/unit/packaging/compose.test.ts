import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = resolve(import.meta.dirname, "..", "..", "..");
const schema = JSON.parse(readFileSync(resolve(root, "test/fixtures/schemas/compose-spec.json"), "utf8"));

describe("compose/compose.yaml", () => {
  const validate = new Ajv({ strict: false, validateSchema: false, allErrors: true }).compile(schema);

  it("is valid against the Compose specification", () => {
    const doc = parse(readFileSync(resolve(root, "compose/compose.yaml"), "utf8"));
    const ok = validate(doc);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it("the schema check can fail (a misspelt key is refused)", () => {
    expect(validate({ services: { server: { imagee: "x" } } })).toBe(false);
  });

  it("mounts HOP3_ROOT at the same path inside and out, with host networking", () => {
    const doc = parse(readFileSync(resolve(root, "compose/compose.yaml"), "utf8"));
    const server = doc.services.server;
    expect(server.network_mode).toBe("host");
    expect(server.volumes).toContain("/var/lib/hop3:/var/lib/hop3");
  });
});
