import { describe, expect, it } from "vitest";
import { parseCommandLine } from "../../../src/cli/args.js";
import { COMMANDS } from "../../../src/cli/commands.js";

describe("hop run's command line", () => {
  it("passes everything from COMMAND on to the container, options included", () => {
    const p = parseCommandLine(COMMANDS, ["run", "ls", "-la", "--app", "x"]);
    expect(p.command?.name).toBe("run");
    expect(p.args).toEqual(["ls", "-la", "--app", "x"]);
    expect(p.options.app).toBeUndefined();
  });

  it("reads hop's own options before COMMAND", () => {
    const p = parseCommandLine(COMMANDS, ["-a", "myapp", "run", "-d", "--", "sleep", "5"]);
    expect(p.options).toMatchObject({ app: "myapp", detach: true });
    expect(p.args).toEqual(["sleep", "5"]);
    const q = parseCommandLine(COMMANDS, ["run", "--app", "myapp", "sh", "-c", "exit 3"]);
    expect(q.options.app).toBe("myapp");
    expect(q.args).toEqual(["sh", "-c", "exit 3"]);
  });

  it("other commands still parse options anywhere", () => {
    const p = parseCommandLine(COMMANDS, ["logs", "web", "-n", "5"]);
    expect(p.options.num).toBe("5");
    expect(p.args).toEqual(["web"]);
  });

  it("needs a command", () => {
    expect(() => parseCommandLine(COMMANDS, ["run"])).toThrow(/missing argument/);
  });
});
