#!/bin/sh
# Starts the upstream DNS responder next to Caddy (when HOP3_UPSTREAM_DNS names its address), restarting it
# if it ever exits, then becomes Caddy: the container lives and stops with Caddy, and the responder with it.
set -eu
if [ -n "${HOP3_UPSTREAM_DNS:-}" ]; then
  (
    while :; do
      node /usr/local/lib/hop3/upstream-dns.mjs "$HOP3_UPSTREAM_DNS" \
        /etc/hop3-router/upstreams.json "${HOP3_UPSTREAM_ZONE:-upstreams.hop3.internal}" || true
      sleep 1
    done
  ) &
fi
exec caddy "$@"
