#!/bin/sh
# Makes the attachments directory in the volume, then runs Thin on $PORT (or the given command).
set -eu
mkdir -p /data/files /var/cache/redmine/default/tmp/cache
if [ "$#" -gt 0 ] && [ "$1" = thin ]; then
  shift
  exec bundle exec thin start --address 0.0.0.0 --port "${PORT:-8080}" --environment production \
    --pid /tmp/thin.pid "$@"
fi
exec "$@"
