import type { AddonPlugin, Credentials } from "./plugin.js";
import { addonPassword, identifierFrom } from "./secrets.js";

/** Extensions shipped with Debian's postgresql-15 (contrib) that a database owner may enable. */
export const POSTGRES_EXTENSIONS = [
  "btree_gin",
  "btree_gist",
  "citext",
  "cube",
  "earthdistance",
  "fuzzystrmatch",
  "hstore",
  "intarray",
  "isn",
  "ltree",
  "pg_trgm",
  "pgcrypto",
  "tablefunc",
  "unaccent",
  "uuid-ossp",
] as const;

const pgEnv = (c: Credentials) => ({
  PGHOST: "127.0.0.1",
  PGPORT: "5432",
  PGUSER: c.user!,
  PGPASSWORD: c.password!,
  PGDATABASE: c.database!,
});

export const postgresPlugin: AddonPlugin = {
  type: "postgres",
  aliases: ["postgresql", "pg"],
  title: "PostgreSQL",
  major: "15",
  imageDir: "postgres",
  officialImage: (major) => `docker.io/library/postgres:${major}`,
  port: 5432,
  dataDir: "/var/lib/postgresql/data",
  memoryBytes: 512 * 1024 * 1024,
  variableNames: ["DATABASE_URL", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGHOST", "PGPORT"],
  extensions: POSTGRES_EXTENSIONS,
  fileArgs: { dump: (path) => ["--file", path], restore: (path) => [path] },

  generateCredentials: (name) => ({
    user: identifierFrom(name),
    password: addonPassword(),
    database: identifierFrom(name),
  }),
  containerEnv: (c) => ({ POSTGRES_USER: c.user!, POSTGRES_PASSWORD: c.password!, POSTGRES_DB: c.database! }),
  health: (c) => ({ cmd: ["pg_isready", "-q", "-h", "127.0.0.1", "-U", c.user!, "-d", c.database!] }),
  variables: (c, host) => ({
    DATABASE_URL: `postgres://${c.user}:${c.password}@${host}:5432/${c.database}`,
    PGDATABASE: c.database!,
    PGUSER: c.user!,
    PGPASSWORD: c.password!,
    PGHOST: host,
    PGPORT: "5432",
  }),
  client(action, c, args) {
    const env = pgEnv(c);
    switch (action) {
      case "cli":
        return { cmd: ["psql", ...args], env };
      // custom format: compressed, and pg_restore can restore it selectively
      case "dump":
        return { cmd: ["pg_dump", "--format=custom", "--no-owner", "--no-acl", ...args], env };
      case "restore":
        return {
          cmd: [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-acl",
            "--exit-on-error",
            "-d",
            c.database!,
            // the dump: a file (a backup's restore), or stdin without one (pg:restore)
            ...args,
          ],
          env,
        };
      case "info":
        return {
          cmd: [
            "psql",
            "-X",
            "-A",
            "-t",
            "-F",
            "\t",
            "-c",
            "SELECT 'version', current_setting('server_version') UNION ALL " +
              "SELECT 'size', pg_size_pretty(pg_database_size(current_database())) UNION ALL " +
              "SELECT 'tables', count(*)::text FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog','information_schema') UNION ALL " +
              "SELECT 'connections', count(*)::text FROM pg_stat_activity WHERE datname = current_database() UNION ALL " +
              "SELECT 'extensions', coalesce(string_agg(extname, ',' ORDER BY extname), '') FROM pg_extension WHERE extname <> 'plpgsql'",
          ],
          env,
        };
    }
  },
  enableExtensions: (c, names) => ({
    // as the superuser the addon's user is (initdb -U): contrib extensions need no other role
    cmd: [
      "psql",
      "-X",
      "-v",
      "ON_ERROR_STOP=1",
      "-c",
      names.map((n) => `CREATE EXTENSION IF NOT EXISTS "${n}";`).join(" "),
    ],
    env: pgEnv(c),
  }),
};
