#!/bin/sh
# Migrates the data volume's databases and sets (or updates) the server password from HOP3_ADMIN_PASSWORD,
# then runs Actual's sync server, which also serves the web app, on $PORT. The account database
# (/data/server-files) and the budget files (/data/user-files) live in the data volume.
set -eu
: "${HOP3_ADMIN_PASSWORD:?HOP3_ADMIN_PASSWORD must be set (hop3.toml [admin] generates it)}"
export ACTUAL_PORT="${PORT:-8080}"
node /opt/actual/hop3-setup.mjs
exec "$@"
