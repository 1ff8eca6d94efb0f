# shellcheck shell=bash
# Shared helpers for install.sh and scripts/*. Sourced, never executed.
# Everything here must be safe to run twice: every step checks before it changes the host.

HOP3_USER="${HOP3_USER:-hop3}"
HOP3_HOME="${HOP3_HOME:-/home/${HOP3_USER}}"
export HOP3_ROOT="${HOP3_ROOT:-/var/lib/hop3}"
HOP3_PREFIX="${HOP3_PREFIX:-/opt/hop3}"
HOP3_BIN_DIR="${HOP3_BIN_DIR:-/usr/local/bin}"
HOP3_CACHE="${HOP3_CACHE:-/var/cache/hop3}"
HOP3_DEBIAN_MIRROR="${HOP3_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

step() { printf '==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
skip() { printf '    %s: already done\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
  printf 'ERROR: %s\n' "$*" >&2
  exit 1
}

require_root() {
  [ "$(id -u)" -eq 0 ] || die "run this as root: $0 (as a user with sudo rights: sudo $0)"
}

has_systemd() {
  # The documented test for "systemd is PID 1" (sd_booted).
  [ -d /run/systemd/system ]
}

hop3_uid() { id -u "$HOP3_USER"; }

hop3_runtime_dir() { printf '/run/user/%s' "$(hop3_uid)"; }

# Run a command as the service user with the environment rootless podman needs.
# runuser keeps root's HOME and cwd, which hop3 cannot read: set both.
as_hop3() {
  (
    cd / &&
      runuser -u "$HOP3_USER" -- env \
        HOME="$HOP3_HOME" \
        USER="$HOP3_USER" \
        LOGNAME="$HOP3_USER" \
        XDG_RUNTIME_DIR="$(hop3_runtime_dir)" \
        PATH="/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin" \
        "$@"
  )
}

# /run/user/UID is made by systemd-logind (linger) on real hosts; without systemd we make it ourselves.
ensure_runtime_dir() {
  local dir
  dir="$(hop3_runtime_dir)"
  if [ ! -d "$dir" ]; then
    install -d -m 0700 -o "$HOP3_USER" -g "$HOP3_USER" "$dir"
  fi
}

# Write FILE from stdin only when the content differs; returns 0 if it changed, 1 if not.
write_if_changed() {
  local file="$1" mode="${2:-0644}" tmp
  tmp="$(mktemp)"
  cat >"$tmp"
  if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 1
  fi
  install -D -m "$mode" "$tmp" "$file"
  rm -f "$tmp"
  return 0
}
