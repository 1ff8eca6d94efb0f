#!/bin/sh
# Fills an empty /data from the package's seed, creates the administrator from the generated password at the
# first start, then runs the command (Apache) with its state in /tmp.
set -eu
seed=/usr/share/hop3-seed
for dir in conf data acl; do
  if [ ! -d "/data/$dir" ]; then cp -a "$seed/$dir" "/data/$dir"; fi
done
# The package's default settings follow the image (a newer package brings its own); local ones stay.
for f in "$seed"/conf/*; do
  case "$(basename "$f")" in
    local.php|local.protected.php|users.auth.php|acl.auth.php|plugins.local.php|*.local.*|userstyle.css|userprint.css) ;;
    *) cp -a "$f" /data/conf/ ;;
  esac
done

if [ ! -e /data/.hop3-initialized ]; then
  : "${HOP3_ADMIN_PASSWORD:?HOP3_ADMIN_PASSWORD must be set (hop3.toml [admin] generates it)}"
  user="${HOP3_ADMIN_USER:-admin}"
  email="${HOP3_ADMIN_EMAIL:-admin@localhost}"
  hash=$(php -r 'echo password_hash(getenv("HOP3_ADMIN_PASSWORD"), PASSWORD_BCRYPT);')
  {
    printf '# users.auth.php\n# <?php exit()?>\n# Don'"'"'t modify the lines above\n#\n'
    printf '# login:passwordhash:Real Name:email:groups,comma,separated\n\n'
    printf '%s:%s:Administrator:%s:admin,user\n' "$user" "$hash" "$email"
  } > /data/acl/users.auth.php
  # PHP string literal: backslashes and single quotes escaped
  title=$(printf '%s' "${SITE_TITLE:-My wiki}" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")
  cat > /data/conf/local.php <<PHP
<?php
/* DokuWiki local settings, written by Hop3 at the first start; the admin's Configuration Manager edits it. */
\$conf['title'] = '$title';
\$conf['license'] = 'cc-by-sa';
\$conf['useacl'] = 1;
\$conf['superuser'] = '@admin';
\$conf['disableactions'] = 'register';
PHP
  touch /data/.hop3-initialized
fi

export APACHE_RUN_USER=www-data APACHE_RUN_GROUP=www-data LANG=C \
  APACHE_RUN_DIR=/tmp/apache2 APACHE_LOCK_DIR=/tmp/apache2 APACHE_LOG_DIR=/tmp/apache2 \
  APACHE_PID_FILE=/tmp/apache2/apache2.pid PORT="${PORT:-8080}"
mkdir -p /tmp/apache2
rm -f /tmp/apache2/apache2.pid
exec "$@"
