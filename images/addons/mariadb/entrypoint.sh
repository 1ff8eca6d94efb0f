#!/bin/sh
# Initialises the data directory on first start (database, user and passwords from the environment), then runs
# mariadbd as the mysql user.
set -eu
: "${MARIADB_USER:?}" "${MARIADB_PASSWORD:?}" "${MARIADB_DATABASE:?}" "${MARIADB_ROOT_PASSWORD:?}"
mkdir -p /var/lib/mysql /run/mysqld
chown mysql:mysql /var/lib/mysql /run/mysqld
if [ ! -d /var/lib/mysql/mysql ]; then
  setpriv --reuid=mysql --regid=mysql --init-groups -- mariadb-install-db --user=mysql \
    --datadir=/var/lib/mysql --auth-root-authentication-method=normal --skip-test-db >/dev/null
  init=$(mktemp)
  # SQL string literals: a single quote doubled. Passwords Hop3 generates have none; this guards the others.
  q() { printf '%s' "$1" | sed "s/'/''/g"; }
  cat > "$init" <<SQL
FLUSH PRIVILEGES;
ALTER USER 'root'@'localhost' IDENTIFIED BY '$(q "$MARIADB_ROOT_PASSWORD")';
CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER '$(q "$MARIADB_USER")'@'%' IDENTIFIED BY '$(q "$MARIADB_PASSWORD")';
GRANT ALL PRIVILEGES ON \`$MARIADB_DATABASE\`.* TO '$(q "$MARIADB_USER")'@'%';
FLUSH PRIVILEGES;
SQL
  chown mysql "$init"
  setpriv --reuid=mysql --regid=mysql --init-groups -- mariadbd --user=mysql --datadir=/var/lib/mysql \
    --bootstrap --skip-networking < "$init"
  rm -f "$init"
  echo "hop3-mariadb: initialised database $MARIADB_DATABASE"
fi
exec setpriv --reuid=mysql --regid=mysql --init-groups -- mariadbd --user=mysql --datadir=/var/lib/mysql \
  --bind-address=0.0.0.0 --skip-name-resolve
