// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${VAR}" is the hop3.toml syntax under test
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { locateKeys, parseHop3Toml } from "../../../src/app/hop3toml.js";
import { expectUsageError } from "./expect-usage.js";

/** A hop3.toml that uses every supported section. */
const FULL_HOP3_TOML = readFileSync(
  new URL("../../fixtures/appspec/full/hop3.toml", import.meta.url),
  "utf8",
);

const lineOf = (text: string, needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;

describe("parseHop3Toml: a complete file", () => {
  const { config, warnings } = parseHop3Toml(FULL_HOP3_TOML);

  it("accepts every section, and warns about each key Hop3 does not act on, with its line", () => {
    const at = (needle: string) => `hop3.toml:${lineOf(FULL_HOP3_TOML, needle)}`;
    expect(warnings).toEqual([
      `${at("[[ports]]")}: [[ports]] is not acted on yet, ignored: no extra port is published, and \`source\` restricts no one`,
      `${at("[backup]")}: [backup] is not acted on yet, ignored: Hop3 makes no backups of app data yet`,
      `${at("[test]")}: [test] is not acted on yet, ignored: deploys run no validations; the health check is [healthcheck]`,
      `${at("toolchain =")}: build.toolchain is not acted on yet, ignored: the buildpacks detect the toolchain from the repository`,
      `${at('test = "pytest')}: build.test is not acted on yet, ignored: builds run no tests; run them in [build] build or a Containerfile`,
      `${at('packages = ["libpq-dev"]')}: build.packages is not acted on yet, ignored: no system package is installed; use a Containerfile`,
      `${at("pip-install =")}: build.pip-install is not acted on yet, ignored: use requirements.txt`,
      `${at("node-version =")}: build.node-version is not acted on yet, ignored: the Node.js buildpack reads "engines.node" in package.json`,
      `${at('packages = ["libpq5"]')}: run.packages is not acted on yet, ignored: no system package is installed; use a Containerfile`,
    ]);
  });

  it("keeps the keys as written, normalising port and durations", () => {
    expect(config.metadata).toMatchObject({ id: "blog", version: "1.4.0", tags: ["python", "flask"] });
    expect(config.build).toMatchObject({
      builder: "auto",
      "before-build": "echo start",
      build: ["pip install -r requirements.txt", "npm run build"],
      "node-version": "20",
    });
    expect(config.run).toMatchObject({
      "start-timeout": 60,
      "healthcheck-timeout": 30,
      workers: { worker: "celery -A blog worker" },
    });
    expect(config.port).toBe(8000);
    expect(config.ports).toEqual([
      { number: 2222, protocol: "tcp", name: "ssh", source: "10.0.0.0/8" },
      { number: 5353, protocol: "udp" },
    ]);
    expect(config.docker).toEqual({ port: 8000, "build-args": { PYTHON_VERSION: "3.12", DEBUG: "0" } });
    expect(config.healthcheck).toEqual({
      path: "/healthz",
      contains: "ok",
      interval: 10,
      timeout: 5,
      retries: 3,
    });
    expect(config.addons).toEqual([
      { type: "postgres", name: "db", extensions: ["postgis"] },
      { type: "redis" },
    ]);
    expect(config.volumes).toEqual([
      { name: "uploads", target: "/app/uploads", type: "persist", size: "1G" },
      { target: "/tmp/cache", type: "tmpfs", mode: "1777" },
    ]);
    expect(config.limits).toEqual({ memory: "512M", cpu: 1.5, processes: 4 });
    expect(config.backup).toEqual({ paths: ["/app/uploads"], exclude: ["*.tmp"] });
    expect(config.admin).toEqual({
      username: "admin",
      email: "admin@example.com",
      password: { generate: "password", length: 20 },
    });
    expect(config.test?.validations).toEqual([
      { path: "/", status: 200, contains: "Blog" },
      { path: "/healthz" },
    ]);
    expect(config.domains?.list).toEqual(["blog.example.com", "*.blog.example.com"]);
  });

  it("sorts [env] into values, generated secrets, addon references and computed templates", () => {
    expect(config.env).toEqual({
      policy: "override",
      values: { FLASK_ENV: "production", WORKERS: "4", DEBUG: "false" },
      generated: { SECRET_KEY: { generate: "hex", length: 64 }, API_TOKEN: { generate: "urlsafe" } },
      refs: { DB_HOST: { from: "db", key: "PGHOST" } },
      computed: { BASE_URL: "https://${HOST_NAME}/" },
    });
  });

  it("accepts an empty file and a scalar port", () => {
    expect(parseHop3Toml("")).toEqual({ config: {}, warnings: [] });
    expect(parseHop3Toml("port = 3000").config.port).toBe(3000);
  });
});

describe("parseHop3Toml: errors name the file, the key and the line", () => {
  it("reports TOML syntax errors with line and column", () => {
    const err = expectUsageError(() => parseHop3Toml('[run]\nstart = "x"\nstart = "y"\n', "hop3/hop3.toml"));
    expect(err.message).toMatch(/^hop3\/hop3\.toml:3:\d+: /);
    const unterminated = expectUsageError(() => parseHop3Toml('[metadata]\nid = "blog\n'));
    expect(unterminated.message).toMatch(/^hop3\.toml:2:\d+: /);
  });

  it.each([
    ["[source]\nurl = 'x'", "source", 1],
    ["[metadata]\nid = 'a-b'\n\n[provider.db]\nname = 'postgres'", "provider", 4],
    ["[[processes]]\nx = 1", "processes", 1],
    ["[metadata]\nid = 'ab'\nname = 'x'", "", 0],
    ["something = 1", "something", 1],
    ["stuff.x = 1", "stuff", 1],
  ])("rejects unknown top-level sections (%#)", (text, section, line) => {
    if (section === "") {
      // `name` inside [metadata] is an unknown key, not a section.
      const err = expectUsageError(() => parseHop3Toml(text));
      expect(err.message).toBe('hop3.toml:3: unknown key "metadata.name"');
      return;
    }
    const err = expectUsageError(() => parseHop3Toml(text));
    expect(err.message).toContain(`hop3.toml:${line}: unknown section [${section}]`);
    expect(err.message).toContain("known sections: metadata, build, run");
  });

  it("quotes odd section names safely", () => {
    const err = expectUsageError(() => parseHop3Toml('["\\u001b[31m"]\nx = 1'));
    expect(err.message).toContain('hop3.toml:1: unknown section ["\\u001b[31m"]');
    expect(err.message).not.toContain("\u001b");
  });

  it("gives a pointer for sections other tools use", () => {
    const err = expectUsageError(() => parseHop3Toml("[resources]\nmemory = '1G'"));
    expect(err.message).toContain("[limits]");
  });

  it.each([
    ["[build]\nbuilder = 'auto'\nbefore_build = 'x'", 'unknown key "build.before_build"', 3],
    ["[run]\nstart = 'x'\n\n\ntimeout = 3", 'unknown key "run.timeout"', 5],
    ["[healthcheck]\npath = '/'\nexpect = 200", 'unknown key "healthcheck.expect"', 3],
    [
      "[[volumes]]\ntarget = '/a'\n[[volumes]]\ntarget = '/b'\nsizee = '1G'",
      'unknown key "volumes[1].sizee"',
      5,
    ],
    ["[test]\n[[test.validations]]\npath = '/'\nbody = 'x'", 'unknown key "test.validations[0].body"', 4],
    ["[docker]\nport = 80\nimage = 'x'", 'unknown key "docker.image"', 3],
  ])("rejects unknown keys in known sections (%#)", (text, message, line) => {
    const err = expectUsageError(() => parseHop3Toml(text));
    expect(err.message).toBe(`hop3.toml:${line}: ${message}`);
  });

  it.each([
    ["[build]\npackages = 'libpq'", "build.packages: expected a list, got a string", 2],
    ["[run]\nstart = 42", "run.start: expected a string, got a number", 2],
    ["[run]\nbefore-run = [1, 2]", "run.before-run: expected a command (string) or a list of commands", 2],
    ["[limits]\ncpu = 'two'", "limits.cpu: expected a number, got a string", 2],
    ["[limits]\nprocesses = 1.5", "limits.processes: expected a whole number", 2],
    ["port = 70000", "port: must be at most 65535", 1],
    ["[port]\nweb = '80'", "port: expected a port number (1-65535) or a table with `web = N`", 1],
    [
      "[[ports]]\nnumber = 22\nprotocol = 'sctp'",
      'ports[0].protocol: expected one of "tcp", "udp", got "sctp"',
      3,
    ],
    ["[build]\nbuilder = 'heroku'", 'build.builder: expected one of "auto"', 2],
    [
      "[[addons]]\ntype = 'mongodb'",
      'addons[0].type: expected one of "postgres", "mysql", "mariadb", "redis", "s3"',
      2,
    ],
    ["[[addons]]\nname = 'db'", 'addons[0]: missing required key "type" (one of "postgres" | "mysql"', 1],
    ["[[volumes]]\ntarget = 'data'", "volumes[0].target: must be an absolute path", 2],
    ["[metadata]\ntags = 'a'", "metadata.tags: expected a list, got a string", 2],
    ["[healthcheck]\nretries = -1", "healthcheck.retries: must be at least 0", 2],
    ["[healthcheck]\ninterval = 'soon'", "healthcheck.interval: expected a duration", 2],
    ["domains = ['a.com']", "domains: expected a table, got a list", 1],
    ["[domains]\nlist = ['Example.COM']", "domains.list[0]: expected a lowercase hostname", 2],
    ["[admin]\npassword = 5", "admin.password: expected a string or { generate", 2],
    [
      "[test]\n[[test.validations]]\npath = '/'\nstatus = 'ok'",
      "test.validations[0].status: expected a number",
      4,
    ],
  ])("rejects wrong types (%#)", (text, message, line) => {
    const err = expectUsageError(() => parseHop3Toml(text));
    expect(err.message).toContain(`hop3.toml:${line}: ${message}`);
  });

  it("requires healthcheck paths to start with /", () => {
    const err = expectUsageError(() => parseHop3Toml('[healthcheck]\npath = "healthz"'));
    expect(err.message).toBe('hop3.toml:2: healthcheck.path: must start with "/"');
  });

  it("rejects the nix builder clearly", () => {
    const err = expectUsageError(() => parseHop3Toml('[build]\nbuilder = "nix"'));
    expect(err.message).toContain("hop3.toml:2: ");
    expect(err.message).toContain("the nix builder is not supported");
  });

  it('requires "_" to be alone in domains.list', () => {
    expect(parseHop3Toml('[domains]\nlist = ["_"]').config.domains?.list).toEqual(["_"]);
    const err = expectUsageError(() => parseHop3Toml('[domains]\nlist = ["_", "a.com"]'));
    expect(err.message).toBe('hop3.toml:2: domains.list: "_" (catch-all) must be the only entry');
  });

  it("validates metadata.id as an app name, with its line", () => {
    const err = expectUsageError(() => parseHop3Toml('\n[metadata]\ntitle = "x"\nid = "My_App"'));
    expect(err.message).toContain('hop3.toml:4: metadata.id "My_App" is not a valid app name');
  });

  it("rejects reserved or malformed worker names", () => {
    expect(expectUsageError(() => parseHop3Toml('[run.workers]\nweb = "x"')).message).toContain(
      'hop3.toml:2: run.workers.web: "web" has a special role',
    );
    expect(expectUsageError(() => parseHop3Toml('[run]\nworkers = { "a b" = "x" }')).message).toContain(
      'hop3.toml:2: run.workers: invalid process type "a b"',
    );
  });

  it("checks [env] entries", () => {
    const text = [
      "[env]", // 1
      '_policy = "always"', // 2
      'TOKEN = { generate = "md5" }', // 3
      'SHORT = { generate = "hex", length = 4 }', // 4
      'REF = { from = "db" }', // 5
      "LIST = [1, 2]", // 6
      '"BAD-NAME" = "x"', // 7
      "[env.computed]", // 8
      "URL = 42", // 9
    ].join("\n");
    const err = expectUsageError(() => parseHop3Toml(text));
    const lines = err.message.split("\n");
    expect(lines).toEqual([
      'hop3.toml:2: env._policy: expected "keep-existing" or "override", got "always"',
      expect.stringMatching(
        /^hop3\.toml:3: env\.TOKEN\.generate: expected one of "hex", "base64", "urlsafe", "password", "uuid"/,
      ),
      "hop3.toml:4: env.SHORT.length: must be at least 8",
      'hop3.toml:5: env.REF: an addon reference needs from = "<addon>" and key = "<VARIABLE>"',
      expect.stringMatching(/^hop3\.toml:6: env\.LIST: expected a string, number, boolean.*got a list$/),
      'hop3.toml:7: env.BAD-NAME: invalid variable name: use letters, digits and "_", not starting with a digit',
      'hop3.toml:9: env.computed.URL: expected a string template like "${VAR}", got a number',
    ]);
  });

  it("reports every problem at once, in line order", () => {
    const err = expectUsageError(() => parseHop3Toml("[zzz]\n[build]\nfoo = 1\n[run]\nstart = 1\n"));
    expect(err.message.split("\n")).toEqual([
      expect.stringMatching(/^hop3\.toml:1: unknown section \[zzz\]/),
      'hop3.toml:3: unknown key "build.foo"',
      "hop3.toml:5: run.start: expected a string, got a number",
    ]);
  });
});

describe("parseHop3Toml: known but unsupported sections", () => {
  it.each(["waf", "nix", "cli", "probe"])("warns about [%s] and ignores it", (section) => {
    const { config, warnings } = parseHop3Toml(`port = 80\n\n[${section}]\nanything = "goes"\n`);
    expect(warnings).toEqual([`hop3.toml:3: [${section}] is not supported yet, ignored`]);
    expect(config).toEqual({ port: 80 });
  });

  it("warns once about [contexts.*]", () => {
    const { warnings } = parseHop3Toml("[contexts.prod]\nx = 1\n[contexts.staging]\nx = 2\n");
    expect(warnings).toEqual(["hop3.toml:1: [contexts] is not supported yet, ignored"]);
  });
});

describe("locateKeys", () => {
  it("finds tables, arrays of tables, dotted and quoted keys, skipping multi-line strings", () => {
    const text = [
      "[build]", // 1
      'before-build = """', // 2
      "fake = 1", // 3
      '"""', // 4
      '"after-build" = "x"', // 5
      "[[addons]]", // 6
      'type = "redis"', // 7
      "[[addons]]", // 8
      'type = "postgres"', // 9
      "env.FOO = 1", // 10
    ].join("\n");
    const lines = locateKeys(text);
    expect(lines.get("build")).toBe(1);
    expect(lines.get("build.before-build")).toBe(2);
    expect(lines.has("build.fake")).toBe(false);
    expect(lines.get("build.after-build")).toBe(5);
    expect(lines.get("addons.0.type")).toBe(7);
    expect(lines.get("addons.1")).toBe(8);
    expect(lines.get("addons.1.type")).toBe(9);
    expect(lines.get("addons.1.env.FOO")).toBe(10);
    expect(lineOf(text, "fake")).toBe(3);
  });
});

describe("parseHop3Toml: accepted but not acted on", () => {
  it("warns about [[ports]] (its source restricts no one), [backup] and [test], naming the line", () => {
    const text =
      'port = 80\n\n[[ports]]\nnumber = 2222\nsource = "10.0.0.0/8"\n\n[backup]\npaths = ["/data"]\n\n[test]\n';
    const { warnings } = parseHop3Toml(text);
    expect(warnings).toEqual([
      "hop3.toml:3: [[ports]] is not acted on yet, ignored: no extra port is published, and `source` restricts no one",
      "hop3.toml:7: [backup] is not acted on yet, ignored: Hop3 makes no backups of app data yet",
      "hop3.toml:10: [test] is not acted on yet, ignored: deploys run no validations; the health check is [healthcheck]",
    ]);
  });

  it("warns that [run] healthcheck is only a path, and says nothing for one that is", () => {
    expect(parseHop3Toml('[run]\nhealthcheck = "curl -f localhost"\n').warnings).toEqual([
      'hop3.toml:2: run.healthcheck is used only as a path ("/health"); a command is ignored: use [healthcheck] path',
    ]);
    expect(parseHop3Toml('[run]\nhealthcheck = "/up"\n').warnings).toEqual([]);
  });
});

describe("parseHop3Toml: [env] values the runtime cannot carry", () => {
  it("refuses control characters in [env], [env.computed] and [admin], naming the key, line and character", () => {
    const err = expectUsageError(() =>
      parseHop3Toml(
        '[env]\nOK = "fine"\nPEM = "a\\nb"\n\n[env.computed]\nURL = "x\\u0000${OK}"\n\n[admin]\nusername = "r\\u001boot"\n',
      ),
    );
    expect(err.message).toContain("hop3.toml:3: env.PEM contains a line feed (U+000A) at character 2");
    expect(err.message).toContain(
      "hop3.toml:6: env.computed.URL contains a NUL byte (U+0000) at character 2",
    );
    expect(err.message).toContain("hop3.toml:9: admin.username contains an escape character (U+001B)");
  });

  it("keeps $, backslashes, quotes, % and spaces as they are", () => {
    const { config } = parseHop3Toml('[env]\nA = \'$HOME a\\b "q" %h  \'\nTAB = "a\\tb"\n');
    expect(config.env?.values).toEqual({ A: '$HOME a\\b "q" %h  ', TAB: "a\tb" });
  });
});
