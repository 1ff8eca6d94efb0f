import { describe, expect, it } from "vitest";
import {
  editDistance,
  matchCommand,
  optionIndex,
  parseCommandLine,
  suggestCommands,
} from "../../../src/cli/args.js";
import { COMMANDS } from "../../../src/cli/commands.js";
import { Hop3Error } from "../../../src/util/errors.js";

const parse = (...argv: string[]) => parseCommandLine(COMMANDS, argv);

function usageErrorOf(fn: () => unknown): Hop3Error {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Hop3Error);
    expect((err as Hop3Error).exitCode).toBe(2);
    return err as Hop3Error;
  }
  throw new Error("expected a usage error");
}

describe("command forms", () => {
  it("treats colon and space forms as the same command", () => {
    for (const argv of [
      ["config:set", "A=1"],
      ["config", "set", "A=1"],
      ["env", "set", "A=1"],
      ["env:set", "A=1"],
    ]) {
      const p = parse(...argv);
      expect(p.command?.name, argv.join(" ")).toBe("config:set");
      expect(p.args).toEqual(["A=1"]);
    }
  });

  it("maps Hop3 and Heroku aliases to their commands", () => {
    expect(parse("app", "list").command?.name).toBe("apps");
    expect(parse("apps").command?.name).toBe("apps");
    expect(parse("apps:create", "x").command?.name).toBe("create");
    expect(parse("create", "x").command?.name).toBe("create");
    expect(parse("env", "show").command?.name).toBe("config");
    expect(parse("env", "get", "K").command?.name).toBe("config:get");
    expect(parse("env", "unset", "K").command?.name).toBe("config:unset");
    expect(parse("ps", "scale", "web=2").command?.name).toBe("ps:scale");
    expect(parse("ps:scale", "web=2").command?.name).toBe("ps:scale");
    expect(parse("app", "restart").command?.name).toBe("restart");
  });

  it("prefers the longest form and leaves the rest as arguments", () => {
    const p = parse("logs", "web");
    expect(p.command?.name).toBe("logs");
    expect(p.args).toEqual(["web"]);
    expect(parse("config").command?.name).toBe("config");
    expect(parse("config", "get", "K").args).toEqual(["K"]);
  });

  it("does not split a colon form into a shorter command plus an argument", () => {
    expect(matchCommand(COMMANDS, ["config:bogus"])).toBeUndefined();
  });
});

describe("flags", () => {
  it("accepts global flags before, between and after the command words", () => {
    for (const argv of [
      ["--app", "web", "config", "set", "A=1"],
      ["config", "--app", "web", "set", "A=1"],
      ["config", "set", "A=1", "--app=web"],
      ["-a", "web", "config:set", "A=1"],
    ]) {
      const p = parse(...argv);
      expect(p.command?.name, argv.join(" ")).toBe("config:set");
      expect(p.options.app).toBe("web");
      expect(p.args).toEqual(["A=1"]);
    }
  });

  it("parses command options, glued short values and repeatable options", () => {
    const p = parse("logs", "-f", "-n50", "-p", "worker", "--json");
    expect(p.options).toMatchObject({ follow: true, num: "50", process: "worker", json: true });
    const d = parse("deploy", ".", "--env", "A=1", "-e", "B=2=3", "--image=nginx");
    expect(d.options.env).toEqual(["A=1", "B=2=3"]);
    expect(d.options.image).toBe("nginx");
    expect(d.args).toEqual(["."]);
  });

  it("keeps `-` as a positional and ends options at `--`", () => {
    expect(parse("setup:ssh", "-").args).toEqual(["-"]);
    const p = parse("config:set", "--", "--app=x");
    expect(p.args).toEqual(["--app=x"]);
    expect(p.options.app).toBeUndefined();
  });

  it("rejects unknown options, options of other commands, and missing values", () => {
    expect(usageErrorOf(() => parse("apps", "--bogus")).message).toContain("--bogus");
    expect(usageErrorOf(() => parse("apps", "--image", "x")).message).toBe("hop apps does not take --image");
    expect(usageErrorOf(() => parse("apps", "--app")).message).toContain("needs a value");
    expect(usageErrorOf(() => parse("apps", "--json=yes")).message).toContain("takes no value");
  });

  it("checks argument counts", () => {
    expect(usageErrorOf(() => parse("config:get")).message).toContain("missing argument");
    expect(usageErrorOf(() => parse("config:get", "A", "B")).message).toContain('"B"');
    expect(usageErrorOf(() => parse("apps", "extra")).hint).toBe("usage: hop apps");
  });

  it("lets --help through without checking arguments", () => {
    const p = parse("config:get", "--help");
    expect(p.command?.name).toBe("config:get");
    expect(p.options.help).toBe(true);
  });

  it("returns no command for a bare `hop` or `hop --version`", () => {
    expect(parse().command).toBeUndefined();
    expect(parse("--version").options.version).toBe(true);
  });

  it("gives every option name a single meaning across commands", () => {
    expect(() => optionIndex(COMMANDS)).not.toThrow();
    expect(optionIndex(COMMANDS).get("-a")?.name).toBe("app");
  });
});

describe("unknown commands", () => {
  it("is a usage error suggesting close matches", () => {
    const err = usageErrorOf(() => parse("conifg:set", "A=1"));
    expect(err.message).toBe('unknown command "conifg:set"');
    expect(err.hint).toContain("config:set");
    expect(usageErrorOf(() => parse("deplyo")).hint).toContain("deploy");
  });

  it("suggests nothing absurd for gibberish", () => {
    expect(suggestCommands(COMMANDS, "zzzzzzzzzzzz")).toEqual([]);
  });

  it("computes edit distances", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("same", "same")).toBe(0);
  });
});
