import type { AddonPlugin, Credentials } from "./plugin.js";
import { addonPassword } from "./secrets.js";

// redis-cli reads the password from REDISCLI_AUTH: it never appears in argv (`ps`).
const clientEnv = (c: Credentials) => ({ REDISCLI_AUTH: c.password! });
const connect = ["-h", "127.0.0.1", "-p", "6379"];

export const redisPlugin: AddonPlugin = {
  type: "redis",
  aliases: [],
  title: "Redis",
  major: "7",
  imageDir: "redis",
  officialImage: (major) => `docker.io/library/redis:${major}`,
  port: 6379,
  dataDir: "/data",
  memoryBytes: 256 * 1024 * 1024,
  variableNames: ["REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_DB"],

  generateCredentials: () => ({ password: addonPassword() }),
  containerEnv: (c) => ({ REDIS_PASSWORD: c.password! }),
  // the official image takes the password on its command line; Hop3's reads REDIS_PASSWORD
  containerCmd: (c, official) =>
    official ? ["redis-server", "--requirepass", c.password!, "--appendonly", "yes"] : undefined,
  health: (c) => ({
    cmd: ["redis-cli", ...connect, "-a", c.password!, "--no-auth-warning", "ping"],
    expect: "PONG",
  }),
  variables: (c, host) => ({
    // the user "default" (Redis ACLs): redis-cli sends an empty user name as is and fails to authenticate
    REDIS_URL: `redis://default:${c.password}@${host}:6379/0`,
    REDIS_HOST: host,
    REDIS_PORT: "6379",
    REDIS_DB: "0",
  }),
  client(action, c, args) {
    const env = clientEnv(c);
    switch (action) {
      case "cli":
        return { cmd: ["redis-cli", ...connect, ...args], env };
      // an RDB snapshot of the live server. Through a file: redis-cli 7.0 writing to stdout (`--rdb -`) leaves
      // the 40-byte EOF mark of the diskless transfer at the end, which Redis then refuses to load
      case "dump":
        return {
          cmd: [
            "sh",
            "-c",
            `f=$(mktemp); redis-cli ${connect.join(" ")} --no-auth-warning --rdb "$f" >&2 && cat "$f"; s=$?; rm -f "$f"; exit $s`,
          ],
          env,
        };
      case "restore":
        throw new Error("unreachable: redis restore is refused by the service");
      case "info":
        return { cmd: ["redis-cli", ...connect, "--no-auth-warning", "info", ...args], env };
    }
  },
};
