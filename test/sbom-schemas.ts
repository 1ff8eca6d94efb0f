/**
 * The JSON schemas SBOM tests validate against, compiled once for unit and integration tests alike:
 * CycloneDX 1.6 (the official schema, with the SPDX licence ids and JSF it refers to) and SPDX 2.3 (Hop3's own
 * schema written from the specification; test/fixtures/schemas/README.md says why).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import * as ajvFormats from "ajv-formats";

const schemas = join(import.meta.dirname, "fixtures", "schemas");
const load = (path: string): object => JSON.parse(readFileSync(join(schemas, path), "utf8")) as object;

const ajv = new Ajv({ strict: false, allErrors: true });
(ajvFormats.default as unknown as (a: Ajv) => Ajv)(ajv);
// CycloneDX uses formats ajv-formats does not define; its own tooling accepts any string for them.
ajv.addFormat("idn-email", true);
ajv.addFormat("iri-reference", true);
ajv.addSchema(load("cyclonedx/spdx.schema.json"));
ajv.addSchema(load("cyclonedx/jsf-0.82.schema.json"));

export const validateCycloneDx = ajv.compile(load("cyclonedx/bom-1.6.schema.json"));
export const validateSpdx = ajv.compile(load("spdx/spdx-2.3-document.schema.json"));
