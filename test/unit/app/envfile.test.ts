import { describe, expect, it } from "vitest";
import { parseEnvFile } from "../../../src/app/envfile.js";
import { expectUsageError } from "./expect-usage.js";

describe("parseEnvFile", () => {
  it("reads KEY=VALUE lines with comments, blanks, export and quotes", () => {
    const text = [
      "# Piku-style defaults",
      "",
      "NODE_ENV=production",
      "export PYTHONUNBUFFERED=1",
      "  SPACED =  value with spaces  ",
      'DOUBLE="a \\"quoted\\" value\\tnext"',
      "SINGLE='literal $HOME \\n'",
      "URL=http://example.com/#anchor",
      "WITH_COMMENT=abc # trailing comment",
      'HASH_IN_QUOTES="a # b"',
      "EMPTY=",
      "EQUALS=a=b=c",
      "_UNDERSCORE=x",
    ].join("\r\n");
    expect(parseEnvFile(text)).toEqual({
      NODE_ENV: "production",
      PYTHONUNBUFFERED: "1",
      SPACED: "value with spaces",
      DOUBLE: 'a "quoted" value\tnext',
      SINGLE: "literal $HOME \\n",
      URL: "http://example.com/#anchor",
      WITH_COMMENT: "abc",
      HASH_IN_QUOTES: "a # b",
      EMPTY: "",
      EQUALS: "a=b=c",
      _UNDERSCORE: "x",
    });
  });

  it("refuses values with control characters (a \\n escape included), naming file, line, key and character", () => {
    expect(expectUsageError(() => parseEnvFile('A=1\nPEM="line1\\nline2"', "ENV")).message).toMatch(
      /^ENV:2: the value of PEM contains a line feed \(U\+000A\) at character 6/,
    );
    expect(expectUsageError(() => parseEnvFile("ESC=a\u001bb", "hop3/ENV")).message).toMatch(
      /^hop3\/ENV:1: the value of ESC contains an escape character \(U\+001B\)/,
    );
    expect(parseEnvFile("TAB=a\tb")).toEqual({ TAB: "a\tb" });
  });

  it("keeps names of Object.prototype as ordinary variables", () => {
    const env = parseEnvFile("__proto__=p\ntoString=t\n");
    expect(Object.hasOwn(env, "__proto__")).toBe(true);
    expect(env.toString).toBe("t");
  });

  it("lets a later line override an earlier one", () => {
    expect(parseEnvFile("A=1\nA=2\n")).toEqual({ A: "2" });
  });

  it.each([
    ["1BAD=x", 1, '"1BAD"'],
    ["OK=1\nBAD-KEY=x", 2, '"BAD-KEY"'],
    ["OK=1\n\nMY.KEY=x", 3, '"MY.KEY"'],
  ])("rejects a bad key in %j with its line", (text, line, quoted) => {
    const err = expectUsageError(() => parseEnvFile(text, "ENV"));
    expect(err.message).toContain(`ENV:${line}:`);
    expect(err.message).toContain(quoted);
    expect(err.message).toContain("invalid variable name");
  });

  it("rejects a line without '=' and unterminated quotes, naming file and line", () => {
    expect(expectUsageError(() => parseEnvFile("A=1\nJUSTTEXT", "hop3/ENV")).message).toMatch(
      /^hop3\/ENV:2: expected KEY=VALUE/,
    );
    expect(expectUsageError(() => parseEnvFile('A="open')).message).toMatch(
      /^ENV:1: unterminated double quote.*A/,
    );
    expect(expectUsageError(() => parseEnvFile("A='x' junk")).message).toMatch(/^ENV:1: unexpected text/);
  });
});
