#!/bin/sh
# Puts the starter flow (an HTTP endpoint the catalog's validations call) in an empty /data at the first start;
# later starts keep the flows there. The admin login comes from HOP3_ADMIN_PASSWORD (settings.js).
set -eu
: "${HOP3_ADMIN_PASSWORD:?HOP3_ADMIN_PASSWORD must be set (hop3.toml [admin] generates it)}"
: "${NODE_RED_CREDENTIAL_SECRET:?NODE_RED_CREDENTIAL_SECRET must be set (hop3.toml [env] generates it)}"
[ -e /data/flows.json ] || cp /opt/node-red/flows.json /data/flows.json
exec "$@"
