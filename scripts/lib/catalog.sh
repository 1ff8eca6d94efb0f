# shellcheck shell=bash
# install.sh --catalog NAME: a catalog app installed right after Hop3 itself (docs/install.md). Sourced after
# common.sh and server.sh. The install is `hop catalog:install` (the server checks the signed recipe, creates the
# addons and secrets, builds, deploys and runs the recipe's validations); this file checks the request before any
# work, times the steps and waits for the app's first answer over HTTPS.

CATALOG=""
CATALOG_APP=""
CATALOG_DOMAIN=""
CATALOG_SETS=()

# $1: the option (--catalog, --app, --domain, --set), $2: its value.
set_catalog_option() {
  local opt="$1" value="$2"
  [ -n "$value" ] || die "$opt needs a value (see --help)"
  case "$opt" in
  --catalog) CATALOG="$value" ;;
  --app) CATALOG_APP="$value" ;;
  --domain) CATALOG_DOMAIN="$(printf '%s' "$value" | tr '[:upper:]' '[:lower:]')" ;;
  --set) CATALOG_SETS+=("$value") ;;
  esac
}

# The recipes install.sh can name: the checkout's catalog, and a refreshed one (hop catalog:refresh) if any.
catalog_recipe_dir() {
  local name="$1" dir
  for dir in "$REPO_DIR/catalog" "$HOP3_ROOT/catalog"; do
    if [ -f "$dir/$name/catalog.toml" ]; then
      printf '%s/%s' "$dir" "$name"
      return 0
    fi
  done
  return 1
}

catalog_names() {
  local f names=()
  for f in "$REPO_DIR"/catalog/*/catalog.toml; do
    [ -f "$f" ] && names+=("$(basename "$(dirname "$f")")")
  done
  printf '%s' "${names[*]}" | sed 's/ /, /g'
}

# Everything that can be judged from the command line, before install.sh changes anything: an unknown recipe,
# a bad app or domain name, a --set that is not KEY=VALUE or not a question of the recipe. The answers' patterns
# are checked by `hop catalog:install`, still before anything of the app is created.
check_catalog_request() {
  if [ -z "$CATALOG" ]; then
    if [ -n "$CATALOG_APP$CATALOG_DOMAIN" ] || [ "${#CATALOG_SETS[@]}" -gt 0 ]; then
      die "--app, --domain and --set go with --catalog NAME (see --help)"
    fi
    return 0
  fi
  local recipe kv key
  case "$CATALOG" in
  *[!a-z0-9-]* | -*) die "--catalog $CATALOG: not a recipe name (lowercase letters, digits and -)" ;;
  esac
  recipe="$(catalog_recipe_dir "$CATALOG")" ||
    die "--catalog $CATALOG: the catalog has no such app; it has: $(catalog_names) (docs/catalog.md)"
  if [ -n "$CATALOG_APP" ]; then
    case "$CATALOG_APP" in
    *[!a-z0-9-]* | -* | *-) die "--app $CATALOG_APP: an app name is lowercase letters, digits and - (not at the ends)" ;;
    esac
  fi
  if [ -n "$CATALOG_DOMAIN" ] &&
    ! printf '%s' "$CATALOG_DOMAIN" | grep -Eq '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$'; then
    die "--domain $CATALOG_DOMAIN: not a host name (e.g. blog.example.org)"
  fi
  for kv in "${CATALOG_SETS[@]}"; do
    key="${kv%%=*}"
    if [ "$key" = "$kv" ] || [ -z "$key" ]; then die "--set $kv: expected KEY=VALUE"; fi
    grep -Eq "^[[:space:]]*key[[:space:]]*=[[:space:]]*[\"']${key}[\"']" "$recipe/catalog.toml" ||
      die "--set $key: $CATALOG asks no such question (hop catalog:show $CATALOG, or $recipe/catalog.toml, lists them)"
  done
}

# Milliseconds since the epoch (bash 5's EPOCHREALTIME; its decimal point follows the locale).
now_ms() {
  local t="${EPOCHREALTIME//[.,]/}"
  printf '%s' "$((t / 1000))"
}

# Seconds from $1 to $2 (milliseconds), one decimal.
span() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

# The top-level rows of a `hop ... --timings` table saved in file $1 (not the sub-steps, not the total), as
# "STEP<tab>SECONDS" lines.
timing_rows() {
  awk '
    /^-----> Timings/ { t = 1; next }
    t && /^       [^ ]/ {
      n = split(substr($0, 8), f, /  +/)
      if (f[1] == "STEP") next
      if (f[1] == "total") exit
      sub(/s$/, "", f[n]); print f[1] "\t" f[n]
    }' "$1"
}

# The post-install notes `hop catalog:install` printed: what follows its timings table.
notes_of() {
  awk '/^-----> Timings/ { t = 1; next } t == 1 && /^       total / { t = 2; next } t == 2 && NF' "$1"
}

# Waits until URL answers 200 (or a redirect) through this host's router (127.0.0.1, its name given with --resolve: no DNS
# needed). Over HTTPS the certificate must verify against this host's trusted roots. Returns 0 when it answers;
# 1 with a warning printed when it does not in HOP3_HTTPS_TIMEOUT seconds, or answers with a certificate this host
# does not trust (waiting does not change that).
wait_for_app() {
  local url="$1" limit="${HOP3_HTTPS_TIMEOUT:-180}" rest hostport host port code rc err started=$SECONDS
  rest="${url#*://}"
  hostport="${rest%%/*}"
  host="${hostport%%:*}"
  port="${hostport#"$host"}"
  port="${port#:}"
  case "$url" in https://*) port="${port:-443}" ;; *) port="${port:-80}" ;; esac
  err="$(mktemp)"
  while :; do
    rc=0
    code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --resolve "$host:$port:127.0.0.1" "$url" 2>"$err")" || rc=$?
    # 2xx, or a redirect (Radicale's / sends to /.web/): the app answers, over HTTPS with a verified certificate
    if [ "$rc" -eq 0 ] && case "$code" in 2?? | 3??) true ;; *) false ;; esac then
      rm -f "$err"
      return 0
    fi
    if [ "$rc" -eq 60 ]; then
      # a certificate is served, from a CA this host does not trust (a private ACME CA such as Pebble)
      local issuer
      issuer="$(curl -skv -o /dev/null --max-time 10 --resolve "$host:$port:127.0.0.1" "$url" 2>&1 |
        sed -n 's/^\*  issuer: //p' | head -n 1)"
      warn "$url answers with a certificate this host does not trust (issuer: ${issuer:-unknown}). A private ACME CA: add its root to /usr/local/share/ca-certificates and run update-ca-certificates"
      rm -f "$err"
      return 1
    fi
    if [ $((SECONDS - started)) -ge "$limit" ]; then
      warn "$url did not answer 200 in ${limit}s (last: ${code:-no answer}; $(tr '\n' ' ' <"$err")). Over HTTPS the certificate needs the name's DNS to point at this host and port 80 to be reachable from the ACME CA (docs/routing.md)"
      rm -f "$err"
      return 1
    fi
    sleep 1
  done
}

# $1: when install.sh started, $2: when Hop3 itself was ready (both from now_ms).
install_catalog_app() {
  local started="$1" ready="$2" app="${CATALOG_APP:-$CATALOG}" out url kv args
  step "Installing $CATALOG from the catalog as $app"
  out="$(mktemp)"
  url="$(app_url "$app")"
  if [ -n "$url" ]; then
    skip "$app is installed ($url)"
  else
    args=(catalog:install "$CATALOG" --app "$app" --timings)
    if [ -n "$CATALOG_DOMAIN" ]; then args+=(--domain "$CATALOG_DOMAIN"); fi
    for kv in "${CATALOG_SETS[@]}"; do args+=(--set "$kv"); done
    # not a terminal (tee): the recipe's questions take their defaults unless --set answers them
    if ! (cd / && "$HOP3_BIN_DIR/hop" "${args[@]}" </dev/null 2>&1) | tee "$out"; then
      rm -f "$out"
      die "the catalog install of $CATALOG failed (see above); Hop3 itself is installed, and nothing of $app is left"
    fi
    url="$(sed -n 's/^=====> Installed .* as [^ ]*: \([^ ]*\)$/\1/p' "$out" | tail -n 1)"
    [ -n "$url" ] || url="$(app_url "$app")"
  fi
  local installed answered=0 answer_at rows first="first 200 over HTTP"
  installed="$(now_ms)"
  case "$url" in https://*) first="first 200 over HTTPS" ;; esac
  step "Waiting for the $first from $url"
  wait_for_app "$url" || answered=1
  answer_at="$(now_ms)"
  rows="$(timing_rows "$out")"
  printf '\n%s is at %s\n' "$app" "$url"
  notes_of "$out" | sed 's/^/    /'
  rm -f "$out"
  # one block that a person reads and a test parses: where the minutes went
  printf '\nTimings (s):\n'
  row() { printf '  %-28s %8s\n' "$1" "$2"; }
  row "Hop3 (host, build, server)" "$(span "$started" "$ready")"
  row "catalog install of $CATALOG" "$(span "$ready" "$installed")"
  # the server's steps of the install (hop catalog:install --timings), the two long ones named for what they are
  local name secs
  while IFS="$(printf '\t')" read -r name secs; do
    [ -n "$name" ] || continue
    case "$name" in
    build) name="image build" ;;
    addons) name="addons (database)" ;;
    esac
    row "  $name" "$secs"
  done <<<"$rows"
  if [ "$answered" -eq 0 ]; then row "$first" "$(span "$installed" "$answer_at")"; else row "$first" "none"; fi
  row "total" "$(span "$started" "$answer_at")"
}
