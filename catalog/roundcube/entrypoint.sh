#!/bin/sh
# Makes Roundcube's temporary directory, then runs the command (Apache) with its state in /tmp.
set -eu
mkdir -p /tmp/roundcube
export APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data LANG=C \
  APACHE_RUN_DIR=/tmp/apache2 APACHE_LOCK_DIR=/tmp/apache2 APACHE_LOG_DIR=/tmp/apache2 \
  APACHE_PID_FILE=/tmp/apache2/apache2.pid PORT="${PORT:-8080}"
mkdir -p /tmp/apache2
rm -f /tmp/apache2/apache2.pid
exec "$@"
