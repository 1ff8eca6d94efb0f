// Writes the administrator's line of /data/htpasswd (bcrypt) from HOP3_ADMIN_PASSWORD, keeping other users'
// lines, and the configuration with the PACKAGE_ACCESS answer. Run by the entrypoint at each start.
const fs = require("node:fs");
const bcrypt = require("bcryptjs");

const user = process.env.HOP3_ADMIN_USER || "admin";
const password = process.env.HOP3_ADMIN_PASSWORD;
if (!password) throw new Error("HOP3_ADMIN_PASSWORD must be set (hop3.toml [admin] generates it)");
if (/[:\s]/.test(user)) throw new Error(`HOP3_ADMIN_USER ${JSON.stringify(user)}: no ':' or spaces in a user name`);
const access = process.env.PACKAGE_ACCESS || "$all";
if (access !== "$all" && access !== "$authenticated") {
  throw new Error(`PACKAGE_ACCESS ${JSON.stringify(access)}: $all or $authenticated`);
}

const file = "/data/htpasswd";
const others = fs.existsSync(file)
  ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l && l.split(":", 1)[0] !== user)
  : [];
// verdaccio-htpasswd reads bcrypt lines as user:$2y$...:autocreated DATE (its own format)
const line = `${user}:${bcrypt.hashSync(password, 10).replace(/^\$2a\$/, "$2y$")}:autocreated ${new Date().toISOString()}`;
fs.writeFileSync(`${file}.tmp`, [line, ...others].join("\n") + "\n", { mode: 0o600 });
fs.renameSync(`${file}.tmp`, file);

const template = fs.readFileSync("/opt/verdaccio/config.yaml", "utf8");
fs.writeFileSync("/tmp/verdaccio.yaml", template.replaceAll("@PACKAGE_ACCESS@", `"${access}"`), { mode: 0o600 });
