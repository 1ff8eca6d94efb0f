#!/usr/bin/env bash
# Remove Hop3 from this host (as root).
# Usage: scripts/uninstall.sh [--purge]
#   default: stop the server and every container of the hop3 user (router, apps, addons); remove /opt/hop3,
#            the hop/hop3-server commands and the systemd unit. Keeps the data ($HOP3_ROOT, images, volumes),
#            the hop3 user and /etc/hop3: install.sh brings everything back.
#   --purge  also delete the data, the hop3 user's podman storage (images, volumes), the hop3 user and its home,
#            /etc/hop3, /var/cache/hop3 and the host settings install.sh wrote. Asks you to type "purge"
#            (or set HOP3_PURGE_CONFIRM=purge for scripts).
# Packages installed by install.sh stay installed.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
. "$SCRIPT_DIR/lib/common.sh"
# shellcheck source=lib/server.sh
. "$SCRIPT_DIR/lib/server.sh"

PURGE=0
for arg in "$@"; do
  case "$arg" in
  --purge) PURGE=1 ;;
  -h | --help)
    sed -n '2,11s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
  *) die "unknown option $arg" ;;
  esac
done
require_root

if [ "$PURGE" -eq 1 ]; then
  cat <<MSG
This deletes every Hop3 app, its data, volumes, databases and backups under $HOP3_ROOT,
the $HOP3_USER user with $HOP3_HOME, and all of its container images. It cannot be undone.
MSG
  answer="${HOP3_PURGE_CONFIRM:-}"
  if [ -z "$answer" ]; then
    read -r -p 'Type "purge" to confirm: ' answer || true
  fi
  [ "$answer" = "purge" ] || die "not confirmed: nothing was removed"
fi

user_exists=0
uid=""
if id "$HOP3_USER" >/dev/null 2>&1; then
  user_exists=1
  uid="$(hop3_uid)"
fi

step "Stopping the Hop3 server"
if has_systemd && [ -f /etc/systemd/system/hop3-server.service ]; then
  systemctl disable --now hop3-server >/dev/null 2>&1 || true
  info "hop3-server.service stopped and disabled"
elif server_pid >/dev/null; then
  stop_server_process
else
  skip "server not running"
fi

if [ "$user_exists" -eq 1 ]; then
  step "Stopping the containers of $HOP3_USER (router, apps, addons)"
  ensure_runtime_dir
  # Only what Hop3 manages (label io.hop3.managed): the operator may run other containers as hop3.
  ids="$(as_hop3 podman ps -q --filter label=io.hop3.managed=true 2>/dev/null || true)"
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    as_hop3 podman stop -t 10 $ids >/dev/null
    info "stopped $(printf '%s\n' "$ids" | wc -l) container(s)"
  else
    skip "no running container"
  fi
  # The podman API service the server started (it stops with the server; this catches a crash).
  if [ -S "$(hop3_runtime_dir)/podman/podman.sock" ] || [ -S "$(hop3_runtime_dir)/podman.sock" ]; then
    info "note: a podman API socket remains in $(hop3_runtime_dir); it is harmless"
  fi
fi

step "Removing $HOP3_PREFIX and the commands"
rm -rf "$HOP3_PREFIX" "$HOP3_PREFIX.new" "$HOP3_PREFIX.old"
rm -f "$HOP3_BIN_DIR/hop" "$HOP3_BIN_DIR/hop3-server"
if [ -f /etc/systemd/system/hop3-server.service ]; then
  rm -rf /etc/systemd/system/hop3-server.service /etc/systemd/system/hop3-server.service.d
  if has_systemd; then systemctl daemon-reload; fi
fi
info "removed"

if [ "$PURGE" -eq 0 ]; then
  printf '\nKept: %s (data), %s (settings), the %s user and its images. Remove them with --purge.\n' \
    "$HOP3_ROOT" "$HOP3_ENV_FILE" "$HOP3_USER"
  exit 0
fi

if [ "$user_exists" -eq 1 ]; then
  step "Deleting the containers, images and volumes of $HOP3_USER"
  as_hop3 podman system reset --force >/dev/null 2>&1 || warn "podman system reset failed"
  step "Deleting the $HOP3_USER user"
  if has_systemd; then loginctl disable-linger "$HOP3_USER" 2>/dev/null || true; fi
  # userdel refuses while the user has processes (the rootless pause process, conmon, ...).
  pkill -KILL -u "$HOP3_USER" 2>/dev/null || true
  sleep 1
  # Rootless storage may hold files owned by sub-uids that userdel -r cannot remove.
  rm -rf "$HOP3_HOME"
  userdel "$HOP3_USER" 2>/dev/null || warn "userdel $HOP3_USER failed"
  sed -i "/^${HOP3_USER}:/d" /etc/subuid /etc/subgid
  rm -rf "/run/user/$uid"
fi
step "Deleting data and settings"
rm -rf "$HOP3_ROOT" "$HOP3_CACHE"
rm -f "$HOP3_ENV_FILE"
rmdir "$(dirname "$HOP3_ENV_FILE")" 2>/dev/null || true
rm -f /etc/containers/containers.conf.d/50-hop3.conf /etc/sysctl.d/60-hop3.conf /etc/ssh/sshd_config.d/60-hop3.conf
info "removed $HOP3_ROOT, $HOP3_ENV_FILE, $HOP3_CACHE and the host settings (sysctl values stay until reboot)"
