import type { AddonPlugin, Credentials } from "./plugin.js";
import { addonPassword, identifierFrom } from "./secrets.js";

// The client reads the password from MYSQL_PWD: it never appears in argv (`ps`).
const clientEnv = (c: Credentials) => ({ MYSQL_PWD: c.password! });
const connect = (c: Credentials) => ["-h", "127.0.0.1", "-P", "3306", "-u", c.user!];

export const mariadbPlugin: AddonPlugin = {
  type: "mariadb",
  aliases: ["mysql"],
  title: "MariaDB",
  major: "10.11",
  imageDir: "mariadb",
  officialImage: (major) => `docker.io/library/mariadb:${major}`,
  port: 3306,
  dataDir: "/var/lib/mysql",
  memoryBytes: 512 * 1024 * 1024,
  variableNames: [
    "DATABASE_URL",
    "MYSQL_DATABASE",
    "MYSQL_USER",
    "MYSQL_PASSWORD",
    "MYSQL_HOST",
    "MYSQL_PORT",
  ],

  generateCredentials: (name) => ({
    user: identifierFrom(name).slice(0, 32),
    password: addonPassword(),
    database: identifierFrom(name),
    rootPassword: addonPassword(),
  }),
  containerEnv: (c) => ({
    MARIADB_USER: c.user!,
    MARIADB_PASSWORD: c.password!,
    MARIADB_DATABASE: c.database!,
    MARIADB_ROOT_PASSWORD: c.rootPassword!,
  }),
  health: (c) => ({
    cmd: ["mariadb-admin", "-h", "127.0.0.1", "-u", c.user!, `--password=${c.password}`, "ping"],
    expect: "alive",
  }),
  variables: (c, host) => ({
    DATABASE_URL: `mysql://${c.user}:${c.password}@${host}:3306/${c.database}`,
    MYSQL_DATABASE: c.database!,
    MYSQL_USER: c.user!,
    MYSQL_PASSWORD: c.password!,
    MYSQL_HOST: host,
    MYSQL_PORT: "3306",
  }),
  client(action, c, args) {
    const env = clientEnv(c);
    switch (action) {
      case "cli":
        return { cmd: ["mariadb", ...connect(c), c.database!, ...args], env };
      case "dump":
        return {
          cmd: [
            "mariadb-dump",
            ...connect(c),
            "--single-transaction",
            "--routines",
            "--triggers",
            c.database!,
            ...args,
          ],
          env,
        };
      case "restore":
        return { cmd: ["mariadb", ...connect(c), c.database!], env };
      case "info":
        return {
          cmd: [
            "mariadb",
            ...connect(c),
            "-N",
            "-B",
            "-e",
            "SELECT 'version', VERSION() UNION ALL " +
              `SELECT 'size', CONCAT(ROUND(COALESCE(SUM(data_length + index_length), 0) / 1048576, 1), ' MiB') FROM information_schema.tables WHERE table_schema = '${c.database}' UNION ALL ` +
              `SELECT 'tables', COUNT(*) FROM information_schema.tables WHERE table_schema = '${c.database}'`,
          ],
          env,
        };
    }
  },
};
