#!/bin/sh
# Keeps the admin's htpasswd line in step with HOP3_ADMIN_PASSWORD, writes the configuration, then runs
# Verdaccio on $PORT. Packages (/data/storage) and users (/data/htpasswd) live in the data volume.
set -eu
mkdir -p /data/storage /data/plugins
node /opt/verdaccio/hop3-setup.js
if [ "$#" -gt 0 ] && [ "$1" = node ]; then
  exec "$@" --listen "0.0.0.0:${PORT:-8080}"
fi
exec "$@"
