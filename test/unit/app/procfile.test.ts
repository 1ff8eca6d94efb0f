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
    ["cron: * * * * python x.py", "has 4 schedule fields", "missing the day of week (0-7 or sun-sat) field"],
    ["cron: 0 0 * * mo ./x", "has 4 schedule fields", "day of week"],
    ["cron: */5 python x.py", "has 1 schedule field", "missing the hour (0-23), day of month (1-31),"],
    ["cron: * * * * *", "has a schedule (* * * * *) but no command", ""],
    ["cron: * * * * *   # every minute", "but no command", ""],
    ["cron: 0 0 * * * 5 x", "has six schedule fields", "no seconds or year field"],
    ["cron: 61 * * * * x", 'invalid minute field "61"', "allowed 0-59"],
    ["cron: 60 * * * * x", 'invalid minute field "60"', "allowed 0-59"],
    ["cron: * 24 * * * x", 'invalid hour field "24"', "allowed 0-23"],
    ["cron: * * 0 * * x", 'invalid day of month field "0"', "allowed 1-31"],
    ["cron: * * * 13 * x", 'invalid month field "13"', "allowed 1-12 or jan-dec"],
    ["cron: * * * * 8 x", 'invalid day of week field "8"', "allowed 0-7 or sun-sat"],
    ["cron: */0 * * * * x", 'invalid minute field "*/0"', "a step of 1 or more"],
    ["cron: 5-1 * * * * x", 'invalid minute field "5-1"', ""],
    ["cron: 1,,2 * * * * x", 'invalid minute field "1,,2"', ""],
    ["cron-sync: @dayly run.sh", 'unknown schedule macro "@dayly"', "@daily"],
    ["crontab: @reboot run.sh", "@reboot is not a schedule", ""],
    ["cron: @hourly", "has a schedule (@hourly) but no command", ""],
  ])("rejects the almost-right cron entry %j, naming the line and the field", (line, message, more) => {
    const err = expectUsageError(() => parseProcfile(`web: x\n${line}`));
    expect(err.message).toMatch(/^Procfile:2: cron(-sync|tab)? entry "cron(-sync|tab)?"/);
    expect(err.message).toContain(message);
    expect(err.message).toContain(more);
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

describe("cron* entries: a schedule makes a job, anything else a process (Heroku, Dokku)", () => {
  it.each([
    ["cron: python3 -u worker.py", "python3 -u worker.py"],
    ["cron-sync: bundle exec rake sync:loop", "bundle exec rake sync:loop"],
    ["crontab: ./bin/supercronic crontab", "./bin/supercronic crontab"],
    ["cron: /usr/local/bin/worker --every 5", "/usr/local/bin/worker --every 5"],
    ["cron: node worker.js   # runs the queue", "node worker.js"],
  ])("%j is an ordinary process, with a note for the deploy log", (line, command) => {
    const types = classifyProcesses(parseProcfile(`web: x\n${line}\n`).entries);
    const type = line.slice(0, line.indexOf(":"));
    expect(types.cron).toEqual([]);
    expect(types.workers).toEqual({ [type]: command });
    expect(types.notes).toEqual([
      `Procfile:2: "${type}" has no schedule, so it runs as an ordinary process (a cron job's command starts with five schedule fields or a macro such as @daily)`,
    ]);
  });

  it.each([
    ["@yearly", "0 0 1 1 *"],
    ["@annually", "0 0 1 1 *"],
    ["@monthly", "0 0 1 * *"],
    ["@weekly", "0 0 * * 0"],
    ["@daily", "0 0 * * *"],
    ["@midnight", "0 0 * * *"],
    ["@hourly", "0 * * * *"],
    ["@DAILY", "0 0 * * *"],
  ])("the macro %s is the schedule %j", (macro, schedule) => {
    const types = classifyProcesses(parseProcfile(`cronjob: ${macro}   ./backup.sh --all`).entries);
    expect(types.cron).toEqual([{ name: "cronjob", schedule, command: "./backup.sh --all" }]);
    expect(types.workers).toEqual({});
    expect(types.notes).toBeUndefined();
  });

  it("a schedule followed by an inline comment keeps the command and drops the comment", () => {
    const types = classifyProcesses(parseProcfile("cron: 0 3 * * 1-5 ./backup.sh # nightly").entries);
    expect(types.cron).toEqual([{ name: "cron", schedule: "0 3 * * 1-5", command: "./backup.sh" }]);
  });

  it("names in the last two fields are still a schedule, whatever their case", () => {
    const types = classifyProcesses(parseProcfile("cron: 0 8 * JAN,Jul MON-FRI ./report").entries);
    expect(types.cron).toEqual([{ name: "cron", schedule: "0 8 * JAN,Jul MON-FRI", command: "./report" }]);
  });

  it("a cron-named process can be scaled like any worker (it is not a reserved name in the Procfile)", () => {
    const types = classifyProcesses(parseProcfile("cron: python3 -u clock.py\ncron2: */5 * * * * x").entries);
    expect(Object.keys(types.workers)).toEqual(["cron"]);
    expect(types.cron.map((c) => c.name)).toEqual(["cron2"]);
  });
});

describe("what Heroku takes, Hop3 takes", () => {
  it("a UTF-8 BOM, CRLF line ends, blank and comment lines, inline comments and surrounding spaces", () => {
    const text =
      "\uFEFF# Procfile written on Windows\r\n\r\n   web:   node server.js --port $PORT   # the site  \r\n" +
      "\t# indented comment\r\nworker_2-b: node worker.js\r\n   \r\n";
    const { entries } = parseProcfile(text);
    expect(entries).toEqual([
      { type: "web", command: "node server.js --port $PORT", line: 3 },
      { type: "worker_2-b", command: "node worker.js", line: 5 },
    ]);
  });

  it("the BOM does not hide the first process type", () => {
    expect(parseProcfile("\uFEFFweb: a").entries[0]!.type).toBe("web");
  });

  it("old Mac CR-only line ends", () => {
    expect(parseProcfile("web: a\rworker: b\r").entries.map((e) => [e.type, e.line])).toEqual([
      ["web", 1],
      ["worker", 2],
    ]);
  });

  it("keeps a # that the shell would not read as a comment (inside a word or quotes)", () => {
    const { entries } = parseProcfile(`web: curl http://x/#top && echo "# not a comment" # but this is`);
    expect(entries[0]!.command).toBe(`curl http://x/#top && echo "# not a comment"`);
  });

  it("accepts the process names Heroku accepts: letters, digits, _ and -", () => {
    const types = classifyProcesses(parseProcfile("Web2: a\nqueue-high_1: b\n9: c").entries);
    expect(types.workers).toEqual({ Web2: "a", "queue-high_1": "b", "9": "c" });
  });

  it("no space after the colon", () => {
    expect(parseProcfile("web:node app.js").entries[0]!.command).toBe("node app.js");
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
