#!/usr/bin/env bash
# Install Hop3 on this host, from this checkout. Run as root; running it again is harmless and fast.
#
# Usage: ./install.sh [--no-sample] [--no-ssh] [--no-base-images] [--catalog NAME [--app A] [--domain D]
#                     [--set KEY=VALUE]...] [--help]
#   --no-sample        do not deploy the bundled sample app (samples/hello)
#   --no-ssh           do not install/start sshd (git push over SSH will not work)
#   --no-base-images   do not create the base images (app builds FROM them will fail until you do)
#   --catalog NAME     then install NAME from the catalog (hop catalog:install) instead of the sample, and print
#                      its URL, its notes and how long each step took; --app, --domain, --set as for that command
# Environment (saved to /etc/hop3/hop3.env on first use, reused afterwards):
#   HOP3_BASE_DOMAIN (hop3.localhost)  HOP3_HTTP_PORT (80)  HOP3_HTTPS_PORT (443)  HOP3_LISTEN (TCP API, off)
#   HOP3_ACME_EMAIL  HOP3_ACME_CA  HOP3_ACME_CA_ROOT  NODE_EXTRA_CA_CERTS  (every server setting: docs/install.md)
# Environment (this run only):
#   HOP3_DEBIAN_MIRROR (http://deb.debian.org/debian)  HOP3_OFFLINE=1 (no registry pulls)  HOP3_SSH_PORT (22)
#   HOP3_START_TIMEOUT (120 s)  HOP3_HTTPS_TIMEOUT (180 s, for the catalog app's first answer)
# docs/install.md explains every step.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$REPO_DIR/scripts/lib/common.sh"
# shellcheck source=scripts/lib/server.sh
. "$REPO_DIR/scripts/lib/server.sh"
# shellcheck source=scripts/lib/catalog.sh
. "$REPO_DIR/scripts/lib/catalog.sh"

SAMPLE=1
HOST_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
  --no-sample) SAMPLE=0 ;;
  --no-ssh | --no-base-images) HOST_ARGS+=("$1") ;;
  --catalog | --app | --domain | --set)
    [ $# -ge 2 ] || die "$1 needs a value (see --help)"
    set_catalog_option "$1" "$2"
    shift
    ;;
  --catalog=* | --app=* | --domain=* | --set=*) set_catalog_option "${1%%=*}" "${1#*=}" ;;
  -h | --help)
    sed -n '2,20s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
  *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
# an unknown recipe, a bad name or answer key: said now, before anything is installed
check_catalog_request

require_root
# One install at a time: two runs copying into /opt/hop3 together would leave a broken runtime.
exec 9>/run/hop3-install.lock
if ! flock -n 9; then
  info "another install.sh is running; waiting for it"
  flock 9
fi
started=$(date +%s)
started_ms="$(now_ms)"

"$REPO_DIR/scripts/setup-host" "${HOST_ARGS[@]}"

build_checkout "$REPO_DIR"
changed=0
if install_runtime "$REPO_DIR"; then changed=1; fi
install_wrappers
create_data_dirs
ensure_api_tls
if write_server_env; then changed=1; fi
start_server "$REPO_DIR" "$changed"
configure_root_cli
check_deploy_path

if [ -n "$CATALOG" ]; then
  install_catalog_app "$started_ms" "$(now_ms)"
elif [ "$SAMPLE" -eq 1 ]; then
  deploy_sample
fi

printf '\nHop3 is installed (%ss). Try: hop apps    Docs: %s/docs/operations.md\n' \
  "$(($(date +%s) - started))" "$HOP3_PREFIX"
