# shellcheck shell=bash
# The build plan for Paketo's build-plan convention (hop3/build-plan, plan.toml): this buildpack provides its
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
