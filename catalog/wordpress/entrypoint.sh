#!/bin/sh
# Fills an empty /data/wp-content from the package's, links the packaged themes and plugins into it (a newer
# image brings newer ones; what the admin installed stays), then runs the command (Apache) with its state in /tmp.
set -eu
content=/data/wp-content
if [ ! -d "$content" ]; then cp -a /var/lib/wordpress/wp-content "$content"; fi
mkdir -p "$content/uploads" "$content/themes" "$content/plugins"
for kind in themes plugins; do
  for pkg in /usr/share/wordpress/wp-content/$kind/*/; do
    [ -d "$pkg" ] || continue
    name=$(basename "$pkg")
    if [ ! -e "$content/$kind/$name" ] || [ -L "$content/$kind/$name" ]; then
      ln -sfn "${pkg%/}" "$content/$kind/$name"
    fi
  done
done
export APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data LANG=C \
  APACHE_RUN_DIR=/tmp/apache2 APACHE_LOCK_DIR=/tmp/apache2 APACHE_LOG_DIR=/tmp/apache2 \
  APACHE_PID_FILE=/tmp/apache2/apache2.pid PORT="${PORT:-8080}"
mkdir -p /tmp/apache2
rm -f /tmp/apache2/apache2.pid
exec "$@"
