#!/bin/sh
# Creates or updates the admin account from HOP3_ADMIN_PASSWORD, then runs The Lounge (private mode: only
# accounts log in) on $PORT behind Hop3's router, with IRC_NETWORK as the network new users connect to.
set -eu
: "${HOP3_ADMIN_PASSWORD:?HOP3_ADMIN_PASSWORD must be set (hop3.toml [admin] generates it)}"
node /opt/thelounge/hop3-setup.js
if [ "$#" -gt 0 ] && [ "$1" = node ]; then
  lounge="$1 $2"; shift 2
  # -c overrides config.js (created with upstream's defaults at the first start, then the user's to edit)
  exec $lounge -c "port=${PORT:-8080}" -c host=0.0.0.0 -c reverseProxy=true -c public=false \
    -c "defaults.host=${IRC_NETWORK:-irc.libera.chat}" -c "defaults.name=${IRC_NETWORK:-irc.libera.chat}" "$@"
fi
exec "$@"
