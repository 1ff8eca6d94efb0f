import { describe, expect, it } from "vitest";
import { classifyProcesses, parseProcfile, stripInlineComment } from "../../../src/app/procfile.js";
import { expectUsageError } from "./expect-usage.js";

const PIKU_PROCFILE = `# A Piku app, as found in the wild
wsgi: app:application
worker: celery -A tasks worker --loglevel=info   # background jobs
static: /:public,/docs:site/_build
release: python manage.py migrate --noinput
cron1: */5 * * * * python manage.py clearsessions
cron-nightly: 0 3 * * 1-5 python manage.py backup --label="#nightly"
prebuild: npm ci
postbuild: python manage.py collectstatic --noinput
preflight: ./bin/check-env
prerun: ./bin/wait-for-db
Scheduler_2: python scheduler.py
`;

describe("parseProcfile", () => {
  it("parses a realistic Piku Procfile into roles", () => {
    const procfile = parseProcfile(PIKU_PROCFILE);
    expect(procfile.entries.map((e) => [e.type, e.line])).toEqual([
      ["wsgi", 2],
      ["worker", 3],
      ["static", 4],
      ["release", 5],
      ["cron1", 6],
      ["cron-nightly", 7],
      ["prebuild", 8],
      ["postbuild", 9],
      ["preflight", 10],
      ["prerun", 11],
      ["Scheduler_2", 12],
    ]);
    const types = classifyProcesses(procfile.entries);
    expect(types).toEqual({
      wsgi: "app:application",
      static: [
        { prefix: "/", path: "public" },
        { prefix: "/docs", path: "site/_build" },
      ],
      release: "python manage.py migrate --noinput",
      hooks: {
        prebuild: "npm ci",
        postbuild: "python manage.py collectstatic --noinput",
        preflight: "./bin/check-env",
        prerun: "./bin/wait-for-db",
      },
      cron: [
        { name: "cron1", schedule: "*/5 * * * *", command: "python manage.py clearsessions" },
        {
          name: "cron-nightly",
          schedule: "0 3 * * 1-5",
          command: 'python manage.py backup --label="#nightly"',
        },
      ],
      workers: { worker: "celery -A tasks worker --loglevel=info", Scheduler_2: "python scheduler.py" },
    });
  });

  it("handles CRLF, blank lines, indentation and a web process", () => {
    const types = classifyProcesses(
      parseProcfile("\r\n  web:   bundle exec puma -p $PORT\r\n\r\n# comment\r\nworker: sidekiq\r\n").entries,
    );
    expect(types.web).toBe("bundle exec puma -p $PORT");
    expect(types.workers).toEqual({ worker: "sidekiq" });
    expect(types.cron).toEqual([]);
  });

  it("keeps colons after the first one in the command", () => {
    const { entries } = parseProcfile("web: gunicorn app:app --bind 0.0.0.0:$PORT");
    expect(entries[0]).toEqual({ type: "web", command: "gunicorn app:app --bind 0.0.0.0:$PORT", line: 1 });
  });

  it("accepts Hop3 `static: public` as a mapping of /", () => {
    expect(classifyProcesses(parseProcfile("static: ./public/").entries).static).toEqual([
      { prefix: "/", path: "public" },
    ]);
  });

  it("accepts month and weekday names and lists in cron schedules", () => {
    const types = classifyProcesses(parseProcfile("cron: 0,30 8-18/2 1 jan-jun mon-fri ./report.sh").entries);
    expect(types.cron).toEqual([
      { name: "cron", schedule: "0,30 8-18/2 1 jan-jun mon-fri", command: "./report.sh" },
    ]);
  });
});

describe("parseProcfile errors", () => {
  it.each([
    ["<<<<<<< HEAD", "<<<<<<<"],
    ["=======", "======="],
    [">>>>>>> feature", ">>>>>>>"],
  ])("rejects the merge-conflict marker %j and says to resolve it", (marker, shown) => {
    const err = expectUsageError(() => parseProcfile(`web: a\n${marker}\nweb: b\n`, "hop3/Procfile"));
    expect(err.message).toContain("hop3/Procfile:2:");
    expect(err.message).toContain(`merge conflict marker "${shown}"`);
    expect(err.hint).toContain("resolve the conflict");
  });

  it("rejects a line without name: command", () => {
    const err = expectUsageError(() => parseProcfile("web: ok\npython app.py\n"));
    expect(err.message).toMatch(/^Procfile:2: expected "name: command", got "python app.py"/);
  });

  it.each([
    ["we b: x", '"we b"'],
    ["web.1: x", '"web.1"'],
    [": x", '""'],
    ["wéb: x", '"wéb"'],
  ])("rejects the invalid type name in %j", (line, quoted) => {
    const err = expectUsageError(() => parseProcfile(`# c\n${line}`));
    expect(err.message).toContain("Procfile:2: invalid process type");
    expect(err.message).toContain(quoted);
  });

  it("rejects a duplicate type naming both lines", () => {
    const err = expectUsageError(() => parseProcfile("worker: a\nweb: b\nworker: c\n"));
    expect(err.message).toBe('Procfile:3: duplicate process type "worker" (already declared on line 1)');
  });

  it("rejects an empty command, also when only a comment follows", () => {
    expect(expectUsageError(() => parseProcfile("web:")).message).toBe(
      'Procfile:1: process type "web" has an empty command',
    );
    expect(expectUsageError(() => parseProcfile("x: ok\nworker:   # nothing")).message).toContain(
      "Procfile:2:",
    );
  });

  it("rejects wsgi together with web", () => {
    const err = expectUsageError(() => parseProcfile("web: node server.js\nworker: x\nwsgi: app:app\n"));
    expect(err.message).toBe('Procfile:3: "wsgi" cannot be used together with "web" (line 1)');
  });

  it.each([
    ["cron: * * * * python x.py", 'invalid day of week field "python"'],
    ["cron: * * * * *", "needs five schedule fields and a command"],
    ["cron: 60 * * * * x", 'invalid minute field "60"'],
    ["cron: * 24 * * * x", 'invalid hour field "24"'],
    ["cron: * * 0 * * x", 'invalid day of month field "0"'],
    ["cron: * * * 13 * x", 'invalid month field "13"'],
    ["cron: * * * * 8 x", 'invalid day of week field "8"'],
    ["cron: */0 * * * * x", 'invalid minute field "*/0"'],
    ["cron: 5-1 * * * * x", 'invalid minute field "5-1"'],
    ["cronjob: @daily run.sh", "needs five schedule fields"],
  ])("rejects the cron entry %j", (line, message) => {
    const err = expectUsageError(() => parseProcfile(`web: x\n${line}`));
    expect(err.message).toContain("Procfile:2:");
    expect(err.message).toContain(message);
  });

  it.each([
    ["static: /:/etc", "must be a path inside the app"],
    ["static: ../secrets", "must be a path inside the app"],
    ["static: /:public,/x:../../etc", "must be a path inside the app"],
    ["static: docs:site", "invalid static mapping"],
    ["static: /:public,/:other", 'prefix "/" is mapped twice'],
  ])("rejects the static mapping %j", (line, message) => {
    const err = expectUsageError(() => parseProcfile(`web: x\n${line}`));
    expect(err.message).toContain("Procfile:2:");
    expect(err.message).toContain(message);
  });
});

describe("stripInlineComment", () => {
  it.each([
    ["cmd # comment", "cmd "],
    ["cmd#notcomment", "cmd#notcomment"],
    ['echo "a # b" # c', 'echo "a # b" '],
    ["echo 'a # b'", "echo 'a # b'"],
    ["echo \\# literal", "echo \\# literal"],
    ['echo "esc \\" # still quoted"', 'echo "esc \\" # still quoted"'],
  ])("%j -> %j", (input, output) => {
    expect(stripInlineComment(input)).toBe(output);
  });
});
