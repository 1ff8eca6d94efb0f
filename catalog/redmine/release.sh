#!/bin/sh
# The release phase: Redmine's and its plugins' migrations (the whole schema on an empty database), then
# setup.rb (default data on a new database, the generated admin password while the admin still has the default
# one). Run in the image's /usr/share/redmine as www-data.
set -eu
: "${PGHOST:?attach a postgres addon: PGHOST is not set}"
: "${SECRET_KEY_BASE:?SECRET_KEY_BASE must be set (hop3.toml [env] generates it)}"
cd /usr/share/redmine
mkdir -p /data/files
SCHEMA=/dev/null bundle exec rake db:migrate redmine:plugins:migrate
exec bin/rails runner /usr/local/lib/hop3/redmine-setup.rb
