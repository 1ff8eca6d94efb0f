#!/usr/bin/env bash
# Install Hop3 on this host, from this checkout. Run as root; running it again is harmless and fast.
#
# Usage: ./install.sh [--no-sample] [--no-ssh] [--no-base-images] [--help]
#   --no-sample        do not deploy the bundled sample app (samples/hello)
#   --no-ssh           do not install/start sshd (git push over SSH will not work)
#   --no-base-images   do not create the base images (app builds FROM them will fail until you do)
# Environment (saved to /etc/hop3/hop3.env on first use, reused afterwards):
#   HOP3_BASE_DOMAIN (hop3.localhost)  HOP3_HTTP_PORT (80)  HOP3_HTTPS_PORT (443)  HOP3_LISTEN (TCP API, off)
#   HOP3_ACME_EMAIL  NODE_EXTRA_CA_CERTS
# Environment (this run only):
#   HOP3_DEBIAN_MIRROR (http://deb.debian.org/debian)  HOP3_OFFLINE=1 (no registry pulls)  HOP3_SSH_PORT (22)
#   HOP3_START_TIMEOUT (120 s)
# docs/install.md explains every step.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib/common.sh
. "$REPO_DIR/scripts/lib/common.sh"
# shellcheck source=scripts/lib/server.sh
. "$REPO_DIR/scripts/lib/server.sh"

SAMPLE=1
HOST_ARGS=()
for arg in "$@"; do
  case "$arg" in
  --no-sample) SAMPLE=0 ;;
  --no-ssh | --no-base-images) HOST_ARGS+=("$arg") ;;
  -h | --help)
    sed -n '2,17s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
  *) die "unknown option $arg (see --help)" ;;
  esac
done

require_root
# One install at a time: two runs copying into /opt/hop3 together would leave a broken runtime.
exec 9>/run/hop3-install.lock
if ! flock -n 9; then
  info "another install.sh is running; waiting for it"
  flock 9
fi
started=$(date +%s)

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

if [ "$SAMPLE" -eq 1 ]; then deploy_sample; fi

printf '\nHop3 is installed (%ss). Try: hop apps    Docs: %s/docs/operations.md\n' \
  "$(($(date +%s) - started))" "$HOP3_PREFIX"
