#!/usr/bin/env node
// Hop3's own SBOM, a CI artefact: `npm sbom --sbom-format cyclonedx --omit dev` (the runtime dependency tree as
// installed), labelled with the package's own name, stated as CycloneDX 1.6 (a superset of npm's 1.5 output)
// and validated against the 1.6 schema in test/fixtures/schemas/cyclonedx/. Usage: scripts/project-sbom.mjs [OUT]
// (default dist/hop3.cdx.json). Exits non-zero when npm fails or the document is not schema-valid.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";

const root = resolve(import.meta.dirname, "..");
const out = resolve(root, process.argv[2] ?? "dist/hop3.cdx.json");
const schemas = resolve(root, "test/fixtures/schemas/cyclonedx");
const pkg = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8"));

const raw = execFileSync("npm", ["sbom", "--sbom-format", "cyclonedx", "--omit", "dev"], {
  cwd: root,
  encoding: "utf8",
  maxBuffer: 256 * 1024 * 1024,
});
const bom = JSON.parse(raw);
bom.$schema = "http://cyclonedx.org/schema/bom-1.6.schema.json";
bom.specVersion = "1.6";
// npm names the root component after the checkout's directory ("main"): use the package's name
const root_ = bom.metadata?.component;
if (root_) {
  root_.name = pkg.name;
  root_.type = "application";
  root_.licenses = [{ license: { id: pkg.license } }];
}

const load = (f) => JSON.parse(readFileSync(resolve(schemas, f), "utf8"));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
// the schema uses formats Ajv does not define: accept them (the 1.6 schema's own tests do the same)
ajv.addFormat("idn-email", true);
ajv.addFormat("iri-reference", true);
ajv.addSchema(load("spdx.schema.json"), "spdx.schema.json");
ajv.addSchema(load("jsf-0.82.schema.json"), "jsf-0.82.schema.json");
const validate = ajv.compile(load("bom-1.6.schema.json"));
if (!validate(bom)) {
  console.error(`npm's SBOM is not a valid CycloneDX 1.6 document:`);
  for (const e of validate.errors.slice(0, 20)) console.error(`  ${e.instancePath || "/"} ${e.message}`);
  process.exit(1);
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(bom, null, 2)}\n`);
console.log(`${out}: CycloneDX 1.6 (valid), ${bom.components?.length ?? 0} components, ${pkg.name} ${pkg.version}`);
