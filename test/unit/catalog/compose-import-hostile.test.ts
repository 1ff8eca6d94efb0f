/**
 * `hop catalog:import` of a hostile Compose file (issue 14: assume every file is hostile). The importer's output
 * is a recipe an operator installs, so nothing in the file may reach further than the recipe format lets a
 * reviewed recipe reach: no build step smuggled into the Containerfile, no host path mounted, no privilege or
 * host namespace carried over silently, no TOML of the file's own making, no resource exhaustion by aliases.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import { importComposeFile, writeRecipe } from "../../../src/catalog/compose-file.js";
import { loadRecipe } from "../../../src/catalog/recipe.js";

const dir = mkdtempSync(join(tmpdir(), "hostile-compose-"));
let n = 0;
/** Writes the YAML text to a file and imports it as the recipe `evil`. */
function importText(yaml: string) {
  const file = join(dir, `evil-${++n}.yml`);
  writeFileSync(file, yaml);
  return importComposeFile(file, { name: "evil" });
}
/** The generated recipe as the catalog itself loads it (its validation included). */
function load(files: Record<string, string>) {
  const out = join(mkdtempSync(join(tmpdir(), "hostile-recipe-")), "evil");
  writeRecipe(out, files);
  return loadRecipe(out, "evil");
}

describe("catalog:import of a hostile Compose file", () => {
  it("refuses an image that would add lines to the Containerfile", () => {
    for (const image of [
      "alpine\nRUN cat /etc/shadow",
      "alpine\rRUN id",
      "alpine AS x",
      "alpine:3 --mount=type=bind,source=/,target=/host",
      "../../etc/passwd",
      "",
    ]) {
      expect(
        () => importText(`services:\n  web:\n    image: ${JSON.stringify(image)}\n    ports: ["80"]\n`),
        JSON.stringify(image),
      ).toThrow(/is not an image reference/);
    }
    // what real templates use still imports
    for (const image of [
      "nginx",
      "nginx:1.27-alpine",
      "ghcr.io/org/app:v1.2.3",
      `localhost:5000/a/b@sha256:${"a".repeat(64)}`,
    ]) {
      const r = importText(`services:\n  web:\n    image: ${image}\n    ports: ["80"]\n`);
      expect(r.files.Containerfile!.split("\n").filter((l) => /^[A-Z]/.test(l))).toEqual([
        expect.stringMatching(/^FROM \S+$/),
      ]);
    }
  });

  it("mounts no host path: binds of every spelling are listed, never made volumes", () => {
    const r = importText(
      [
        "services:",
        "  web:",
        "    image: nginx",
        '    ports: ["80"]',
        "    volumes:",
        "      - /:/host",
        "      - /var/lib/hop3:/hop3",
        "      - ../../..:/up",
        "      - ~/.ssh:/ssh",
        "      - $HOME:/home-dir",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a Compose variable, not a template
        "      - ${PWD}/data:/pwd",
        "      - /var/run/docker.sock:/var/run/docker.sock",
        "      - { type: bind, source: /etc, target: /etc-host }",
        "      - { type: npipe, source: x, target: /pipe }",
        "      - data:/data",
        "volumes:",
        "  data: {}",
      ].join("\n"),
    );
    const hop3 = parseToml(r.files["hop3.toml"]!) as {
      volumes?: { name: string; target: string; type: string }[];
    };
    // only the named volume, as a persist volume in the app's own storage
    expect(hop3.volumes).toEqual([{ name: "data", target: "/data", type: "persist" }]);
    const report = r.files["IMPORT.md"]!;
    for (const target of [
      "/host",
      "/hop3",
      "/up",
      "/ssh",
      "/home-dir",
      "/pwd",
      "docker.sock",
      "/etc-host",
      "/pipe",
    ])
      expect(report, target).toContain(target);
    expect(r.unmapped.filter((u) => u.includes("mount of the host"))).toHaveLength(9);
    expect(load(r.files).meta.name).toBe("evil");
  });

  it("carries no privilege, host namespace or device over, and lists each one", () => {
    const keys = {
      privileged: "true",
      network_mode: "host",
      pid: "host",
      ipc: "host",
      userns_mode: "host",
      cap_add: "[SYS_ADMIN, NET_ADMIN]",
      devices: '["/dev/kmsg:/dev/kmsg"]',
      security_opt: '["seccomp:unconfined", "apparmor:unconfined"]',
      sysctls: '["net.ipv4.ip_forward=1"]',
      volumes_from: '["other"]',
      user: "root",
      extra_hosts: '["hop3.internal:127.0.0.1"]',
      env_file: '["/etc/hop3/hop3.env"]',
      cgroup_parent: "/",
    };
    const r = importText(
      [
        "services:",
        "  web:",
        "    image: nginx",
        '    ports: ["80"]',
        ...Object.entries(keys).map(([k, v]) => `    ${k}: ${v}`),
      ].join("\n"),
    );
    for (const k of Object.keys(keys)) {
      expect(
        r.unmapped.some((u) => u.startsWith(`services.web.${k}:`)),
        k,
      ).toBe(true);
      expect(r.files["hop3.toml"], k).not.toContain(k);
    }
    expect(r.files.Containerfile).toBe(
      r.files
        .Containerfile!.split("\n")
        .filter((l) => l === "" || l.startsWith("#") || l === "FROM docker.io/library/nginx")
        .join("\n"),
    );
    expect(load(r.files).meta.name).toBe("evil");
  });

  it("writes TOML of its own making only: keys and values of the file stay inside their strings", () => {
    const r = importText(
      [
        "services:",
        "  web:",
        "    image: nginx",
        '    ports: ["80"]',
        "    environment:",
        `      "X = 1\\n[build]\\nbuilder": "a"`,
        `      PLAIN: "v\\"\\n[[addons]]\\ntype = \\"postgres\\"\\n"`,
        `      ODD: "del\\u007f and a lone surrogate \\ud800 end"`,
        "    healthcheck:",
        `      test: ["CMD", "curl", "-f", "http://localhost/ok\\"]\\n[x]"]`,
      ].join("\n"),
    );
    const hop3 = parseToml(r.files["hop3.toml"]!) as Record<string, Record<string, unknown>>;
    expect(Object.keys(hop3).sort()).toEqual(["build", "env", "healthcheck", "port", "test"]);
    expect(hop3.build).toEqual({ builder: "docker" });
    expect(hop3.env!.PLAIN).toBe('v"\n[[addons]]\ntype = "postgres"\n');
    expect(hop3.env!["X = 1\n[build]\nbuilder"]).toBe("a");
    expect(hop3.env!.ODD).toBe("del\u007f and a lone surrogate \ufffd end");
    expect(parseToml(r.files["catalog.toml"]!)).toMatchObject({ name: "evil" });
  });

  it("refuses an alias bomb quickly instead of expanding it", () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(",")}]`);
    }
    lines.push("services:", "  web:", "    image: nginx", "    labels: *l");
    const started = Date.now();
    expect(() => importText(lines.join("\n"))).toThrow(/not YAML: .*alias/i);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("takes its name from the file, never a path: a file named like a traversal gets a plain recipe name", () => {
    const file = join(dir, "..evil..yml");
    writeFileSync(file, 'services:\n  web:\n    image: nginx\n    ports: ["80"]\n');
    expect(() => importComposeFile(file, { name: "../../etc" })).toThrow(/app name|invalid/i);
    const r = importComposeFile(file, {});
    expect(readFileSync(file, "utf8")).toContain("nginx");
    expect(/^name = "(.*)"$/m.exec(r.files["catalog.toml"]!)?.[1]).toBe("evil");
  });
});
