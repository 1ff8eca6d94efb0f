// Node-RED settings for the Hop3 catalog: the port, the data directory and the admin login come from the
// app's environment. Everything else is Node-RED's default (https://nodered.org/docs/user-guide/runtime/settings-file).
const bcrypt = require("bcryptjs");

const password = process.env.HOP3_ADMIN_PASSWORD;
if (!password) throw new Error("HOP3_ADMIN_PASSWORD is not set");

module.exports = {
  uiPort: Number(process.env.PORT || 8080),
  uiHost: "0.0.0.0",
  userDir: "/data",
  flowFile: "flows.json",
  // encrypts the credentials of flows in /data/flows_cred.json (generated once per app)
  credentialSecret: process.env.NODE_RED_CREDENTIAL_SECRET,
  // the editor and its admin API need a login; the password is hashed at each start
  adminAuth: {
    type: "credentials",
    users: [
      {
        username: process.env.HOP3_ADMIN_USER || "admin",
        password: bcrypt.hashSync(password, 10),
        permissions: "*",
      },
    ],
  },
  // behind Hop3's router: one hop of X-Forwarded-* is trusted
  httpServerOptions: { "trust proxy": 1 },
  // nodes installed from the palette go to /data/node_modules, from the npm registry
  externalModules: { palette: { allowInstall: true } },
  diagnostics: { enabled: false },
  logging: { console: { level: "info", metrics: false, audit: false } },
  editorTheme: { projects: { enabled: false }, tours: false },
};
