import { describe, expect, it } from "vitest";
import { parseHop3Toml } from "../../../src/app/hop3toml.js";
import { classifyProcesses, parseProcfile } from "../../../src/app/procfile.js";
import { type AppSpec, mergeAppSpec } from "../../../src/app/spec.js";
import {
  DEFAULT_START_TIMEOUT,
  DEFAULT_WEB_PORT,
  type ImageFacts,
  imageFacts,
  pickWebPort,
  releaseSpecFromApp,
  releaseSpecFromImage,
} from "../../../src/deploy/release-spec.js";
import { Hop3Error } from "../../../src/util/errors.js";

function appSpec(files: { toml?: string; procfile?: string; env?: Record<string, string> }): AppSpec {
  return mergeAppSpec({
    toml: files.toml ? parseHop3Toml(files.toml).config : {},
    ...(files.procfile !== undefined
      ? { procfile: classifyProcesses(parseProcfile(files.procfile).entries) }
      : {}),
    ...(files.env ? { envDefaults: files.env } : {}),
  });
}

const withCmd: ImageFacts = { exposedPorts: [], hasCmd: true };
const noCmd: ImageFacts = { exposedPorts: [], hasCmd: false };

function thrown(fn: () => unknown): Hop3Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Hop3Error);
    return err as Hop3Error;
  }
  throw new Error("expected an error, nothing was thrown");
}

describe("before-run for processes that run the image's own command", () => {
  const image: ImageFacts = imageFacts({
    Config: { Entrypoint: ["/docker-entrypoint.sh"], Cmd: ["nginx", "-g", "daemon off;"] },
  });

  it("reads ENTRYPOINT then CMD as the command the runtime would run", () => {
    expect(image.command).toEqual(["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]);
    expect(imageFacts({ Config: { Entrypoint: "/run.sh" } }).command).toEqual(["/run.sh"]);
  });

  it("records the image's command with [run].before-run when the web process is the image's", () => {
    const rs = releaseSpecFromApp(appSpec({ toml: '[run]\nbefore-run = "echo ready > /tmp/r"\n' }), image);
    expect(rs.processes).toEqual({ web: null });
    expect(rs.prerun).toEqual(["echo ready > /tmp/r"]);
    expect(rs.imageCommand).toEqual(["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]);
  });

  it("and with a Procfile prerun: beside a worker", () => {
    const rs = releaseSpecFromApp(appSpec({ procfile: "prerun: ./wait-db\nworker: ./work\n" }), image);
    expect(rs.processes).toEqual({ worker: "./work", web: null });
    expect(rs.imageCommand).toEqual(image.command);
  });

  it("records nothing when no process runs the image's command, or there is no hook", () => {
    expect(
      releaseSpecFromApp(appSpec({ procfile: "prerun: x\nweb: ./serve\n" }), image).imageCommand,
    ).toBeUndefined();
    expect(releaseSpecFromApp(appSpec({}), image).imageCommand).toBeUndefined();
  });
});

describe("imageFacts", () => {
  it("reads TCP ports (with or without /tcp), ignores UDP and junk, sorts them", () => {
    const facts = imageFacts({
      Config: {
        ExposedPorts: {
          "8080/tcp": {},
          "53/udp": {},
          "3000": {},
          "abc/tcp": {},
          "0/tcp": {},
          "9000/sctp": {},
        },
        Cmd: ["node", "server.js"],
      },
    });
    expect(facts).toEqual({ exposedPorts: [3000, 8080], hasCmd: true, command: ["node", "server.js"] });
  });

  it("counts an Entrypoint alone (array or string) as something to run", () => {
    expect(imageFacts({ Config: { Entrypoint: ["/app/server"], Cmd: null } }).hasCmd).toBe(true);
    expect(imageFacts({ Config: { Entrypoint: "/app/server" } }).hasCmd).toBe(true);
  });

  it("finds nothing to run in an image without CMD or ENTRYPOINT", () => {
    expect(imageFacts({ Config: { Cmd: [], Entrypoint: [] } })).toEqual({ exposedPorts: [], hasCmd: false });
    expect(imageFacts({ Config: { Cmd: null, Entrypoint: null } }).hasCmd).toBe(false);
    expect(imageFacts({ Config: { Entrypoint: "" } }).hasCmd).toBe(false);
    expect(imageFacts({})).toEqual({ exposedPorts: [], hasCmd: false });
  });
});

describe("pickWebPort", () => {
  const image: ImageFacts = { exposedPorts: [3000, 8080], hasCmd: true };
  it("prefers hop3.toml, then PORT config, then the first exposed port, then 5000", () => {
    expect(pickWebPort(9000, "7000", image)).toBe(9000);
    expect(pickWebPort(undefined, "7000", image)).toBe(7000);
    expect(pickWebPort(undefined, undefined, image)).toBe(3000);
    expect(pickWebPort(undefined, undefined, withCmd)).toBe(DEFAULT_WEB_PORT);
    expect(DEFAULT_WEB_PORT).toBe(5000);
  });

  it("ignores a PORT config var that is not a valid port", () => {
    for (const bad of ["", "abc", "0", "-1", "65536", "80.5", "8080x"]) {
      expect(pickWebPort(undefined, bad, image), bad).toBe(3000);
    }
    expect(pickWebPort(undefined, "65535", image)).toBe(65535);
  });
});

describe("releaseSpecFromImage", () => {
  it("runs the image CMD as web on the exposed or configured port", () => {
    expect(releaseSpecFromImage({ exposedPorts: [8080], hasCmd: true })).toEqual({
      processes: { web: null },
      webPort: 8080,
      startTimeout: DEFAULT_START_TIMEOUT,
      domains: [],
      envDefaults: {},
    });
    expect(releaseSpecFromImage({ exposedPorts: [8080], hasCmd: true }, "9999").webPort).toBe(9999);
  });

  it("refuses an image with nothing to run, as a failed deploy", () => {
    const err = thrown(() => releaseSpecFromImage(noCmd));
    expect(err.kind).toBe("deployFailed");
    expect(err.message).toMatch(/no CMD or ENTRYPOINT/);
  });
});

describe("releaseSpecFromApp", () => {
  it("uses the Procfile web line and carries port, healthcheck, release, domains and ENV defaults", () => {
    const spec = appSpec({
      toml: [
        "port = 8000",
        "[run]",
        'start-timeout = "30s"',
        "[healthcheck]",
        'path = "/up"',
        'contains = "ok"',
        "[domains]",
        'list = ["shop.example.com"]',
      ].join("\n"),
      procfile: "web: ./serve\nworker: ./work\nrelease: ./migrate\n",
      env: { MODE: "prod" },
    });
    const rs = releaseSpecFromApp(spec, { exposedPorts: [3000], hasCmd: true }, "7000");
    expect(rs).toMatchObject({
      processes: { web: "./serve", worker: "./work" },
      webPort: 8000,
      healthcheck: { path: "/up", contains: "ok" },
      startTimeout: 30,
      releaseCommand: "./migrate",
      domains: ["shop.example.com"],
      envDefaults: { MODE: "prod" },
    });
  });

  it("makes the image CMD the web process when the Procfile only has workers (Dokku rule)", () => {
    const rs = releaseSpecFromApp(appSpec({ procfile: "worker: ./work\n" }), {
      exposedPorts: [8080],
      hasCmd: true,
    });
    expect(rs.processes).toEqual({ worker: "./work", web: null });
    expect(rs.webPort).toBe(8080);
    expect(rs.startTimeout).toBe(DEFAULT_START_TIMEOUT);
    expect("releaseCommand" in rs).toBe(false);
    expect("healthcheck" in rs).toBe(false);
  });

  it("runs workers only (no web, no port) when the image has no CMD", () => {
    const rs = releaseSpecFromApp(appSpec({ procfile: "worker: ./work\n" }), noCmd);
    expect(rs.processes).toEqual({ worker: "./work" });
    expect("webPort" in rs).toBe(false);
  });

  it("runs the image CMD as web with no Procfile at all", () => {
    const rs = releaseSpecFromApp(appSpec({}), withCmd, "4000");
    expect(rs.processes).toEqual({ web: null });
    expect(rs.webPort).toBe(4000);
  });

  it("fails clearly with nothing to run", () => {
    const err = thrown(() => releaseSpecFromApp(appSpec({}), noCmd));
    expect(err.kind).toBe("deployFailed");
    expect(err.message).toMatch(/nothing to run/);
    expect(err.hint).toMatch(/web:/);
  });

  it("fails clearly on a wsgi Procfile, even when the image has a CMD", () => {
    const err = thrown(() => releaseSpecFromApp(appSpec({ procfile: "wsgi: app:application\n" }), withCmd));
    expect(err.kind).toBe("deployFailed");
    expect(err.message).toMatch(/wsgi process/);
    expect(err.hint).toMatch(/Containerfile/);
  });

  it("prefers [run] start over the Procfile web line and [docker] port over exposed ports", () => {
    const spec = appSpec({
      toml: '[run]\nstart = "node index.js"\n[docker]\nport = 4567\n',
      procfile: "web: ./other\n",
    });
    const rs = releaseSpecFromApp(spec, { exposedPorts: [80], hasCmd: true });
    expect(rs.processes).toEqual({ web: "node index.js" });
    expect(rs.webPort).toBe(4567);
  });
});
