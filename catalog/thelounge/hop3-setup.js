// Keeps the administrator's account (/data/users/NAME.json, The Lounge's own format) in step with
// HOP3_ADMIN_PASSWORD: created at the first start, its password re-hashed when the variable changed; other
// users and the account's networks and settings are left alone. Run by the entrypoint at each start.
const fs = require("node:fs");
const bcrypt = require("bcryptjs");

const user = process.env.HOP3_ADMIN_USER || "admin";
const password = process.env.HOP3_ADMIN_PASSWORD;
if (!password) throw new Error("HOP3_ADMIN_PASSWORD must be set (hop3.toml [admin] generates it)");
if (!/^[a-z0-9_.-]{1,64}$/.test(user)) throw new Error(`HOP3_ADMIN_USER ${JSON.stringify(user)}: a-z, 0-9, _ . -`);

fs.mkdirSync("/data/users", { recursive: true, mode: 0o700 });
const file = `/data/users/${user}.json`;
// `thelounge add NAME --save-logs` writes { password, log: true }; The Lounge adds the rest as it is used
const account = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : { log: true };
if (typeof account.password !== "string" || !bcrypt.compareSync(password, account.password)) {
  account.password = bcrypt.hashSync(password, 11);
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(account, null, "\t")}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
  console.log(`hop3: the password of ${user} is HOP3_ADMIN_PASSWORD's`);
}
