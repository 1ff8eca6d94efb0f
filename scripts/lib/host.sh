# shellcheck shell=bash
# Host preparation steps (root only). Sourced after common.sh.

HOP3_PACKAGES=(
  podman buildah skopeo runc uidmap slirp4netns fuse-overlayfs catatonit
  debootstrap openssh-server git curl ca-certificates sqlite3 dbus-user-session
  # better-sqlite3 compiles from source when its prebuilt binary cannot be downloaded.
  build-essential python3
)
# Podman's network stack: netavark where the release has it (Debian 12+, Ubuntu 24.04+); the CNI plugins
# where it does not (Ubuntu 22.04's podman 3.4). Which firewall tool it drives is decided afterwards, from
# what is installed (network_firewall_tool), not from a list written for one release.
NETAVARK_PACKAGES=(netavark aardvark-dns)
CNI_PACKAGES=(containernetworking-plugins)

is_installed() { dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
is_available() { [ -n "$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)')" ]; }

apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found: install.sh supports Debian 12+ and Ubuntu 22.04+ (missing: $*)"
  info "installing: $*"
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

apt_update_once() {
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    APT_UPDATED=1
  fi
}

install_packages() {
  step "Installing packages"
  local missing=() pkg changed=1
  choose_network_stack
  for pkg in "${HOP3_PACKAGES[@]}" "${NETWORK_STACK[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  # One apt-get for everything: installed alone, podman would pull the CNI plugins in beside netavark.
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
    changed=0
  fi
  if install_firewall_tool; then changed=0; fi
  if [ "$changed" -eq 1 ]; then skip "packages"; fi
}

# NETWORK_STACK: netavark where the release has it, else the CNI plugins.
choose_network_stack() {
  if is_installed netavark; then
    NETWORK_STACK=("${NETAVARK_PACKAGES[@]}")
  elif is_installed containernetworking-plugins && is_installed podman; then
    NETWORK_STACK=("${CNI_PACKAGES[@]}")
  else
    apt_update_once
    if is_available netavark; then NETWORK_STACK=("${NETAVARK_PACKAGES[@]}"); else NETWORK_STACK=("${CNI_PACKAGES[@]}"); fi
  fi
}

# netavark's version: "1.4.0" (empty when netavark is not there).
netavark_version() {
  local bin
  for bin in /usr/libexec/podman/netavark /usr/lib/podman/netavark /usr/local/libexec/podman/netavark; do
    if [ -x "$bin" ]; then
      "$bin" --version 2>/dev/null | awk '{print $2; exit}'
      return 0
    fi
  done
}

# version_ge A B: A >= B, for dotted versions.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

# The firewall driver an operator configured: NETAVARK_FW, or firewall_driver in containers.conf (podman 5).
configured_firewall_driver() {
  if [ -n "${NETAVARK_FW:-}" ]; then
    printf '%s' "$NETAVARK_FW"
    return 0
  fi
  cat /usr/share/containers/containers.conf /etc/containers/containers.conf \
    /etc/containers/containers.conf.d/*.conf 2>/dev/null |
    sed -n 's/^[[:space:]]*firewall_driver[[:space:]]*=[[:space:]]*"\{0,1\}\([a-z]*\)"\{0,1\}.*/\1/p' | tail -n 1
}

# Which command the container network stack calls to set up NAT and port forwarding: iptables or nft.
#  - CNI plugins (podman 3/4 without netavark) and netavark < 1.10 only know iptables
#    (Debian 12 and Ubuntu 24.04 ship netavark 1.4: without iptables every network start fails with
#    "netavark: No such file or directory").
#  - netavark >= 1.10 has an nftables driver: the configured one, else the build's default, which is
#    nftables from 1.12 on in the distributions we support (Debian 13).
network_firewall_tool() {
  local version driver
  version="$(netavark_version)"
  if [ -z "$version" ] || ! version_ge "$version" 1.10.0; then
    echo iptables
    return 0
  fi
  driver="$(configured_firewall_driver)"
  case "$driver" in
  iptables | nftables) ;;
  "") if version_ge "$version" 1.12.0; then driver=nftables; else driver=iptables; fi ;;
  *) driver=iptables ;;
  esac
  [ "$driver" = nftables ] && echo nft || echo iptables
}

# The package that provides a firewall command.
firewall_package() { [ "$1" = nft ] && echo nftables || echo iptables; }

# Installs the firewall command the network stack drives when it is missing; returns 0 when it did.
install_firewall_tool() {
  local tool pkg stack
  tool="$(network_firewall_tool)"
  stack="netavark $(netavark_version)"
  [ "$stack" = "netavark " ] && stack="CNI plugins"
  if command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ]; then
    info "container networks: $stack drives $tool (present)"
    return 1
  fi
  pkg="$(firewall_package "$tool")"
  info "container networks: $stack drives $tool, which is missing: installing $pkg"
  apt_install "$pkg"
}

check_node() {
  step "Checking Node.js"
  local version major
  if ! command -v node >/dev/null; then
    node_help "Node.js is not installed"
  fi
  version="$(node --version)"
  major="${version#v}"
  major="${major%%.*}"
  if [ "$major" -lt 20 ]; then
    node_help "Node.js $version is too old"
  fi
  command -v npm >/dev/null || node_help "npm is not installed"
  # The service user runs node too: a node under /root (nvm) is unreadable for it.
  local node_path
  node_path="$(readlink -f "$(command -v node)")"
  if id "$HOP3_USER" >/dev/null 2>&1 && ! runuser -u "$HOP3_USER" -- test -x "$node_path"; then
    die "$node_path is not executable by the $HOP3_USER user: install Node.js system-wide (e.g. /usr/bin/node)"
  fi
  info "node $version at $node_path"
}

node_help() {
  cat >&2 <<MSG
ERROR: $1. Hop3 needs Node.js 20 or newer (Debian 12 ships 18).
Install it system-wide, then run install.sh again, for example:
  - NodeSource's apt repository: https://github.com/nodesource/distributions (nodejs 20.x or 22.x), or
  - Debian's bookworm-backports, when it carries nodejs >= 20:  apt-get install -t bookworm-backports nodejs npm
MSG
  exit 1
}

# Next free subordinate id start: after every range already given out, never below 100000.
next_subid_start() {
  local file="$1"
  awk -F: 'BEGIN { m = 100000 } NF >= 3 { e = $2 + $3; if (e > m) m = e } END { print m }' "$file" 2>/dev/null || echo 100000
}

create_user() {
  step "Creating the $HOP3_USER user"
  if id "$HOP3_USER" >/dev/null 2>&1; then
    skip "user $HOP3_USER"
    local home
    home="$(getent passwd "$HOP3_USER" | cut -d: -f6)"
    case "$home" in
    /home/*) ;;
    *) warn "$HOP3_USER's home is $home: rootless podman 4.3 networks break outside /home (\"unable to find network\")" ;;
    esac
    if has_systemd && [ "$(hop3_uid)" -lt 1000 ]; then
      warn "$HOP3_USER has a system uid ($(hop3_uid)): journald keeps its containers' logs in the system journal, which hop logs cannot read under systemd (recreate the user with a regular uid)"
    fi
  else
    # Home under /home: with it under /var/lib, rootless netavark networks fail on podman 4.3.
    # A regular uid (not --system): journald gives regular users their own journal file, which is how
    # `podman logs` (and so `hop logs`) can read the containers' journald logs on the quadlet path; a system
    # user's lines go to the system journal, which hop3 must not be able to read.
    useradd --create-home --home-dir "$HOP3_HOME" --shell /bin/bash --user-group "$HOP3_USER"
    info "created $HOP3_USER (uid $(hop3_uid)), home $HOP3_HOME"
  fi
  touch /etc/subuid /etc/subgid
  local has_uid has_gid start
  has_uid="$(grep -c "^${HOP3_USER}:" /etc/subuid || true)"
  has_gid="$(grep -c "^${HOP3_USER}:" /etc/subgid || true)"
  if [ "$has_uid" -eq 0 ]; then
    start="$(next_subid_start /etc/subuid)"
    usermod --add-subuids "${start}-$((start + 65535))" "$HOP3_USER"
    info "subuids ${start}-$((start + 65535))"
  fi
  if [ "$has_gid" -eq 0 ]; then
    start="$(next_subid_start /etc/subgid)"
    usermod --add-subgids "${start}-$((start + 65535))" "$HOP3_USER"
    info "subgids ${start}-$((start + 65535))"
  fi
  if [ "$has_uid" -ne 0 ] && [ "$has_gid" -ne 0 ]; then
    skip "subuid/subgid ranges"
  fi
  install -d -m 0700 -o "$HOP3_USER" -g "$HOP3_USER" "$HOP3_HOME/.ssh"
  if [ ! -f "$HOP3_HOME/.ssh/authorized_keys" ]; then
    install -m 0600 -o "$HOP3_USER" -g "$HOP3_USER" /dev/null "$HOP3_HOME/.ssh/authorized_keys"
  fi
}

# The two engine settings this kernel needs. A drop-in, so an operator's containers.conf is never rewritten.
podman_dropin_content() {
  local need_runc=0 cgroup_fs
  cgroup_fs="$(stat -fc %T /sys/fs/cgroup 2>/dev/null || echo unknown)"
  # crun refuses cgroup v1/hybrid hierarchies; runc copes with both.
  if [ "$cgroup_fs" != "cgroup2fs" ] || ! command -v crun >/dev/null; then
    need_runc=1
  fi
  printf '# Written by hop3 install.sh (scripts/lib/host.sh). Remove to restore podman defaults.\n'
  printf '[containers]\n'
  printf '# Some kernels/VMs refuse to raise RLIMIT_NOFILE/NPROC for containers: keep the inherited limits.\n'
  printf 'default_ulimits = []\n'
  if [ "$need_runc" -eq 1 ]; then
    printf '\n[engine]\n'
    printf '# cgroup hierarchy: %s (crun needs pure cgroup v2)\n' "$cgroup_fs"
    printf 'runtime = "runc"\n'
  fi
}

configure_podman() {
  step "Configuring podman for rootless use"
  local changed=0
  if podman_dropin_content | write_if_changed /etc/containers/containers.conf.d/50-hop3.conf; then
    info "wrote /etc/containers/containers.conf.d/50-hop3.conf"
    changed=1
  fi
  # slirp4netns opens /dev/net/tun as the unprivileged user.
  if [ -e /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != "666" ]; then
    chmod 666 /dev/net/tun
    info "chmod 666 /dev/net/tun"
    changed=1
  fi
  # fuse-overlayfs opens /dev/fuse as the unprivileged user where the kernel refuses native rootless overlay
  # (nested user namespaces, older kernels). udev makes it 0666 on most hosts; containers and minimal hosts may not.
  if [ -e /dev/fuse ] && [ "$(stat -c %a /dev/fuse)" != "666" ]; then
    chmod 666 /dev/fuse
    info "chmod 666 /dev/fuse"
    changed=1
  fi
  if [ ! -e /dev/net/tun ]; then
    warn "/dev/net/tun is missing: rootless networking (slirp4netns) will not work"
  fi
  # The router runs in hop3's rootless podman and must bind 80/443.
  local port_start="${HOP3_UNPRIVILEGED_PORT_START:-80}"
  if printf 'net.ipv4.ip_unprivileged_port_start = %s\n' "$port_start" | write_if_changed /etc/sysctl.d/60-hop3.conf; then
    info "wrote /etc/sysctl.d/60-hop3.conf"
    changed=1
  fi
  if [ "$(sysctl -n net.ipv4.ip_unprivileged_port_start)" -gt "$port_start" ]; then
    sysctl -q -w "net.ipv4.ip_unprivileged_port_start=$port_start"
    info "net.ipv4.ip_unprivileged_port_start=$port_start"
    changed=1
  fi
  # Native rootless overlay works on kernels >= 5.11; without this podman may choose vfs (full layer copies).
  install -d -m 0755 -o "$HOP3_USER" -g "$HOP3_USER" "$HOP3_HOME/.config" "$HOP3_HOME/.config/containers"
  if printf '[storage]\ndriver = "overlay"\n' | write_if_changed "$HOP3_HOME/.config/containers/storage.conf"; then
    chown "$HOP3_USER:$HOP3_USER" "$HOP3_HOME/.config/containers/storage.conf"
    info "wrote $HOP3_HOME/.config/containers/storage.conf"
    changed=1
  fi
  if has_systemd; then
    # Per-user journal files exist only in a persistent journal: without /var/log/journal, hop logs is empty.
    [ -d /var/log/journal ] || warn "/var/log/journal is missing: journald keeps no per-user journal, so hop logs cannot read app logs (mkdir /var/log/journal; systemctl restart systemd-journald)"
    if [ ! -f "/var/lib/systemd/linger/$HOP3_USER" ]; then
      loginctl enable-linger "$HOP3_USER"
      info "loginctl enable-linger $HOP3_USER"
      changed=1
    fi
  fi
  if [ ! -d "$(hop3_runtime_dir)" ]; then
    ensure_runtime_dir
    # With linger, logind creates it; wait a moment for that before making it ourselves.
    info "created $(hop3_runtime_dir)"
    changed=1
  fi
  if ! as_hop3 podman info --format '{{.Store.GraphDriverName}}' >/dev/null 2>&1; then
    # The user namespace's pause process dies with every process of the host's session (a container host
    # stopped and started again keeps /run/user/UID): podman then refuses with "invalid internal status"
    # until the pause process is reset. That is what podman itself prescribes, and it touches no container.
    info "rootless podman state is stale (pause process gone): podman system migrate"
    as_hop3 podman system migrate >&2 || true
  fi
  if ! as_hop3 podman info --format '{{.Store.GraphDriverName}}' >/dev/null 2>&1; then
    as_hop3 podman info >&2 || true
    die "rootless podman does not work for $HOP3_USER (see the output above)"
  fi
  if has_systemd && enable_podman_socket; then changed=1; fi
  if [ "$changed" -eq 0 ]; then
    skip "podman configuration"
  fi
  info "rootless podman OK: driver $(as_hop3 podman info --format '{{.Store.GraphDriverName}}'), runtime $(as_hop3 podman info --format '{{.Host.OCIRuntime.Name}}')"
}

# Under systemd the Podman API is the hop3 user's socket-activated podman.service: it runs in the user's
# manager, not as a child of the (sandboxed, NoNewPrivileges) server, so rootless podman keeps its setuid
# newuidmap and containers it starts are the user's. Returns 0 when it had to be enabled.
enable_podman_socket() {
  local _
  # linger has just started the user's manager, perhaps: wait until it answers (any state word will do)
  for _ in $(seq 1 30); do
    as_hop3 systemctl --user is-system-running 2>/dev/null | grep -Eq '^(initializing|starting|running|degraded)' && break
    sleep 1
  done
  if as_hop3 systemctl --user is-enabled --quiet podman.socket 2>/dev/null &&
    as_hop3 systemctl --user is-active --quiet podman.socket 2>/dev/null; then
    return 1
  fi
  if as_hop3 systemctl --user enable --now podman.socket >/dev/null 2>&1; then
    info "enabled the hop3 user's podman.socket (the Podman API, socket-activated)"
    return 0
  fi
  warn "could not enable podman.socket for $HOP3_USER: the server will run the Podman API itself"
  return 1
}

configure_ssh() {
  step "Configuring SSH (git push)"
  local port="${HOP3_SSH_PORT:-22}"
  # A stock sshd_config allows every user with a shell; say so when AllowUsers/AllowGroups would shut hop3 out.
  if grep -Eqi '^\s*(AllowUsers|AllowGroups)\b' /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf 2>/dev/null; then
    if ! grep -Eqi "^\s*AllowUsers\b.*\b${HOP3_USER}\b" /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf 2>/dev/null; then
      warn "sshd has AllowUsers/AllowGroups without $HOP3_USER: add it, or git push will be refused"
    fi
  fi
  local port_changed=0
  if [ "$port" != "22" ]; then
    if printf '# Written by hop3 install.sh\nPort %s\n' "$port" | write_if_changed /etc/ssh/sshd_config.d/60-hop3.conf; then
      info "sshd port $port (/etc/ssh/sshd_config.d/60-hop3.conf)"
      port_changed=1
    fi
  fi
  if has_systemd; then
    systemctl enable --now ssh >/dev/null 2>&1 || systemctl enable --now sshd >/dev/null 2>&1 || warn "could not start sshd"
    if [ "$port" != "22" ]; then systemctl reload ssh 2>/dev/null || true; fi
    skip "sshd (systemd)"
    return 0
  fi
  if [ -f /run/sshd.pid ] && kill -0 "$(cat /run/sshd.pid)" 2>/dev/null; then
    if [ "$port_changed" -eq 0 ]; then
      skip "sshd running (pid $(cat /run/sshd.pid))"
      return 0
    fi
    # a new port takes effect only in a new listener (open sessions are other processes and stay)
    kill "$(cat /run/sshd.pid)"
    sleep 1
  fi
  mkdir -p /run/sshd
  [ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -A
  /usr/sbin/sshd -p "$port"
  info "started sshd on port $port"
}
