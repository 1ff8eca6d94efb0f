#!/bin/sh
# Runs redis-server as the redis user with its data (RDB snapshots and the append-only file) in /data.
set -eu
: "${REDIS_PASSWORD:?}"
chown redis:redis /data
conf=/run/hop3-redis.conf
# the password goes in a file the redis user reads, not on the command line (visible in ps)
printf 'requirepass %s\n' "$REDIS_PASSWORD" > "$conf"
chown redis "$conf" && chmod 600 "$conf"
exec setpriv --reuid=redis --regid=redis --init-groups -- redis-server "$conf" --bind '* -::*' \
  --protected-mode no --dir /data --appendonly yes --save '60 1' --daemonize no
