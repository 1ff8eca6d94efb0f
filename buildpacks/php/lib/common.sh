# shellcheck shell=bash
# Helpers shared by the Hop3 buildpacks. The source of truth is buildpacks/_lib/common.sh; each buildpack carries
# an identical copy in lib/common.sh (buildpacks/_lib/sync writes them) because a buildpack must work when it is
# copied or mounted on its own, away from its siblings.

# --- output -----------------------------------------------------------------------------------------------------
bp_header() { printf -- '-----> %s\n' "$*"; }
bp_info() { printf -- '       %s\n' "$*"; }
bp_warn() { printf -- ' !     Warning: %s\n' "$*" >&2; }
bp_fail() {
	local line
	printf -- ' !     %s\n' "$1" >&2
	shift
	for line in "$@"; do printf -- ' !     %s\n' "$line" >&2; done
	exit 1
}
bp_indent() { sed -u 's/^/       /'; }

bp_now_ms() { date +%s%3N; }
bp_elapsed() {
	local ms=$(($(bp_now_ms) - $1))
	printf '%d.%01ds' $((ms / 1000)) $(((ms % 1000) / 100))
}

# bp_step LABEL CMD... : runs CMD with indented output and reports its duration. Returns CMD's status.
bp_step() {
	local label=$1 start status
	shift
	bp_header "$label"
	start=$(bp_now_ms)
	set +e
	"$@" 2>&1 | bp_indent
	status=${PIPESTATUS[0]}
	set -e
	if [ "$status" -eq 0 ]; then
		bp_info "done in $(bp_elapsed "$start")"
	else
		bp_info "failed after $(bp_elapsed "$start") (exit status $status)"
	fi
	return "$status"
}

# --- CNB arguments --------------------------------------------------------------------------------------------
# Buildpack API 0.8+ passes directories in CNB_* variables; older lifecycles pass them as positional arguments.
bp_detect_init() {
	PLATFORM_DIR=${CNB_PLATFORM_DIR:-${1:-/platform}}
	BUILD_PLAN=${CNB_BUILD_PLAN_PATH:-${2:-/dev/null}}
	APP_DIR=$PWD
	BP_DIR=${CNB_BUILDPACK_DIR:-$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)}
	export PLATFORM_DIR BUILD_PLAN APP_DIR BP_DIR
}

bp_build_init() {
	LAYERS_DIR=${CNB_LAYERS_DIR:-${1:?layers directory missing}}
	PLATFORM_DIR=${CNB_PLATFORM_DIR:-${2:-/platform}}
	BP_PLAN=${CNB_BP_PLAN_PATH:-${3:-/dev/null}}
	APP_DIR=$PWD
	BP_DIR=${CNB_BUILDPACK_DIR:-$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)}
	export LAYERS_DIR PLATFORM_DIR BP_PLAN APP_DIR BP_DIR
	bp_export_platform_env
}

# The platform's user-provided variables (config:set, ENV file, PIP_INDEX_URL, NPM_CONFIG_*, proxies...) are
# files in <platform>/env. Variables that would break the build environment itself are not taken.
bp_export_platform_env() {
	local f name
	[ -d "$PLATFORM_DIR/env" ] || return 0
	for f in "$PLATFORM_DIR"/env/*; do
		[ -f "$f" ] || continue
		name=${f##*/}
		case $name in
		PATH | HOME | PWD | SHLVL | CNB_* | LD_LIBRARY_PATH | LD_PRELOAD | BASH_ENV | ENV) continue ;;
		esac
		[[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
		export "$name=$(cat "$f")"
	done
}

# --- app configuration -----------------------------------------------------------------------------------------
# hop3.toml and Procfile are looked up in hop3/ first, then at the repository root (UPSTREAM.md).
bp_find_config() {
	local name=$1 dir=${2:-$PWD}
	if [ -f "$dir/hop3/$name" ]; then
		printf '%s\n' "$dir/hop3/$name"
	elif [ -f "$dir/$name" ]; then
		printf '%s\n' "$dir/$name"
	else
		return 1
	fi
}

# Strips an inline comment: a '#' that starts a word and is outside quotes.
bp_strip_comment() {
	local s=$1 out='' q='' prev=' ' c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		if [ -n "$q" ]; then
			[ "$c" = "$q" ] && q=''
		elif [ "$c" = "'" ] || [ "$c" = '"' ]; then
			q=$c
		elif [ "$c" = '#' ] && [[ $prev == [[:space:]] ]]; then
			break
		fi
		out+=$c
		prev=$c
	done
	# trim trailing whitespace
	out="${out%"${out##*[![:space:]]}"}"
	printf '%s' "$out"
}

# bp_procfile_entries FILE: prints "name<TAB>command" for each entry, in file order, the last of duplicate names
# winning at its first position. Fails (exit 1) on merge-conflict markers; warns on lines it cannot read.
bp_procfile_entries() {
	local file=$1 line n=0 name cmd
	local -a order=()
	local -A cmds=()
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		line=${line%$'\r'}
		case $line in
		'<<<<<<<'* | '>>>>>>>'* | '=======' | '======= '* | '|||||||'*)
			bp_fail "$(bp_rel "$file") line $n has a merge-conflict marker: '$line'" \
				"Resolve the conflict, commit the Procfile and deploy again."
			;;
		esac
		[[ $line =~ ^[[:space:]]*$ ]] && continue
		[[ $line =~ ^[[:space:]]*# ]] && continue
		if [[ $line =~ ^[[:space:]]*([A-Za-z0-9_.-]+)[[:space:]]*:[[:space:]]*(.*)$ ]]; then
			name=${BASH_REMATCH[1]}
			cmd=$(bp_strip_comment "${BASH_REMATCH[2]}")
			if [ -z "$cmd" ]; then
				bp_warn "$(bp_rel "$file") line $n: '$name' has no command, ignored"
				continue
			fi
			if [ -n "${cmds[$name]+x}" ]; then
				bp_warn "$(bp_rel "$file") line $n: '$name' is defined twice, the last definition wins"
			else
				order+=("$name")
			fi
			cmds[$name]=$cmd
		else
			bp_warn "$(bp_rel "$file") line $n is not 'name: command', ignored: $line"
		fi
	done <"$file"
	for name in "${order[@]}"; do
		printf '%s\t%s\n' "$name" "${cmds[$name]}"
	done
}

# bp_procfile_get NAME : the command of one Procfile entry (hop3/Procfile or Procfile), empty when absent.
bp_procfile_get() {
	local file entries
	file=$(bp_find_config Procfile "${2:-$PWD}") || return 0
	entries=$(bp_procfile_entries "$file" 2>/dev/null) || return 0
	awk -F '\t' -v n="$1" '$1 == n { sub(/^[^\t]*\t/, ""); print; exit }' <<<"$entries"
}

bp_rel() { printf '%s' "${1#"$APP_DIR"/}"; }

# bp_hop3toml_get SECTION.KEY : prints a hop3.toml value (strings as is, lists one item a line, tables as
# "key<TAB>value" lines). Needs python3 (tomllib) from the build image; silent when absent.
bp_hop3toml_get() {
	local file
	file=$(bp_find_config hop3.toml "${2:-$PWD}") || return 0
	command -v python3 >/dev/null || return 0
	python3 - "$file" "$1" <<'PY'
import sys
try:
    import tomllib
except ImportError:
    sys.exit(0)
path, key = sys.argv[1], sys.argv[2]
try:
    with open(path, "rb") as f:
        data = tomllib.load(f)
except Exception as e:
    print(f"invalid hop3.toml: {e}", file=sys.stderr)
    sys.exit(3)
v = data
for part in key.split("."):
    if not isinstance(v, dict) or part not in v:
        sys.exit(0)
    v = v[part]
if isinstance(v, list):
    for item in v:
        print(item)
elif isinstance(v, dict):
    for k, item in v.items():
        if isinstance(item, (str, int, float)):
            print(f"{k}\t{item}")
elif isinstance(v, bool):
    print("true" if v else "false")
else:
    print(v)
PY
}

# --- build plan ------------------------------------------------------------------------------------------------
# The build plan for Paketo's build-plan convention (hop3/build-plan, plan.toml): a language buildpack provides its
# toolchain under the names other buildpacks use for it, and requires them itself, so its plan stays consistent
# whether or not anything else asks; a requirement with `launch = true` in the Buildpack Plan keeps the toolchain
# in the app image.

# bp_plan_provide NAME... : writes "provides + requires NAME" for each name to the detect build plan.
bp_plan_provide() {
	local name
	for name in "$@"; do
		printf '[[provides]]\nname = "%s"\n\n' "$name"
	done >>"$BUILD_PLAN"
	for name in "$@"; do
		printf '[[requires]]\nname = "%s"\n\n' "$name"
	done >>"$BUILD_PLAN"
}

# bp_plan_toml_requires NAME... : whether the app's plan.toml requires one of the names (any alternative).
bp_plan_toml_requires() {
	[ -f plan.toml ] && command -v python3 >/dev/null || return 1
	python3 - "$@" <<'PY' 2>/dev/null
import sys, tomllib
with open("plan.toml", "rb") as f:
    doc = tomllib.load(f)
alts = [doc] + [t for t in doc.get("or", []) if isinstance(t, dict)]
names = {r.get("name") for a in alts for r in a.get("requires", []) if isinstance(r, dict)}
sys.exit(0 if names & set(sys.argv[1:]) else 1)
PY
}

# bp_plan_wants KEY NAME... : whether an entry of the Buildpack Plan for one of the names has metadata KEY = true
# (launch, build).
bp_plan_wants() {
	[ -s "$BP_PLAN" ] && command -v python3 >/dev/null || return 1
	python3 - "$BP_PLAN" "$@" <<'PY' 2>/dev/null
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    plan = tomllib.load(f)
key, names = sys.argv[2], set(sys.argv[3:])
sys.exit(0 if any(e.get("name") in names and (e.get("metadata") or {}).get(key) is True
                  for e in plan.get("entries", [])) else 1)
PY
}

# --- layers ----------------------------------------------------------------------------------------------------
bp_sha256() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

# bp_layer_meta LAYER KEY : a string value from the [metadata] table a previous build left in <layer>.toml.
bp_layer_meta() {
	local toml="$LAYERS_DIR/$1.toml"
	[ -f "$toml" ] || return 0
	sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*\"\\(.*\\)\"[[:space:]]*$/\\1/p" "$toml" | head -n 1
}

# bp_layer_write LAYER "launch build cache" [KEY=VALUE...] : (re)writes <layer>.toml. The types are written on every
# build: the lifecycle does not restore them, and a layer without types is ignored.
bp_layer_write() {
	local layer=$1 types=$2 kv
	shift 2
	local launch=false build=false cache=false
	[[ " $types " == *" launch "* ]] && launch=true
	[[ " $types " == *" build "* ]] && build=true
	[[ " $types " == *" cache "* ]] && cache=true
	{
		printf '[types]\nlaunch = %s\nbuild = %s\ncache = %s\n' "$launch" "$build" "$cache"
		if [ $# -gt 0 ]; then
			printf '\n[metadata]\n'
			for kv in "$@"; do
				printf '%s = "%s"\n' "${kv%%=*}" "$(bp_toml_escape "${kv#*=}")"
			done
		fi
	} >"$LAYERS_DIR/$layer.toml"
}

bp_toml_escape() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\n'/\\n}
	printf '%s' "$s"
}

# bp_toml_array ITEM... : a TOML array of strings.
bp_toml_array() {
	local out='' item
	for item in "$@"; do
		out+="${out:+, }\"$(bp_toml_escape "$item")\""
	done
	printf '[%s]' "$out"
}

# bp_process TYPE DEFAULT(true|false) COMMAND... : appends a [[processes]] table to the buildpack's launch.toml.
bp_process() {
	local type=$1 default=$2
	shift 2
	{
		printf '[[processes]]\ntype = "%s"\ncommand = %s\nargs = []\ndefault = %s\n\n' \
			"$type" "$(bp_toml_array "$@")" "$default"
	} >>"$LAYERS_DIR/launch.toml"
}

# A process type name the CNB spec accepts: letters, digits, '.', '_' and '-'.
bp_process_type_ok() { [[ $1 =~ ^[A-Za-z0-9._-]+$ ]]; }
