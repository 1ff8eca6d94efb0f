# shellcheck shell=bash
# Installing and running the Hop3 server (root only). Sourced after common.sh.

HOP3_ENV_FILE="${HOP3_ENV_FILE:-/etc/hop3/hop3.env}"
# What hop3.env carries besides the server's own settings.
HOP3_ENV_EXTRA_KEYS=(NODE_EXTRA_CA_CERTS)
HOP3_API_TLS_DIR="${HOP3_API_TLS_DIR:-/etc/hop3/api-tls}"

# Current value of KEY: the environment wins, then the env file, then the default.
env_setting() {
  local key="$1" default="${2:-}" value
  if [ -n "${!key:-}" ]; then
    printf '%s' "${!key}"
    return 0
  fi
  if [ -f "$HOP3_ENV_FILE" ]; then
    value="$(sed -n "s/^${key}=//p" "$HOP3_ENV_FILE" | tail -n 1)"
    if [ -n "$value" ]; then
      printf '%s' "$value"
      return 0
    fi
  fi
  printf '%s' "$default"
}

# Every server setting, from the server's own schema (src/server/settings.ts, settingNames) in the installed
# runtime: install.sh saves exactly what the server reads, never a list of its own that drifts.
server_setting_names() {
  local settings="${1:-$HOP3_PREFIX/dist/server/settings.js}"
  node --input-type=module -e \
    "const m = await import(process.argv[1]); console.log(m.settingNames.filter((n) => n !== 'HOP3_ROOT').join(' '))" \
    "$settings"
}

server_env_content() {
  local uid key value names
  uid="$(hop3_uid)"
  names="$(server_setting_names "$HOP3_PREFIX/dist/server/settings.js")" || die "cannot read the server's settings from $HOP3_PREFIX/dist/server/settings.js"
  printf '# Hop3 server settings, read by hop3-server.service and by install.sh. Edit, then restart the server.\n'
  printf 'HOP3_ROOT=%s\n' "$HOP3_ROOT"
  printf 'HOME=%s\n' "$HOP3_HOME"
  printf 'XDG_RUNTIME_DIR=/run/user/%s\n' "$uid"
  # shellcheck disable=SC2206 # one word per name
  local keys=($names "${HOP3_ENV_EXTRA_KEYS[@]}")
  for key in "${keys[@]}"; do
    case "$key" in
    HOP3_BASE_DOMAIN) value="$(env_setting "$key" hop3.localhost)" ;;
    HOP3_HTTP_PORT) value="$(env_setting "$key" 80)" ;;
    HOP3_HTTPS_PORT) value="$(env_setting "$key" 443)" ;;
    *) value="$(env_setting "$key")" ;;
    esac
    if [ -n "$value" ]; then printf '%s=%s\n' "$key" "$value"; fi
  done
}

# HOP3_LISTEN off loopback needs TLS (the server refuses to send tokens in clear): without a certificate of the
# operator's, make a self-signed one for this host's names, once, and point the settings at it.
ensure_api_tls() {
  local listen host
  listen="$(env_setting HOP3_LISTEN)"
  [ -n "$listen" ] || return 0
  [ -z "$(env_setting HOP3_API_TLS_CERT)" ] || return 0
  host="${listen%:*}"
  host="${host#[}"
  host="${host%]}"
  case "$host" in 127.* | ::1) return 0 ;; esac
  step "Making a self-signed certificate for the API on $listen"
  local cert="$HOP3_API_TLS_DIR/cert.pem" key="$HOP3_API_TLS_DIR/key.pem" san
  san="DNS:$(hostname -f 2>/dev/null || hostname),DNS:localhost,IP:127.0.0.1"
  case "$host" in 0.0.0.0 | ::) ;; *[!0-9.]*) san="$san,DNS:$host" ;; *) san="$san,IP:$host" ;; esac
  if [ ! -f "$cert" ] || [ ! -f "$key" ]; then
    install -d -m 0750 -o root -g "$HOP3_USER" "$HOP3_API_TLS_DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=$(hostname -f 2>/dev/null || hostname)" -addext "subjectAltName=$san" \
      -keyout "$key" -out "$cert" 2>/dev/null || die "openssl could not make the API certificate"
    chown root:"$HOP3_USER" "$key" "$cert"
    chmod 0640 "$key"
    chmod 0644 "$cert"
    info "wrote $cert ($san); clients trust it with HOP3_CA_CERT=$cert (copy it to them)"
  else
    skip "$cert"
  fi
  export HOP3_API_TLS_CERT="$cert" HOP3_API_TLS_KEY="$key"
}

# Returns 0 when the env file changed.
write_server_env() {
  step "Writing server settings ($HOP3_ENV_FILE)"
  if server_env_content | write_if_changed "$HOP3_ENV_FILE" 0644; then
    sed 's/^/    /' "$HOP3_ENV_FILE" | grep -v '^    #'
    return 0
  fi
  skip "$HOP3_ENV_FILE unchanged"
  return 1
}

create_data_dirs() {
  step "Creating the data directory $HOP3_ROOT"
  local dir made=0
  for dir in "$HOP3_ROOT" "$HOP3_ROOT/run" "$HOP3_ROOT/log"; do
    if [ ! -d "$dir" ]; then made=1; fi
    install -d -m 0750 -o "$HOP3_USER" -g "$HOP3_USER" "$dir"
  done
  if [ "$made" -eq 0 ]; then skip "$HOP3_ROOT"; fi
}

build_checkout() {
  local src="$1"
  step "Building Hop3 in $src"
  if [ -d "$src/node_modules" ] && [ -f "$src/node_modules/.package-lock.json" ] &&
    ! [ "$src/package-lock.json" -nt "$src/node_modules/.package-lock.json" ]; then
    skip "npm ci (node_modules matches package-lock.json)"
  else
    (cd "$src" && npm ci --no-audit --no-fund)
  fi
  local stamp="$src/dist/.hop3-build-stamp"
  if [ -f "$stamp" ] && [ -z "$(find "$src/src" "$src/package-lock.json" "$src/tsconfig.json" -newer "$stamp" -print -quit)" ]; then
    skip "npm run build (dist/ is newer than src/)"
  else
    (cd "$src" && npm run --silent build) || die "the TypeScript build failed (npm run build in $src)"
    touch "$stamp"
    info "built $src/dist"
  fi
  [ -f "$src/dist/server/main.js" ] || die "$src/dist/server/main.js is missing after the build"
  [ -f "$src/dist/cli/main.js" ] || die "$src/dist/cli/main.js is missing after the build"
}

# What /opt/hop3 is made of, relative to the checkout.
runtime_paths() {
  local src="$1" p
  for p in dist package.json package-lock.json buildpacks catalog images samples docs README.md LICENSE; do
    if [ -e "$src/$p" ]; then printf '%s\n' "$p"; fi
  done
}

runtime_hash() {
  local src="$1"
  # shellcheck disable=SC2046
  (cd "$src" && runtime_paths "$src" | tar -c --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --exclude='.hop3-build-stamp' -T - -f - | sha256sum | cut -d' ' -f1)
}

# Copies the runtime into $HOP3_PREFIX. Returns 0 when the installed code changed.
install_runtime() {
  local src="$1" hash new old
  step "Installing the runtime into $HOP3_PREFIX"
  hash="$(runtime_hash "$src")"
  if [ -f "$HOP3_PREFIX/.install-hash" ] && [ "$(cat "$HOP3_PREFIX/.install-hash")" = "$hash" ]; then
    skip "$HOP3_PREFIX is up to date (${hash:0:12})"
    return 1
  fi
  new="$HOP3_PREFIX.new"
  old="$HOP3_PREFIX.old"
  rm -rf "$new" "$old"
  install -d -m 0755 "$new"
  (cd "$src" && runtime_paths "$src" | tar -c --exclude='.hop3-build-stamp' -T - -f -) | tar -C "$new" -x --no-same-owner
  # Production dependencies only. Copy the checkout's (already built native modules, no network needed) and prune:
  # `npm ci --omit=dev` would download or recompile better-sqlite3.
  cp -a "$src/node_modules" "$new/node_modules"
  (cd "$new" && npm prune --omit=dev --no-audit --no-fund --offline >/dev/null) || die "npm prune failed in $new"
  printf '%s\n' "$hash" >"$new/.install-hash"
  chown -R root:root "$new"
  chmod -R u=rwX,go=rX "$new"
  if [ -d "$HOP3_PREFIX" ]; then mv "$HOP3_PREFIX" "$old"; fi
  mv "$new" "$HOP3_PREFIX"
  rm -rf "$old"
  info "installed ${hash:0:12}"
  return 0
}

install_wrappers() {
  step "Installing the hop and hop3-server commands"
  local node changed=0
  node="$(readlink -f "$(command -v node)")"
  if printf '#!/bin/sh\nexec %s %s/dist/cli/main.js "$@"\n' "$node" "$HOP3_PREFIX" |
    write_if_changed "$HOP3_BIN_DIR/hop" 0755; then
    info "$HOP3_BIN_DIR/hop"
    changed=1
  fi
  # A small young generation keeps the idle server's resident memory low (docs/benchmarks.md).
  if printf '#!/bin/sh\nexec %s --max-semi-space-size=1 %s/dist/server/main.js "$@"\n' "$node" "$HOP3_PREFIX" |
    write_if_changed "$HOP3_BIN_DIR/hop3-server" 0755; then
    info "$HOP3_BIN_DIR/hop3-server"
    changed=1
  fi
  if [ "$changed" -eq 0 ]; then skip "wrappers"; fi
}

server_pid_file() { printf '%s/run/server.pid' "$HOP3_ROOT"; }
server_log_file() { printf '%s/log/server.log' "$HOP3_ROOT"; }

server_pid() {
  local pid_file
  pid_file="$(server_pid_file)"
  [ -f "$pid_file" ] || return 1
  local pid
  pid="$(cat "$pid_file")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s' "$pid"
}

server_answers() {
  timeout "${1:-10}" "$HOP3_BIN_DIR/hop" apps >/dev/null 2>&1
}

# How much the server has logged so far: its progress while it starts.
server_log_size() {
  if has_systemd; then
    journalctl -u hop3-server -o cat --no-pager 2>/dev/null | wc -c
  else
    stat -c %s "$(server_log_file)" 2>/dev/null || echo 0
  fi
}

wait_for_server() {
  # The limit is for a server that makes no progress: the first start on a new machine builds the router's image,
  # which takes minutes on a slow or busy host, and its log grows all along. Hard cap: ten times the limit.
  local limit="${HOP3_START_TIMEOUT:-120}" waited=0 stalled=0 size last_size=-1 started=$SECONDS
  info "waiting for the server to answer (up to ${limit}s without progress in its log)"
  while [ "$stalled" -lt "$limit" ] && [ $((SECONDS - started)) -lt $((limit * 10)) ]; do
    if server_answers 10; then
      info "server is up ($((SECONDS - started))s)"
      return 0
    fi
    if ! has_systemd && ! server_pid >/dev/null; then
      break
    fi
    sleep 2
    size="$(server_log_size)"
    if [ "$size" != "$last_size" ]; then
      stalled=0
      last_size="$size"
    else
      stalled=$((stalled + 2))
    fi
    waited=$((SECONDS - started))
  done
  if ! has_systemd && ! server_pid >/dev/null; then
    printf 'ERROR: the Hop3 server exited during start-up. Last lines of its log:\n' >&2
  else
    # shellcheck disable=SC2016 # backquotes are literal
    printf 'ERROR: the Hop3 server did not answer `hop apps` (%ss, the last %ss without progress). Last lines of its log:\n' "$waited" "$stalled" >&2
  fi
  if has_systemd; then
    journalctl -u hop3-server --no-pager -n 40 >&2 || true
  else
    tail -n 40 "$(server_log_file)" >&2 || true
  fi
  exit 1
}

stop_server_process() {
  local pid
  pid="$(server_pid)" || return 0
  info "stopping the server (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "server pid $pid did not stop in 30s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(server_pid_file)"
}

start_server_process() {
  ensure_runtime_dir
  local log pid_file
  log="$(server_log_file)"
  pid_file="$(server_pid_file)"
  # Same settings as the systemd unit: the env file, loaded by the shell that becomes the server.
  # setsid detaches it from this terminal; the pid is the server's own (sh execs nohup execs node).
  # shellcheck disable=SC2016 # expanded by the inner shell
  # 9>&-: the server must not inherit install.sh's lock, or the next install.sh would wait forever.
  as_hop3 sh -c 'set -a; . "$0"; set +a; setsid nohup "$1" >>"$2" 2>&1 </dev/null & echo $! >"$3"' \
    "$HOP3_ENV_FILE" "$HOP3_BIN_DIR/hop3-server" "$log" "$pid_file" 9>&-
  info "started the server (pid $(cat "$pid_file")), log: $log"
}

install_systemd_unit() {
  local src="$1" changed=1 uid
  uid="$(hop3_uid)"
  if ! write_if_changed /etc/systemd/system/hop3-server.service 0644 <"$src/systemd/hop3-server.service"; then
    changed=0
  fi
  if printf '[Unit]\nWants=user@%s.service\nAfter=user@%s.service\n\n[Service]\nEnvironment=XDG_RUNTIME_DIR=/run/user/%s\nEnvironment=DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/%s/bus\nBindPaths=-/run/user/%s\n' \
    "$uid" "$uid" "$uid" "$uid" "$uid" | write_if_changed /etc/systemd/system/hop3-server.service.d/10-install.conf 0644; then
    changed=1
  fi
  if [ "$changed" -eq 1 ]; then
    systemctl daemon-reload
    return 0
  fi
  return 1
}

# $1: checkout, $2: 1 when code or settings changed since the running server started.
start_server() {
  local src="$1" changed="$2"
  step "Starting the Hop3 server"
  if has_systemd; then
    if install_systemd_unit "$src"; then changed=1; fi
    systemctl enable hop3-server >/dev/null 2>&1
    if systemctl is-active --quiet hop3-server; then
      if [ "$changed" -eq 1 ]; then
        info "code or settings changed: restarting hop3-server"
        systemctl restart hop3-server
      else
        skip "hop3-server is running"
      fi
    else
      systemctl start hop3-server
    fi
  else
    if server_pid >/dev/null; then
      if [ "$changed" -eq 0 ] && server_answers 10; then
        skip "server running (pid $(server_pid)) and unchanged"
        return 0
      fi
      stop_server_process
    fi
    start_server_process
  fi
  wait_for_server
}

# With TCP enabled, give root's CLI the admin token (the socket needs none).
configure_root_cli() {
  local listen token_file="$HOP3_ROOT/admin-token" config="/root/.config/hop3/config.json"
  listen="$(env_setting HOP3_LISTEN)"
  [ -n "$listen" ] || return 0
  step "Configuring root's hop CLI for $listen"
  [ -f "$token_file" ] || {
    warn "$token_file not found: root's CLI keeps using the Unix socket"
    return 0
  }
  local cert ca=""
  cert="$(env_setting HOP3_API_TLS_CERT)"
  case "$listen" in
  http://* | https://*) ;;
  *) if [ -n "$cert" ]; then listen="https://$listen"; else listen="http://$listen"; fi ;;
  esac
  # a wildcard address is not one to connect to: the CLI on this host uses loopback
  listen="$(printf '%s' "$listen" | sed -e 's#//0\.0\.0\.0:#//127.0.0.1:#' -e 's#//\[::\]:#//[::1]:#')"
  if [ -n "$cert" ]; then ca="$(printf ', "ca": "%s"' "$cert")"; fi
  if printf '{ "url": "%s", "token": "%s"%s }\n' "$listen" "$(cat "$token_file")" "$ca" | write_if_changed "$config" 0600; then
    info "wrote $config"
  else
    skip "$config"
  fi
}

# The path every deploy takes, proven before install.sh reports success: a rootless container on a network of
# its own answering through its published port, and the router answering (hop doctor; POST /api/v1/system/check).
# When it fails, the server names the missing piece (e.g. "netavark 1.4.0 needs iptables").
check_deploy_path() {
  step "Checking the deploy path (a container on its own network, its port, the router)"
  local out
  if out="$(cd / && "$HOP3_BIN_DIR/hop" doctor 2>&1)"; then
    printf '%s\n' "$out" | sed -n 's/^check: \(.*\)/    \1/p'
    return 0
  fi
  printf '%s\n' "$out" >&2
  die "a deploy cannot work on this host (see above); fix it and run install.sh again"
}

# The URL the server gives an app (deploy/urls.ts appUrl: https on the HTTPS port for names that get a
# certificate, http otherwise): one rule, never recomputed here.
app_url() {
  (cd / && "$HOP3_BIN_DIR/hop" apps --json) |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const a = JSON.parse(s).apps.find((x) => x.name === process.argv[1]);
      if (a && a.url) console.log(a.url);
    });' "$1"
}

deploy_sample() {
  local sample="$HOP3_PREFIX/samples/hello" url
  step "Deploying the sample app (hello)"
  if [ ! -d "$sample" ]; then
    warn "$sample not found: skipping the sample deploy"
    return 0
  fi
  local host port
  host="hello.$(env_setting HOP3_BASE_DOMAIN hop3.localhost)"
  port="$(env_setting HOP3_HTTP_PORT 80)"
  # the router answers for it on its HTTP port (a redirect to HTTPS counts: the name is routed)
  if "$HOP3_BIN_DIR/hop" apps 2>/dev/null | grep -qw hello &&
    curl -fsS -o /dev/null --max-time 5 -H "Host: $host" "http://127.0.0.1:$port/"; then
    skip "hello is deployed and answers"
  else
    (cd / && "$HOP3_BIN_DIR/hop" deploy "$sample" --app hello) || die "the sample deploy failed (see above)"
  fi
  url="$(app_url hello)"
  printf "\nThe sample app is at %s\n" "$url"
}
