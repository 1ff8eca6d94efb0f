#!/bin/sh
# Starts the upstream DNS responder next to Caddy (when HOP3_UPSTREAM_DNS names its address), then becomes
# Caddy: the container lives and stops with Caddy, and the responder with it.
#
# The responder is gdnsd serving the zone the host writes to /etc/hop3-router/upstreams.zone
# (src/router/upstream-dns.ts). gdnsd reloads zones only when asked (atomically: lookups never fail during
# a reload), so a watcher asks it whenever the host renames a new file into place; a zone that does not
# parse is refused and the last good one keeps being served. Both are restarted if they ever exit.
set -eu
if [ -n "${HOP3_UPSTREAM_DNS:-}" ]; then
  conf=/run/hop3-dns
  zone="${HOP3_UPSTREAM_ZONE:-upstreams.hop3.internal}"
  mkdir -p "$conf/zones" "$conf/run" "$conf/state"
  # One thread each way: a handful of lookups a second. min_ttl 1: Caddy asks again every second anyway.
  cat >"$conf/config" <<CONF
options => {
  listen => [ $HOP3_UPSTREAM_DNS ]
  udp_threads => 1
  tcp_threads => 1
  zones_default_ttl => 1
  min_ttl => 1
  zones_strict_startup => false
  run_dir => $conf/run
  state_dir => $conf/state
}
CONF
  ln -sfn /etc/hop3-router/upstreams.zone "$conf/zones/$zone"
  (
    while :; do
      inotifywait -m -q -e moved_to -e close_write --format %f /etc/hop3-router 2>/dev/null |
        while read -r name; do
          [ "$name" = upstreams.zone ] || continue
          # gdnsd may be (re)starting: ask again for a while, a change must not be lost
          for _ in 1 2 3 4 5 6 7 8 9 10; do
            gdnsdctl -c "$conf" -o reload-zones >/dev/null 2>&1 && break
            sleep 0.5
          done
        done
      sleep 1
    done
  ) &
  (
    while :; do
      gdnsd -c "$conf" start || true
      sleep 1
    done
  ) &
fi
exec caddy "$@"
