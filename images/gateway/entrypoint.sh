#!/bin/sh
# Sockets left by a previous container would make nginx's listen fail: the directory is the gateway's alone.
set -e
mkdir -p /run/hop3-gateway/a /run/hop3-gateway/i /run/hop3-gateway/gen
find /run/hop3-gateway -type s -delete
# as many open files as the container may have: nginx.conf's worker_connections counts on it
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec nginx -c /etc/hop3-gateway/nginx.conf -g 'daemon off;'
